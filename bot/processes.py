"""Which bot processes share this database: each one writes a heartbeat row.

Used to say at start (and when a second process appears) that, without Redis, rate
budgets are counted per process, and by `python -m bot check` to show how many are up.
With SQLite there is only ever this process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .store import Store

log = logging.getLogger(__name__)

FORGET_AFTER_S = 24 * 3600  # a process silent this long is gone (its row goes at the next beat)
PER_PROCESS_BUDGETS = (
    "%d other bot process(es) share this database but REDIS_URL is not set: rate budgets "
    "(KIE, Slack, Discord) are counted per process, so together they may overspend them. "
    "Set REDIS_URL to share them."
)


class Processes:
    def __init__(self, store: Store, name: str, *, shares_budgets: bool, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.name = name
        self._shares_budgets = shares_budgets
        self._clock = clock
        self._warned = False

    async def beat(self, alive_for: float) -> int:
        """Say this process is alive; returns how many others were seen within `alive_for` s."""
        now = self._clock()
        async with self._store.transaction() as tx:
            await tx.execute(
                "INSERT INTO bot_processes (name, started, seen) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET seen = excluded.seen",
                self.name, now, now,
            )
            await tx.execute("DELETE FROM bot_processes WHERE seen < ?", now - FORGET_AFTER_S)
        others = int(await self._store.fetchval(
            "SELECT COUNT(*) FROM bot_processes WHERE name <> ? AND seen > ?", self.name, now - alive_for
        ))
        if others and not self._shares_budgets and not self._warned:
            self._warned = True
            log.warning(PER_PROCESS_BUDGETS, others)
        return others

    async def leave(self) -> None:
        await self._store.execute("DELETE FROM bot_processes WHERE name = ?", self.name)


async def alive(store: Store, within: float, *, clock: Callable[[], float] = time.time) -> int:
    """How many processes wrote a heartbeat within the last `within` seconds."""
    return int(await store.fetchval("SELECT COUNT(*) FROM bot_processes WHERE seen > ?", clock() - within))
