"""At-most-once handling of platform events that may be delivered more than once.

Slack retries an event when it did not see a 2xx within 3 s (and Bolt does not dedupe),
so the same `event_id` can arrive two or three times, minutes apart, possibly after a
restart, and with several processes a retry may reach another process than the first
delivery. The first delivery claims the id in the shared store (`INSERT … ON CONFLICT DO
NOTHING` on the key: exactly one process inserts the row); later ones are dropped. Claims
older than `keep_seconds` are pruned (Slack's last retry comes after about 5 minutes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .store import Store

PRUNE_EVERY = 500  # claims between two prunes


class Dedupe:
    def __init__(self, store: Store, *, keep_seconds: float = 24 * 3600, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._keep = keep_seconds
        self._clock = clock
        self._claims = 0

    async def start(self) -> None:
        """Nothing to prepare: the table comes with the store's migrations."""

    async def first_time(self, key: str) -> bool:
        """Claim `key`. True for the first delivery, False for every repeat."""
        now = self._clock()
        async with self._store.transaction() as tx:
            claimed = await tx.execute(
                "INSERT INTO seen_events (key, seen) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, now
            ) == 1
            self._claims += 1
            if self._claims % PRUNE_EVERY == 0:
                await tx.execute("DELETE FROM seen_events WHERE seen < ?", now - self._keep)
        return claimed

    async def prune(self) -> int:
        return await self._store.execute("DELETE FROM seen_events WHERE seen < ?", self._clock() - self._keep)
