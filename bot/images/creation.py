"""The creation queue: KIE accepts at most 20 new tasks per 10 s per account and rejects
(does not queue) the rest, so the bot queues them itself, first come first served, and
tells each waiting user their place in line."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

OnQueued = Callable[[int], Awaitable[None]]


class CreationQueue:
    def __init__(self, *, limit: int = 20, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._granted: deque[float] = deque()  # when each slot inside the window was handed out
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _prune(self, now: float) -> None:
        while self._granted and now - self._granted[0] >= self.window:
            self._granted.popleft()

    def _has_room(self) -> bool:
        self._prune(self._clock())
        return len(self._granted) < self.limit

    async def acquire(self, on_queued: OnQueued | None = None) -> None:
        """Return when a new task may be created. `on_queued(place)` is called if it has to wait."""
        if not self._waiting and self._has_room():
            self._granted.append(self._clock())
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        self._schedule()
        try:
            if on_queued is not None:
                await on_queued(len(self._waiting))
            await turn
        except asyncio.CancelledError:
            if turn in self._waiting:
                self._waiting.remove(turn)
            raise

    def _schedule(self) -> None:
        """Wake the queue when the oldest slot in the window expires."""
        if self._timer is not None or not self._waiting:
            return
        delay = 0.0 if not self._granted else max(0.0, self._granted[0] + self.window - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._release)

    def _release(self) -> None:
        self._timer = None
        while self._waiting and self._has_room():
            turn = self._waiting.popleft()
            if not turn.done():
                self._granted.append(self._clock())
                turn.set_result(None)
        self._schedule()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
