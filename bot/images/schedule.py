"""When to ask KIE about a task next, on KIE's recommended schedule.

KIE: every 2-3 s for the first 30 s, then every 5-10 s, then every 15-30 s after two
minutes; stop after 10-15 minutes. Every value is injectable so tests run in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    fast: float = 2.5
    fast_until: float = 30.0
    medium: float = 7.5
    medium_until: float = 120.0
    slow: float = 20.0
    give_up: float = 900.0

    def delay(self, elapsed: float) -> float:
        """Seconds to wait before the next query, `elapsed` seconds after the task was created."""
        if elapsed < self.fast_until:
            step = self.fast
        elif elapsed < self.medium_until:
            step = self.medium
        else:
            step = self.slow
        return max(0.0, min(step, self.give_up - elapsed))

    def queries_until(self, seconds: float) -> int:
        """How many polls this schedule spends on a task that finishes after `seconds` (for the bench)."""
        elapsed, count = 0.0, 0
        while elapsed < seconds and elapsed < self.give_up:
            elapsed += max(self.delay(elapsed), 1e-9)
            count += 1
        return count
