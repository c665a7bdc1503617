"""At-most-once handling of platform events that may be delivered more than once.

Slack retries an event when it did not see a 2xx within 3 s (and Bolt does not dedupe),
so the same `event_id` can arrive two or three times, minutes apart, possibly after a
restart. The first delivery claims the id in the store; later ones are dropped. Claims
older than `keep_seconds` are pruned (Slack's last retry comes after about 5 minutes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_events (
    key TEXT PRIMARY KEY,
    seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events (seen);
"""

PRUNE_EVERY = 500  # claims between two prunes


class Dedupe:
    def __init__(self, store: Store, *, keep_seconds: float = 24 * 3600, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._keep = keep_seconds
        self._clock = clock
        self._claims = 0

    async def start(self) -> None:
        await self._store.ensure_schema(SCHEMA)

    async def first_time(self, key: str) -> bool:
        """Claim `key`. True for the first delivery, False for every repeat."""
        now = self._clock()
        async with self._store.transaction() as db:
            cursor = await db.execute("INSERT OR IGNORE INTO seen_events (key, seen) VALUES (?, ?)", (key, now))
            claimed = cursor.rowcount == 1
            self._claims += 1
            if self._claims % PRUNE_EVERY == 0:
                await db.execute("DELETE FROM seen_events WHERE seen < ?", (now - self._keep,))
        return claimed

    async def prune(self) -> int:
        async with self._store.transaction() as db:
            cursor = await db.execute("DELETE FROM seen_events WHERE seen < ?", (self._clock() - self._keep,))
            return cursor.rowcount
