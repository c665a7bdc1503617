"""A Codex reply's deadlines, across its attempts.

- each attempt must produce its first output (text, reasoning, a tool status) within
  `first_event` seconds; after that, `idle` seconds may pass between events;
- all attempts together must produce a first output within `first_output_budget`, so a
  user hears something (a status or an error) in bounded time, whatever the retries;
- the whole reply, retries included, ends after `total` seconds with the text so far.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .. import messages
from ..errors import StreamInterrupted


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    first_event: float = 120.0
    idle: float = 90.0
    first_output_budget: float = 180.0
    total: float = 900.0


class OutOfTime(Exception):
    """The reply's total time is up. Not an UpstreamError: it must never be retried."""


class ReplyClock:
    """One reply's clock and progress, across its attempts."""

    def __init__(self, timeouts: Timeouts) -> None:
        self._timeouts = timeouts
        now = asyncio.get_running_loop().time()
        self.total_deadline = now + timeouts.total
        self.budget_deadline = now + timeouts.first_output_budget
        self.output_seen = False  # any output, in any attempt
        self.text_chars = 0
        self.retry_after: float | None = None  # from the last attempt's response, if any

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def first_output_deadline(self) -> float:
        """When this attempt must have produced its first output."""
        deadline = min(self.now() + self._timeouts.first_event, self.total_deadline)
        return deadline if self.output_seen else min(deadline, self.budget_deadline)

    def idle_deadline(self) -> float:
        return min(self.now() + self._timeouts.idle, self.total_deadline)

    def time_left(self) -> float:
        """For a retry: until the budget while the user has heard nothing, else until the end."""
        end = self.total_deadline if self.output_seen else min(self.total_deadline, self.budget_deadline)
        return end - self.now()

    def timed_out(self, what: str) -> Exception:
        """The error for a deadline that passed: out of time, or a (retryable) timeout."""
        if self.now() >= self.total_deadline:
            return OutOfTime()
        return StreamInterrupted(messages.ERR_TIMEOUT.format(what=what), retryable=not self.text_chars)
