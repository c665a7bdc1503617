"""The store: one small query interface over two engines.

- **SQLite** (aiosqlite), the embedded default: `BOT_DB_PATH`, one process.
- **PostgreSQL** (asyncpg) when `DATABASE_URL=postgresql://…` is set: any number of
  processes share it, and claims between them are made by transactions.

Feature modules own their queries and write them once, with `?` placeholders, in the SQL
both engines understand (`INSERT … ON CONFLICT`, `UPDATE … RETURNING`); the Postgres
engine numbers the placeholders. The only spelling that differs, the row lock a poller
takes, is `store.skip_locked`. The schema is one ordered list of migrations
(`migrations.py`), applied when the store opens.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 30.0

Row = Any  # aiosqlite.Row or asyncpg.Record: both index by column name and by position


class Tx(Protocol):
    """The queries one transaction can run (all on the same connection)."""

    async def fetchone(self, sql: str, *args: object) -> Row | None: ...
    async def fetchall(self, sql: str, *args: object) -> list[Row]: ...
    async def execute(self, sql: str, *args: object) -> int: ...  # rows affected
    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    async def lock(self, name: str) -> None: ...  # until the transaction ends, in every process


class Store(ABC):
    engine: str  # "sqlite" or "postgres"
    # Whether other processes may use the same database (then nothing may be assumed
    # about rows another process holds, e.g. an unfinished task's lease).
    shared: bool
    # Appended to a poller's SELECT so each process takes different rows without waiting.
    skip_locked: str = ""

    @classmethod
    async def open(cls, location: str, *, migrate: bool = True) -> Store:
        """Open `location` (a `postgresql://` URL, else a SQLite path) and migrate it."""
        from .migrations import migrate as apply_migrations

        if is_postgres_url(location):
            from .postgres import PostgresStore

            store: Store = await PostgresStore.connect(location)
        else:
            from .sqlite import SqliteStore

            store = await SqliteStore.connect(location)
        if not migrate:
            return store
        try:
            await apply_migrations(store)
        except BaseException:
            await store.close()
            raise
        return store

    @abstractmethod
    async def fetchone(self, sql: str, *args: object) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, *args: object) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: object) -> Any:
        row = await self.fetchone(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: object) -> int:
        """One statement in its own transaction; returns the rows it affected."""
        async with self.transaction() as tx:
            return await tx.execute(sql, *args)

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Commit on success, roll back on error."""

    @abstractmethod
    def migration_lock(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction that no other process migrating the same database runs at once."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise unless the database answers a query (readiness checks)."""

    async def checkpoint(self) -> None:
        """Housekeeping of the engine's own files, if it has any (SQLite's write-ahead log)."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where the data lives, for logs and `check` (never a password)."""


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


_PASSWORD = re.compile(r"(?P<head>[a-z+]+://[^:/@]*:)[^@]*@")


def redact_url(url: str) -> str:
    """`postgresql://u:secret@host/db` -> `postgresql://u:***@host/db` (also for redis:// URLs)."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***@", url)


class Checkpoints:
    """Checkpoint the store every `every` seconds, in the background (an extension)."""

    def __init__(self, store: Store, runner, *, every: float = CHECKPOINT_EVERY_S) -> None:
        self._store = store
        self._runner = runner
        self._every = every
        self._loop: asyncio.Task | None = None

    async def start(self) -> None:
        if self._store.engine == "sqlite":  # PostgreSQL checkpoints itself
            self._loop = self._runner.spawn(self._run(), name="store-checkpoints", daemon=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._store.checkpoint()
            except Exception:  # housekeeping must never end the bot
                log.exception("checkpointing the database failed")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            try:
                await self._loop
            except asyncio.CancelledError:
                pass
            self._loop = None
