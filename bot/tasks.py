"""The single owner of background work.

Every coroutine the bot runs in the background goes through `TaskRunner.spawn`, which
keeps a reference (so the task is not garbage-collected), logs a failure with its
traceback, and calls the `on_error` callback so the user hears about it. Nothing else
calls `asyncio.create_task`.

A daemon (a loop that lives as long as the bot, like a gateway connection) that fails is
not just logged: the bot cannot work without it, so `daemon_failed` is set and the
process ends (see `bot.__main__`), for the platform to restart it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from . import metrics
from .errors import UserFacingError

log = logging.getLogger(__name__)

ErrorCallback = Callable[[BaseException], Awaitable[None]]


class TaskRunner:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._daemons: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.daemon_failed = asyncio.Event()
        self.daemon_failure: tuple[str, BaseException] | None = None  # the first daemon that failed

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: str,
        on_error: ErrorCallback | None = None,
        daemon: bool = False,
    ) -> asyncio.Task[Any]:
        """Run `coro` in the background. A `daemon` is a loop that lives as long as the bot
        (a gateway connection): guarded and cancelled like any task, but `wait_idle` (and so
        a drain at shutdown) does not wait for it to end."""
        if daemon:
            task = asyncio.create_task(self._guard_daemon(coro, name), name=name)
            self._daemons.add(task)
            task.add_done_callback(self._daemons.discard)
            return task
        task = asyncio.create_task(self._guard(coro, name, on_error), name=name)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._forget)
        return task

    async def _guard(self, coro: Coroutine[Any, Any, Any], name: str, on_error: ErrorCallback | None) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.record_error(exc)
            if isinstance(exc, UserFacingError):  # expected (bad input, upstream refusal): no traceback
                log.info("task %s ended: %s", name, exc.message)
            else:
                log.exception("background task %s failed", name)
            if on_error is not None:
                try:
                    await on_error(exc)
                except Exception:
                    log.exception("could not report the failure of %s", name)
            return None

    async def _guard_daemon(self, coro: Coroutine[Any, Any, Any], name: str) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Whoever waits on `daemon_failed` reports it; the traceback is for debugging.
            log.error("background loop %s failed: %s", name, exc or type(exc).__name__)
            log.debug("background loop %s failed", name, exc_info=exc)
            if self.daemon_failure is None:
                self.daemon_failure = (name, exc)
                self.daemon_failed.set()
            return None

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until no background task is left (tasks may spawn more while we wait)."""
        while self._tasks:
            await self._idle.wait()

    async def cancel_all(self) -> None:
        tasks = [*self._tasks, *self._daemons]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
