"""The embedded SQLite store (aiosqlite). Each feature owns its tables and declares them
with `ensure_schema`; the store only opens the file, applies pragmas and serialises writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 30.0


class Store:
    def __init__(self, db: aiosqlite.Connection, path: str = ":memory:") -> None:
        self.db = db
        self.path = path
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
            # SQLite would copy the WAL back into the file inside whichever commit crosses
            # 1000 pages: a few milliseconds added to one request in a hundred (a budget
            # check, a chat turn). `Checkpoints` does it on a timer instead.
            await db.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            await db.close()  # its worker thread would otherwise keep the process alive
            raise
        return cls(db, path)

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


class Checkpoints:
    """Checkpoint the store every `every` seconds, in the background (an extension)."""

    def __init__(self, store: Store, runner, *, every: float = CHECKPOINT_EVERY_S) -> None:
        self._store = store
        self._runner = runner
        self._every = every
        self._loop: asyncio.Task | None = None

    async def start(self) -> None:
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
            with suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
