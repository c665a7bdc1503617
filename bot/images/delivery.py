"""Settle a finished task exactly once: win the atomic claim, then post the images (or
say what went wrong) and record the outcome.

Whichever path sees the task finish first, a callback or a poll, calls `settle`; the
claim `running -> delivering` is a single conditional UPDATE, so the other path's claim
finds nothing to move and does nothing.

A paid image is not given up for a passing problem: an expired result link is renewed
through KIE's download-url endpoint, and a post the platform could not take for now (a
full disk) puts the task back to `running`, so the next poll (or the next start) posts it.
The post carries the task id as its idempotency key, so an adapter can recognise a copy
it already posted before a crash (see README, "Exactly once").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp

from .. import messages
from ..errors import AdapterError, UpstreamError
from ..ports import ImageFile, Outbound
from .client import ImageClient
from .download import DownloadError, download_image
from .netguard import UrlGuard
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
    """A friendly sentence, and KIE's own words (failMsg / errorMessage) when it gave any."""
    detail = " ".join(status.error.split())[:_MAX_DETAIL]
    if any(word in detail.lower() for word in _POLICY_WORDS):
        return messages.IMAGE_KIE_SAID.format(text=messages.IMAGE_CONTENT_POLICY, detail=detail)
    if not detail:
        detail = f"KIE reported error {status.error_code}" if status.error_code else "KIE gave no reason"
    return messages.IMAGE_FAILED.format(detail=detail)


class _TryLater(Exception):
    """KIE could not be asked for a fresh link just now: the task stays pending."""


class Delivery:
    def __init__(
        self,
        *,
        tasks: ImageTasks,
        http: aiohttp.ClientSession,
        client: ImageClient,
        guard: UrlGuard,
        max_bytes: int,
        max_results: int,
        timeout: float,
        download_backoff: float = 1.0,
    ) -> None:
        self._tasks = tasks
        self._http = http
        self._client = client
        self._guard = guard
        self._max_bytes = max_bytes
        self._max_results = max_results
        self._timeout = timeout
        self._download_backoff = download_backoff
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = False  # at shutdown no new claims: the next start delivers instead

    async def settle(self, task: ImageTask, status: TaskStatus, live: Live) -> bool:
        """Deliver `task` if this call wins the claim. True when the task reached its end
        here; False when another path has it, or it went back to `running` to try again."""
        if self.closing or not await self._tasks.move(task.id, [RUNNING], DELIVERING):
            return False
        self._in_flight += 1
        self._idle.clear()
        ended = True
        try:
            if status.state == "success":
                ended = await self._deliver(task, status, live)
            else:
                await self._fail(task, failure_text(status), live, detail=status.error or status.error_code)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
            if ended:
                live.wake.set()  # the watcher re-reads the state and ends
        return ended

    async def wait_idle(self, timeout: float) -> None:
        """Let deliveries in flight finish (at shutdown), so a restart does not post twice."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("%d image deliveries were still running at shutdown", self._in_flight)

    async def _deliver(self, task: ImageTask, status: TaskStatus, live: Live) -> bool:
        if not status.urls:
            await self._fail(task, messages.IMAGE_DOWNLOAD_FAILED.format(reason=messages.IMAGE_NO_RESULT), live)
            return True
        if len(status.urls) > self._max_results:
            reason = messages.IMAGE_TOO_MANY.format(count=len(status.urls), limit=self._max_results)
            await self._fail(task, messages.IMAGE_DOWNLOAD_FAILED.format(reason=reason), live, detail=reason)
            return True
        limit = min(self._max_bytes, live.out.capabilities.max_file_bytes)
        files: list[ImageFile] = []
        try:
            for index, url in enumerate(status.urls, start=1):
                files.append(await self._download(task, url, index, limit))
        except DownloadError as exc:
            await self._fail(task, messages.IMAGE_DOWNLOAD_FAILED.format(reason=exc.reason), live, detail=exc.reason)
            return True
        except _TryLater:
            await self._tasks.move(task.id, [DELIVERING], RUNNING)
            return False
        caption = task.prompt[: live.out.capabilities.max_chars]
        try:
            await live.out.post_images(task.where, files, caption, key=task.id)
        except Exception as exc:
            reason = exc.user_message if isinstance(exc, AdapterError) and exc.user_message else "the platform refused the upload"
            if isinstance(exc, AdapterError) and exc.retryable:
                log.warning("image task %s: posting failed for now (%s); it stays pending", task.id, exc)
                await self._tasks.move(task.id, [DELIVERING], RUNNING, detail=str(exc)[:_MAX_DETAIL])
                await live.progress.show(messages.IMAGE_POST_RETRY.format(reason=reason))
                return False
            log.exception("posting a finished image failed")
            await self._fail(task, messages.IMAGE_POST_FAILED.format(reason=reason), live, detail=str(exc)[:_MAX_DETAIL])
            return True
        await self._tasks.move(task.id, [DELIVERING], DONE)
        done = messages.IMAGE_DONE if len(files) == 1 else messages.IMAGE_DONE_MANY.format(count=len(files))
        await live.progress.show(done, final=True)
        return True

    async def _download(self, task: ImageTask, url: str, index: int, limit: int) -> ImageFile:
        """Fetch one result; an expired link is renewed once through KIE's download-url."""
        fetch = dict(name=f"image-{index}", max_bytes=limit, timeout=self._timeout,
                     backoff=self._download_backoff, guard=self._guard)
        try:
            return await download_image(self._http, url, **fetch)
        except DownloadError as exc:
            if not exc.expired:
                raise
            log.info("image task %s: result link %d answered HTTP %s; asking KIE for a fresh one", task.id, index, exc.status)
        try:
            fresh = await self._client.fresh_link(url)
        except UpstreamError as exc:
            log.warning("image task %s: could not ask KIE for a fresh link (%s); will retry", task.id, exc.message)
            raise _TryLater() from None
        if fresh is None:
            raise DownloadError(messages.IMAGE_EXPIRED, permanent=True)
        return await download_image(self._http, fresh, **fetch)

    async def _fail(self, task: ImageTask, text: str, live: Live, *, detail: str = "") -> None:
        await self._tasks.move(task.id, [DELIVERING], FAILED, detail=detail or text)
        await live.progress.show(text, final=True)
