"""Edit pacing: how often messages may be edited, per message and per shared scope.

Discord limits edits per channel and Slack limits `chat.update` per workspace, and every
stream in that scope draws on the same allowance. The pacer keeps a sliding window of the
calls made in each scope and makes a stream wait for its turn (first come, first served)
instead of drawing a 429. It also remembers when each message was last edited, so the
renderer can keep to the adapter's per-message interval.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class _Window:
    def __init__(self) -> None:
        self.sent: deque[float] = deque()
        self.lock = asyncio.Lock()


class EditPacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._last_edit: dict[str, float] = {}

    def message_delay(self, message: str, min_interval: float) -> float:
        """Seconds until `message` may be edited again (0 when it may be now)."""
        last = self._last_edit.get(message)
        if last is None or min_interval <= 0:
            return 0.0
        return max(0.0, last + min_interval - self._clock())

    async def book(self, scope: str, budget: tuple[int, float] | None, message: str | None = None) -> None:
        """Wait for a free slot in `scope`'s shared budget and take it; note the edit time."""
        if budget is not None:
            await self._shared(scope, budget)
        if message is not None:
            self._last_edit[message] = self._clock()

    async def _shared(self, scope: str, budget: tuple[int, float]) -> None:
        count, period = budget
        window = self._windows.setdefault(scope, _Window())
        async with window.lock:
            while True:
                now = self._clock()
                while window.sent and window.sent[0] <= now - period:
                    window.sent.popleft()
                if len(window.sent) < count:
                    window.sent.append(now)
                    return
                await asyncio.sleep(window.sent[0] + period - now)

    def book_now(self, message: str) -> None:
        """Note that `message` was just posted (a post starts its interval too)."""
        self._last_edit[message] = self._clock()

    def forget(self, message: str) -> None:
        self._last_edit.pop(message, None)
