"""Settle a finished task exactly once: win the atomic claim, then post the images (or
say what went wrong) and record the outcome.

Whichever path sees the task finish first, a callback or a poll, calls `settle`; the
claim `running -> delivering` is a single conditional UPDATE, so the other path's claim
finds nothing to move and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp

from .. import messages
from ..errors import AdapterError
from ..ports import ImageFile, Outbound
from .download import DownloadError, download_image
from .progress import Progress
from .records import DELIVERING, DONE, FAILED, RUNNING, ImageTask, ImageTasks
from .status import TaskStatus

log = logging.getLogger(__name__)

_POLICY_WORDS = ("content polic", "flagged", "prohibited", "nsfw", "safety", "moderation", "violat")
_MAX_DETAIL = 300


@dataclass
class Live:
    """What the process holds in memory for a task it is watching."""

    out: Outbound
    progress: Progress
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def failure_text(status: TaskStatus) -> str:
    detail = " ".join(status.error.split())[:_MAX_DETAIL]
    if any(word in detail.lower() for word in _POLICY_WORDS):
        return messages.IMAGE_CONTENT_POLICY
    if not detail:
        detail = f"KIE reported error {status.error_code}" if status.error_code else "KIE gave no reason"
    return messages.IMAGE_FAILED.format(detail=detail)


class Delivery:
    def __init__(
        self,
        *,
        tasks: ImageTasks,
        http: aiohttp.ClientSession,
        max_bytes: int,
        timeout: float,
        download_backoff: float = 1.0,
    ) -> None:
        self._tasks = tasks
        self._http = http
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._download_backoff = download_backoff
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = False  # at shutdown no new claims: the next start delivers instead

    async def settle(self, task: ImageTask, status: TaskStatus, live: Live) -> bool:
        """Deliver `task` if this call wins the claim. Returns whether it did."""
        if self.closing or not await self._tasks.move(task.id, [RUNNING], DELIVERING):
            return False
        self._in_flight += 1
        self._idle.clear()
        try:
            if status.state == "success":
                await self._deliver(task, status, live)
            else:
                await self._fail(task, failure_text(status), live, detail=status.error or status.error_code)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
            live.wake.set()  # the watcher re-reads the state and ends
        return True

    async def wait_idle(self, timeout: float) -> None:
        """Let deliveries in flight finish (at shutdown), so a restart does not post twice."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("%d image deliveries were still running at shutdown", self._in_flight)

    async def _deliver(self, task: ImageTask, status: TaskStatus, live: Live) -> None:
        if not status.urls:
            await self._fail(task, messages.IMAGE_DOWNLOAD_FAILED.format(reason=messages.IMAGE_NO_RESULT), live)
            return
        limit = min(self._max_bytes, live.out.capabilities.max_file_bytes)
        files: list[ImageFile] = []
        try:
            for index, url in enumerate(status.urls, start=1):
                files.append(
                    await download_image(
                        self._http, url, name=f"image-{index}", max_bytes=limit,
                        timeout=self._timeout, backoff=self._download_backoff,
                    )
                )
        except DownloadError as exc:
            await self._fail(task, messages.IMAGE_DOWNLOAD_FAILED.format(reason=exc.reason), live, detail=exc.reason)
            return
        caption = task.prompt[: live.out.capabilities.max_chars]
        try:
            await live.out.post_images(task.where, files, caption)
        except Exception as exc:
            log.exception("posting a finished image failed")
            reason = exc.user_message if isinstance(exc, AdapterError) and exc.user_message else "the platform refused the upload"
            await self._fail(task, messages.IMAGE_POST_FAILED.format(reason=reason), live, detail=str(exc)[:_MAX_DETAIL])
            return
        await self._tasks.move(task.id, [DELIVERING], DONE)
        done = messages.IMAGE_DONE if len(files) == 1 else messages.IMAGE_DONE_MANY.format(count=len(files))
        await live.progress.show(done)

    async def _fail(self, task: ImageTask, text: str, live: Live, *, detail: str = "") -> None:
        await self._tasks.move(task.id, [DELIVERING], FAILED, detail=detail or text)
        await live.progress.show(text)
