"""Edit pacing: how often messages may be edited, per message and per shared scope.

Discord limits edits per channel and Slack limits `chat.update` per workspace, and every
stream in that scope draws on the same allowance. The pacer keeps a sliding window of the
edits sent in each scope and makes a stream wait for its turn (first come, first served)
instead of drawing a 429.
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

    async def turn(
        self,
        *,
        scope: str,
        budget: tuple[int, float] | None,
        message: str | None = None,
        min_interval: float = 0.0,
        final: bool = False,
    ) -> None:
        """Wait until one more platform call for `message` in `scope` is allowed, and book it.

        `final` edits skip the per-message interval (the last text should not wait), but
        never the shared budget, which is what keeps the scope clear of 429s.
        """
        if message is not None and not final and min_interval > 0:
            last = self._last_edit.get(message)
            if last is not None:
                delay = last + min_interval - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
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

    def forget(self, message: str) -> None:
        self._last_edit.pop(message, None)
