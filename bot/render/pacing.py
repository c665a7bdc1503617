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
    """One scope's recent calls and the callers waiting for a slot, final edits first."""

    def __init__(self) -> None:
        self.sent: deque[float] = deque()
        self.urgent: deque[asyncio.Future[None]] = deque()
        self.normal: deque[asyncio.Future[None]] = deque()
        self.timer: asyncio.TimerHandle | None = None


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

    async def book(
        self, scope: str, budget: tuple[int, float] | None, message: str | None = None, *, urgent: bool = False
    ) -> None:
        """Wait for a free slot in `scope`'s shared budget and take it; note the edit time.

        `urgent` callers (the last edit of a reply) are served before the in-progress edits
        of other streams, so a finished reply shows its final text without queueing.
        """
        if budget is not None:
            await self._shared(scope, budget, urgent)
        if message is not None:
            self._last_edit[message] = self._clock()

    async def _shared(self, scope: str, budget: tuple[int, float], urgent: bool) -> None:
        window = self._windows.setdefault(scope, _Window())
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (window.urgent if urgent else window.normal).append(waiter)
        self._grant(window, budget)
        try:
            await waiter
        except asyncio.CancelledError:
            for queue in (window.urgent, window.normal):
                if waiter in queue:
                    queue.remove(waiter)
            raise

    def _grant(self, window: _Window, budget: tuple[int, float]) -> None:
        count, period = budget
        now = self._clock()
        while window.sent and window.sent[0] <= now - period:
            window.sent.popleft()
        # In-progress edits leave one slot of a budget of 3 or more free, so the last edit of a
        # reply that ends while the scope is busy rarely has to wait a whole window.
        normal_cap = count - 1 if count >= 3 else count
        while window.urgent or window.normal:
            queue = window.urgent if window.urgent else window.normal
            if len(window.sent) >= (count if queue is window.urgent else normal_cap):
                break
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                window.sent.append(now)
        if (window.urgent or window.normal) and window.timer is None:
            delay = window.sent[0] + period - now
            window.timer = asyncio.get_running_loop().call_later(delay, self._on_timer, window, budget)

    def _on_timer(self, window: _Window, budget: tuple[int, float]) -> None:
        window.timer = None
        self._grant(window, budget)

    def book_now(self, message: str) -> None:
        """Note that `message` was just posted (a post starts its interval too)."""
        self._last_edit[message] = self._clock()

    def forget(self, message: str) -> None:
        self._last_edit.pop(message, None)
