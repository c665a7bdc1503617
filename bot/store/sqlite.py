"""The embedded engine: one SQLite file (aiosqlite), one process, writes serialised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from . import Row, Store


class _SqliteTx:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetchone(self, sql: str, *args: object) -> Row | None:
        async with self._db.execute(sql, args) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, *args: object) -> list[Row]:
        async with self._db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def execute(self, sql: str, *args: object) -> int:
        async with self._db.execute(sql, args) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._db.executemany(sql, rows)


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
        async with self._write_lock:
            try:
                yield self._reads
            except BaseException:
                await self.db.rollback()
                raise
            else:
                await self.db.commit()

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[_SqliteTx]:
        # BEGIN IMMEDIATE takes the file's write lock at once (DDL would not open a
        # transaction by itself), so a migration and its version row commit together.
        async with self._write_lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self._reads
            except BaseException:
                await self.db.rollback()
                raise
            else:
                await self.db.commit()

    async def ping(self) -> None:
        await self.fetchone("SELECT 1")

    async def close(self) -> None:
        await self.db.close()

    def describe(self) -> str:
        return f"SQLite at {self.path}"
