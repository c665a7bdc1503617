"""One limiter shared by every status query in the process (polls and callback checks).

KIE allows at most 10 status queries per second per API key. Queries are spaced evenly,
`period / limit` apart, first come first served. Even spacing (rather than a burst then
a pause) keeps KIE's own one-second windows under the limit even when network delays
bunch requests up on arrival; a lone query still goes at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, limit: int, period: float = 1.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self._interval = period / limit
        self._clock = clock
        self._next = float("-inf")
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._clock()
            self._next = now + self._interval
