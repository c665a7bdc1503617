"""Write pacing: how often messages may be written, per message and per shared scope.

Platforms limit writes per scope (a Discord channel or interaction token, a Slack method
in a workspace), and every reply in a scope draws on the same allowance. The pacer keeps
a sliding window of the writes made in each scope and hands out slots:

- **Text is chosen when the slot is granted, not when it is asked for.** A caller queues
  a `Ticket`, waits for it, and only then reads what to send, so a write never carries
  stale text and a wait absorbs every delta that arrives meanwhile (intermediate edits
  are skipped, not queued).
- **Final writes first.** An urgent ticket (the last write of a reply) is served before
  in-progress ones; a ticket queued as in-progress is promoted when its reply closes.
  In-progress writes leave one slot of a budget of 3 or more free for finals.
- **Round-robin.** Each message has at most one ticket and re-queues at the back after
  being served, so no reply starves while others stream.
- **Learned limits.** After a 429 the scope is held for the wait the platform asked for
  and runs one write narrower for a while (`penalize`); undocumented limits are not
  trusted blindly.
- **Routes with room.** `try_take` and `reserve` let a caller pick another route when a
  budget is exhausted instead of waiting (Slack: post instead of stream).

It also remembers when each message was last written, for the per-message interval.
Scopes and messages idle for `idle_after` seconds are forgotten.

With several processes (`REDIS_URL`), a granted ticket must also win a slot in the
scope's shared window (`SharedWindows`, an atomic check-and-add in Redis) before `wait()`
returns; on refusal it waits for the slot Redis reports. Queues, fairness and "text taken
at grant time" stay as they are: the caller still reads its text after `wait()`.
`try_take` and `reserve` (route choices that must not wait) look at this process only.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..ports import Pace

if TYPE_CHECKING:
    from ..shared.windows import SharedWindows

NARROW_FOR_S = 60.0  # how long a scope stays one write narrower after a 429
SWEEP_EVERY_S = 60.0


class Ticket:
    """A place in a scope's queue. `wait()` returns True when a slot is granted, False
    when the write was rerouted (the caller asks again, possibly in another scope)."""

    def __init__(self, window: _Window | None, urgent: bool) -> None:
        self._window = window
        self.urgent = urgent
        self.future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.granted_at: float | None = None
        if window is None:  # unpaced: granted at once
            self.future.set_result(True)

    async def wait(self) -> bool:
        if self.future.done():  # granted at once: no need to suspend
            granted = self.future.result()
        else:
            try:
                granted = await asyncio.shield(self.future)
            except asyncio.CancelledError:
                self.cancel()
                raise
        window = self._window
        if granted and window is not None and window.pacer.shared is not None:
            await window.pacer.shared.take(window.scope, window.limits)
        return granted

    @property
    def pending(self) -> bool:
        return not self.future.done()

    def promote(self) -> None:
        """The reply closed while this write waited: serve it as a final write."""
        if self._window is None or self.urgent or not self.pending:
            return
        self.urgent = True
        window = self._window
        if self in window.normal:
            window.normal.remove(self)
            window.urgent.append(self)
        window.pacer._grant(window)

    def cancel(self) -> None:
        """Give the place or the slot back (an abandoned wait books nothing)."""
        window = self._window
        if window is None:
            return
        if self.pending:
            self.future.cancel()
            for queue in (window.urgent, window.normal):
                if self in queue:
                    queue.remove(self)
        elif self.granted_at is not None and self.future.result():
            try:
                window.sent.remove(self.granted_at)
            except ValueError:
                pass
            self.granted_at = None
        window.pacer._grant(window)


class Reservation:
    """A slot held now and counted when used, e.g. the stop call a stream will need."""

    def __init__(self, window: _Window | None) -> None:
        self._window = window
        self._held = window is not None

    def use(self) -> None:
        if self._held and self._window is not None:
            self._held = False
            self._window.reserved -= 1
            self._window.sent.append(self._window.pacer._clock())
            self._window.pacer._grant(self._window)

    def release(self) -> None:
        if self._held and self._window is not None:
            self._held = False
            self._window.reserved -= 1
            self._window.pacer._grant(self._window)


class _Window:
    """One scope's recent writes, its held slots and the tickets waiting, finals first."""

    def __init__(self, pacer: WritePacer, pace: Pace) -> None:
        self.pacer = pacer
        self.scope = pace.scope
        self.set_limits(pace)
        self.sent: deque[float] = deque()
        self.reserved = 0
        self.urgent: deque[Ticket] = deque()
        self.normal: deque[Ticket] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.blocked_until = 0.0
        self.narrow_until = 0.0

    def set_limits(self, pace: Pace) -> None:
        assert pace.budget is not None
        self.limits = [pace.budget] if pace.burst is None else [pace.budget, pace.burst]
        self.longest = max(period for _, period in self.limits)

    def trim(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - self.longest:
            self.sent.popleft()

    def _used(self, now: float, period: float) -> int:
        used = 0
        for at in reversed(self.sent):
            if at <= now - period:
                break
            used += 1
        return used

    def room(self, now: float, *, urgent: bool) -> int:
        if now < self.blocked_until:
            return 0
        self.trim(now)
        narrowed = now < self.narrow_until
        room = None
        for count, period in self.limits:
            if narrowed:
                count = max(1, count - 1)
            # In-progress writes leave one slot free, so a reply that ends while the scope
            # is busy rarely waits a whole window for its final text.
            cap = count if urgent or count < 3 else count - 1
            free = cap - self._used(now, period) - self.reserved
            room = free if room is None else min(room, free)
        assert room is not None
        return room

    def next_room(self, now: float) -> float | None:
        """When the window next frees a slot (the oldest write of a full limit leaves)."""
        wakes = [self.blocked_until] if now < self.blocked_until else []
        for count, period in self.limits:
            inside = [at for at in self.sent if at > now - period]
            if inside and len(inside) + self.reserved >= max(1, count - 1):
                wakes.append(inside[0] + period)
        return max(wakes) if wakes else None

    def idle(self, now: float) -> bool:
        self.trim(now)
        return not (self.sent or self.reserved or self.urgent or self.normal) and now >= self.blocked_until


class WritePacer:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, idle_after: float = 600.0, shared: SharedWindows | None = None
    ) -> None:
        self.shared = shared  # Redis windows every process draws on, or None (this process only)
        self._clock = clock
        self._idle_after = idle_after
        self._windows: dict[str, _Window] = {}
        self._last_write: dict[str, float] = {}
        self._swept = clock()

    # -- per message ------------------------------------------------------------------
    def message_delay(self, message: str, min_interval: float) -> float:
        """Seconds until `message` may be written again (0 when it may be now)."""
        last = self._last_write.get(message)
        if last is None or min_interval <= 0:
            return 0.0
        return max(0.0, last + min_interval - self._clock())

    def note(self, message: str) -> None:
        """`message` was just written (its interval starts now)."""
        self._last_write[message] = self._clock()


    def forget(self, message: str) -> None:
        self._last_write.pop(message, None)

    # -- shared scopes ----------------------------------------------------------------
    def ticket(self, pace: Pace, *, urgent: bool = False) -> Ticket:
        """Queue for a slot in `pace`'s scope (granted at once when there is room)."""
        if pace.budget is None:
            return Ticket(None, urgent)
        window = self._window(pace)
        ticket = Ticket(window, urgent)
        (window.urgent if urgent else window.normal).append(ticket)
        self._grant(window)
        return ticket

    async def take(self, pace: Pace, message: str | None = None, *, urgent: bool = False) -> None:
        """Wait for a slot and take it (for writes whose text is fixed in advance)."""
        while not await self.ticket(pace, urgent=urgent).wait():
            pass
        if message is not None:
            self.note(message)


    def try_take(self, pace: Pace) -> bool:
        """Take a slot now if one is free and nobody waits for it; never waits."""
        if pace.budget is None:
            return True
        window = self._window(pace)
        now = self._clock()
        if window.urgent or window.normal or window.room(now, urgent=False) <= 0:
            return False
        window.sent.append(now)
        return True

    async def count_shared(self, pace: Pace) -> None:
        """A write this process counted already (a used reservation) is counted in the
        shared window too, so other processes see it; waits if that window is full."""
        if self.shared is not None and pace.budget is not None:
            window = self._window(pace)
            await self.shared.take(window.scope, window.limits)

    def reserve(self, pace: Pace) -> Reservation | None:
        """Hold a slot for a write that will come later, or None when there is no room."""
        if pace.budget is None:
            return Reservation(None)
        window = self._window(pace)
        if window.urgent or window.normal or window.room(self._clock(), urgent=False) <= 0:
            return None
        window.reserved += 1
        return Reservation(window)

    def penalize(self, scope: str, retry_after: float) -> None:
        """The platform answered 429 in `scope`: hold it and narrow it for a while."""
        window = self._windows.get(scope)
        if window is None:
            return
        now = self._clock()
        window.blocked_until = max(window.blocked_until, now + retry_after)
        window.narrow_until = now + NARROW_FOR_S
        self._arm(window, retry_after)

    def reroute(self, scope: str) -> None:
        """Send every ticket waiting in `scope` back to ask again (the route changed)."""
        window = self._windows.get(scope)
        if window is None:
            return
        for queue in (window.urgent, window.normal):
            while queue:
                ticket = queue.popleft()
                if ticket.pending:
                    ticket.future.set_result(False)

    @property
    def scopes(self) -> int:
        return len(self._windows)

    # -- internals ----------------------------------------------------------------------
    def _window(self, pace: Pace) -> _Window:
        assert pace.budget is not None
        self._sweep()
        window = self._windows.get(pace.scope)
        if window is None:
            window = self._windows[pace.scope] = _Window(self, pace)
        else:
            window.set_limits(pace)  # a learned budget may change
        return window

    def _grant(self, window: _Window) -> None:
        now = self._clock()
        while window.urgent or window.normal:
            queue = window.urgent if window.urgent else window.normal
            if window.room(now, urgent=queue is window.urgent) <= 0:
                break
            ticket = queue.popleft()
            if ticket.pending:
                ticket.granted_at = now
                window.sent.append(now)
                ticket.future.set_result(True)
        if (window.urgent or window.normal) and window.timer is None:
            # Room comes back when a write leaves a window or the hold ends; a window full
            # of reservations only wakes when one is used or released.
            wake = window.next_room(now)
            if wake is not None:
                self._arm(window, wake - now)

    def _arm(self, window: _Window, delay: float) -> None:
        if window.timer is not None:
            window.timer.cancel()
        window.timer = asyncio.get_running_loop().call_later(max(delay, 0.001), self._on_timer, window)

    def _on_timer(self, window: _Window) -> None:
        window.timer = None
        self._grant(window)

    def _sweep(self) -> None:
        """Forget idle scopes and messages (every Discord thread is a scope of its own)."""
        now = self._clock()
        if now - self._swept < SWEEP_EVERY_S:
            return
        self._swept = now
        for key, window in list(self._windows.items()):
            if window.idle(now) and window.timer is None:
                del self._windows[key]
        cutoff = now - self._idle_after
        for message, at in list(self._last_write.items()):
            if at < cutoff:
                del self._last_write[message]

