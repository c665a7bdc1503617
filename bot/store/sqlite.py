"""The embedded engine: one SQLite file (aiosqlite), one process, writes serialised."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from . import Row, Store


def _one(conn: sqlite3.Connection, sql: str, args: tuple) -> Row | None:
    return conn.execute(sql, args).fetchone()


def _count(conn: sqlite3.Connection, sql: str, args: tuple) -> int:
    return conn.execute(sql, args).rowcount


class _SqliteTx:
    """Each query is one trip to aiosqlite's thread (its cursor API takes two or three:
    open, run, fetch): those trips are most of what a small query costs."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetchone(self, sql: str, *args: object) -> Row | None:
        return await self._db._execute(_one, self._db._conn, sql, args)

    async def fetchall(self, sql: str, *args: object) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, args))

    async def execute(self, sql: str, *args: object) -> int:
        return await self._db._execute(_count, self._db._conn, sql, args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._db.executemany(sql, rows)

    async def lock(self, name: str) -> None:
        """Nothing to do: one writer at a time already (see `SqliteStore.transaction`)."""


class SqliteStore(Store):
    engine = "sqlite"
    shared = False  # one process owns the file

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self.db = db
        self.path = path
        self._reads = _SqliteTx(db)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: str) -> SqliteStore:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        try:
            # WAL keeps readers off the writer's back; NORMAL is durable across a process
            # crash (only a power cut can lose the last transaction).
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            # SQLite would copy the WAL back into the file inside whichever commit crosses
            # 1000 pages: a few milliseconds added to one request in a hundred (a budget
            # check, a chat turn). `Checkpoints` does it on a timer instead.
            await db.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            await db.close()  # its worker thread would otherwise keep the process alive
            raise
        return cls(db, path)

    async def fetchone(self, sql: str, *args: object) -> Row | None:
        return await self._reads.fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: object) -> list[Row]:
        return await self._reads.fetchall(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTx]:
        """One writer at a time; commit on success, roll back on error."""
        async with self._write_lock, self._committed():
            yield self._reads

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[_SqliteTx]:
        # BEGIN IMMEDIATE takes the file's write lock at once (DDL would not open a
        # transaction by itself), so a migration and its version row commit together.
        async with self._write_lock:
            await self.db.execute("BEGIN IMMEDIATE")
            async with self._committed():
                yield self._reads

    @asynccontextmanager
    async def _committed(self) -> AsyncIterator[None]:
        """Commit what the block wrote, or roll it back if the block failed."""
        try:
            yield
        except BaseException:
            await self.db.rollback()
            raise
        else:
            await self.db.commit()

    async def ping(self) -> None:
        await self.fetchone("SELECT 1")

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file, on a connection of its own:
        a PASSIVE checkpoint there runs beside the bot's reads and writes, not in their
        queue (it copies what no reader still needs, and the next one does the rest)."""
        if self.path == ":memory:":
            return
        db = await aiosqlite.connect(self.path)
        try:
            await db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            await db.close()

    async def close(self) -> None:
        await self.db.close()  # the last connection to close checkpoints the WAL itself

    def describe(self) -> str:
        return f"SQLite at {self.path}"
