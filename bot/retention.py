"""Forgetting on a schedule: the store would otherwise grow for ever.

Each feature that keeps rows registers how to prune them (`add`) with how many days to
keep them; the service prunes once at start and then every `every` seconds, in the
background. Zero days keeps rows for ever. A pass that fails is logged and tried again
next time: pruning is housekeeping and must never stop the bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .tasks import TaskRunner

log = logging.getLogger(__name__)

DAY = 24 * 3600
PRUNE_EVERY_S = 3600.0

Prune = Callable[[float], Awaitable[int]]  # delete rows older than the given time; returns how many


@dataclass(frozen=True)
class Job:
    name: str
    keep_days: float
    prune: Prune


class Retention:
    def __init__(self, runner: TaskRunner, *, every: float = PRUNE_EVERY_S, clock: Callable[[], float] = time.time) -> None:
        self._runner = runner
        self._every = every
        self._clock = clock
        self._jobs: list[Job] = []
        self._stopping = asyncio.Event()
        self.passed = asyncio.Event()  # set after each pass (tests wait on it)
        self._loop: asyncio.Task | None = None

    def add(self, name: str, keep_days: float, prune: Prune) -> None:
        if keep_days > 0:
            self._jobs.append(Job(name, keep_days, prune))

    async def prune_once(self) -> dict[str, int]:
        """One pass over every job; returns the rows each deleted."""
        deleted: dict[str, int] = {}
        now = self._clock()
        for job in self._jobs:
            try:
                deleted[job.name] = await job.prune(now - job.keep_days * DAY)
            except Exception:
                log.exception("pruning %s failed; trying again in %ss", job.name, self._every)
        if any(deleted.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {name}" for name, n in deleted.items() if n))
        self.passed.set()
        return deleted

    async def start(self) -> None:
        if self._jobs:
            self._loop = self._runner.spawn(self._run(), name="retention", daemon=True)

    async def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self.prune_once()
            try:
                await asyncio.wait_for(self._stopping.wait(), self._every)
            except TimeoutError:
                pass
