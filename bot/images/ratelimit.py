"""One limiter shared by every status query in the process (polls and callback checks).

KIE allows at most 10 status queries per second per API key. Queries are spaced evenly
at `1 / rate` seconds, first come first served, so no one-second window ever holds more
than `rate` of them, however many tasks are waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._clock()
            self._next = max(now, self._next) + self._interval
