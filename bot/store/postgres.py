"""The shared engine: PostgreSQL through an asyncpg pool, for any number of processes.

Queries arrive written with `?` placeholders (the SQLite spelling) and are renumbered to
`$1, $2, …` once per distinct statement. Every statement in a `transaction()` runs on one
pooled connection; a read outside one takes any free connection.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

import asyncpg

from . import Row, Store, redact_url

POOL_SIZE = 10
# Any constant works: it only has to be the same in every process migrating this database.
MIGRATION_LOCK_KEY = 0x6B69_6562  # "kieb"
_PLACEHOLDER = re.compile(r"'[^']*'|\?")


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`? … ?` -> `$1 … $2`, leaving question marks inside string literals alone."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match[0] != "?":
            return match[0]
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _affected(status: str) -> int:
    """asyncpg answers `UPDATE 3`, `INSERT 0 1`, `DELETE 0`: the last number is the count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PostgresTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, *args: object) -> Row | None:
        return await self._conn.fetchrow(numbered(sql), *args)

    async def fetchall(self, sql: str, *args: object) -> list[Row]:
        return list(await self._conn.fetch(numbered(sql), *args))

    async def execute(self, sql: str, *args: object) -> int:
        if not args:  # several statements at once (a migration) need the simple protocol
            return _affected(await self._conn.execute(sql))
        return _affected(await self._conn.execute(numbered(sql), *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._conn.executemany(numbered(sql), list(rows))

    async def lock(self, name: str) -> None:
        # Held until the transaction ends, across every process using this database.
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)


class PostgresStore(Store):
    engine = "postgres"
    shared = True
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self._url = url

    @classmethod
    async def connect(cls, url: str) -> PostgresStore:
        # Unknown query parameters in the URL become server settings (e.g. ?search_path=…).
        pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE, command_timeout=30)
        return cls(pool, url)

    async def fetchone(self, sql: str, *args: object) -> Row | None:
        return await self.pool.fetchrow(numbered(sql), *args)

    async def fetchall(self, sql: str, *args: object) -> list[Row]:
        return list(await self.pool.fetch(numbered(sql), *args))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PostgresTx(conn)

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[_PostgresTx]:
        # Several processes start at once: the first migrates, the others wait here and
        # then find nothing left to do.
        async with self.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(?)", MIGRATION_LOCK_KEY)
            yield tx

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def close(self) -> None:
        await self.pool.close()

    def describe(self) -> str:
        return f"PostgreSQL at {redact_url(self._url)}"
