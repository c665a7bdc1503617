"""The embedded SQLite store (aiosqlite). Each feature owns its tables and declares them
with `ensure_schema`; the store only opens the file, applies pragmas and serialises writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> Store:
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
        return cls(db)

    async def ensure_schema(self, sql: str) -> None:
        async with self.transaction() as db:
            await db.executescript(sql)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One writer at a time; commit on success, roll back on error."""
        async with self._write_lock:
            try:
                yield self.db
            except BaseException:
                await self.db.rollback()
                raise
            else:
                await self.db.commit()

    async def close(self) -> None:
        await self.db.close()
