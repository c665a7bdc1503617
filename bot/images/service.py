"""The image service: the /image command handler, the watcher that polls each task, the
callback hook, and the resume of unfinished tasks when the bot starts.

A request runs as one `TaskRunner` task from validation to delivery (so `core.drain()`
waits for pending images). Tasks found unfinished at start are resumed as `TaskRunner`
tasks too: never-sent ones are sent, running ones are watched (and their callbacks
accepted), and ones whose create request was in flight when the process died are
reported to the user, not sent again.

Callbacks: at most one confirmation per task is in flight, and a task whose confirmation
just said "still generating" is left to its poll for a while, so a flood of callbacks on
one token costs one or two status queries, not one each. A task whose create outcome was
unknown (or that was given up) is adopted when KIE calls back for it: the callback's
task id is recorded, confirmed with KIE, and the image delivered once.
Several processes (PostgreSQL): the process working on a task holds its lease and renews
it; every `lease / 3` seconds each process also adopts tasks whose lease ran out (their
process died) and resumes them as above. A callback may land on any process: it confirms
with KIE and the claim `running -> delivering` decides, across processes, who posts.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import socket
import time
import uuid
from collections.abc import Callable

import aiohttp

from .. import messages
from ..app import Bot
from ..config import Settings
from ..errors import UpstreamError, UserFacingError
from ..kie.uploads import KieUploader
from ..model import MessageRef, Request
from ..ports import Outbound
from ..processes import Processes
from ..shared import key_id
from ..shared.windows import SharedLimit, SharedWindows
from ..render.pacing import WritePacer
from ..store import Store
from ..tasks import TaskRunner
from ..usage.budget import Budget, ReportedCost
from .client import Fallback, ImageClient, OutcomeUnknown, build_body
from .creation import CreationQueue
from .delivery import Delivery, Live
from .netguard import UrlGuard
from .options import image_options
from .progress import Progress, generating_text, short_prompt
from .ratelimit import RateLimiter
from .records import (
    DELIVERING, FAILED, GAVE_UP, QUEUED, RUNNING, SUBMITTING, UNKNOWN, ImageTask, ImageTasks, hash_token,
)
from .references import prepare_references
from .schedule import PollSchedule
from .status import TaskStatus
from .webhook import CallbackEndpoint

log = logging.getLogger(__name__)

CALLBACK_PATH = "/kie/callback/{token}"
MAX_CREATE_RETRIES = 3
ADOPT_AT_ONCE = 50  # tasks one adoption pass takes; the next pass takes more
# A shared create slot is counted when it is taken, KIE counts on arrival: a request held
# up on its way (the task's database write, the network) must not land in the next window.
SHARED_CREATE_MARGIN_S = 0.5


def process_name() -> str:
    """Who holds a lease: readable in the database, unique even across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _NotCreated(Exception):
    """The request ended before its task was created (the user has been told why)."""


def schedule_from(settings: Settings) -> PollSchedule:
    return PollSchedule(
        fast=settings.image_poll_fast_s,
        fast_until=settings.image_poll_fast_until_s,
        medium=settings.image_poll_medium_s,
        medium_until=settings.image_poll_medium_until_s,
        slow=settings.image_poll_slow_s,
        give_up=settings.image_give_up_s,
    )


class ImageService:
    def __init__(
        self,
        *,
        bot: Bot,
        runner: TaskRunner,
        store: Store,
        http: aiohttp.ClientSession,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        retry_backoff: float = 2.0,
        stop_grace: float = 10.0,
        pacer: WritePacer | None = None,
        budget: Budget | None = None,
        shared: SharedWindows | None = None,
        processes: Processes | None = None,
    ) -> None:
        self._bot = bot
        self._budget = budget
        # What KIE said a finished task cost (status or callback), until the task settles.
        self._reported: dict[str, ReportedCost] = {}
        self._runner = runner
        self._store = store
        self._clock = clock
        self.owner = processes.name if processes is not None else process_name()
        self._processes = processes
        self.lease = settings.image_lease_s
        self._leases: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self.retry_backoff = retry_backoff
        self.stop_grace = stop_grace
        self._pacer = pacer
        self.tasks = ImageTasks(store, clock=clock)
        self.client = ImageClient(
            http, base_url=settings.kie_base_url, api_key=settings.kie_api_key, timeout=settings.image_request_timeout_s
        )
        self.uploader = KieUploader(http, base_url=settings.kie_upload_base_url, api_key=settings.kie_api_key)
        self.creation = CreationQueue(limit=settings.image_create_limit, window=settings.image_create_window_s)
        self.limiter = RateLimiter(settings.image_status_limit, settings.image_status_period_s)
        # With Redis, KIE's limits hold for the API key across every process: a local grant
        # (which keeps the queue order and the even spacing) also needs a shared slot.
        self.shared_create: SharedLimit | None = None
        self.shared_status: SharedLimit | None = None
        if shared is not None:
            key = key_id(settings.kie_api_key.get_secret_value())
            self.shared_create = SharedLimit(
                shared, f"kie:create:{key}", settings.image_create_limit,
                settings.image_create_window_s + SHARED_CREATE_MARGIN_S,
            )
            self.shared_status = SharedLimit(
                shared, f"kie:status:{key}", settings.image_status_limit, settings.image_status_period_s
            )
        self.schedule = schedule_from(settings)
        self.fallback = Fallback(settings.image_4o_fallback, settings.image_4o_fallback_model)
        self.guard = UrlGuard([settings.kie_base_url, settings.kie_upload_base_url])
        self.delivery = Delivery(
            tasks=self.tasks, http=http, client=self.client, guard=self.guard,
            max_bytes=settings.image_max_download_bytes, max_results=settings.image_max_results,
            timeout=settings.image_request_timeout_s,
        )
        # Where KIE calls back; None means poll only. Tests set it once the server is bound.
        self.public_base_url = settings.public_base_url
        self.callback = CallbackEndpoint(
            tasks=self.tasks,
            hmac_key=settings.kie_webhook_hmac_key,
            max_skew=settings.kie_webhook_max_skew_s,
            on_callback=self._on_callback,
        )
        self._live: dict[str, Live] = {}
        self._confirming: set[str] = set()  # tasks with a callback confirmation in flight
        self._pending_since: dict[str, float] = {}  # task -> when a confirmation last said "generating"
        if budget is not None:
            self.tasks.on_finished = self._settle_cost

    async def prepare(self) -> None:
        await self.tasks.start()

    async def _settle_cost(self, task_id: str, state: str) -> None:
        """A task ended: settle its reservation with what KIE reported, else the price table."""
        try:
            await self._budget.settle_task(task_id, state, self._reported.pop(task_id, None))  # type: ignore[union-attr]
        except Exception:
            log.exception("image task %s: could not record its cost", task_id)

    def _note_cost(self, task_id: str, status: TaskStatus) -> None:
        known = self._reported.get(task_id)
        credits = status.credits if status.credits is not None else (known.credits if known else None)
        self._reported[task_id] = ReportedCost(credits, status.state == "success" or bool(known and known.succeeded))

    # -- the /image command ------------------------------------------------------------
    async def run(self, request: Request, out: Outbound) -> None:
        options = image_options(request.options, request.prompt, len(request.attachments))
        prompt = request.prompt.strip()
        # The price is reserved before any KIE call (references are uploaded to KIE too).
        hold = await self._budget.begin_image(request, options.engine, options.quality) if self._budget else None
        try:
            progress = await Progress.open(
                out, request.where, request.placeholder, messages.IMAGE_STARTING.format(prompt=short_prompt(prompt)),
                pacer=self._pacer,
            )
            try:
                references = await prepare_references(request.attachments, self.uploader)
            except UserFacingError as exc:
                await progress.show(exc.message, final=True)
                raise _NotCreated() from exc
        except Exception as exc:
            # Nothing was created, so nothing is owed. (A cancelled run leaves its hold to
            # the next start's reconcile.)
            if hold is not None:
                await self._budget.release(hold, "not created")  # type: ignore[union-attr]
            if isinstance(exc, _NotCreated):
                return
            raise
        task = await self.tasks.add(
            where=request.where, progress_key=progress.key, user_id=request.user.id, prompt=prompt,
            engine=options.engine, body=build_body(options, prompt, references, self.fallback),
            owner=self.owner, lease_until=self._clock() + self.lease,
        )
        if hold is not None:
            await self._budget.attach(hold, task.id)  # type: ignore[union-attr]
        live = self._live[task.id] = Live(out, progress)
        try:
            if await self._submit(task, live):
                await self._watch(task.id, live)
        finally:
            self._live.pop(task.id, None)
            self._pending_since.pop(task.id, None)

    async def _submit(self, task: ImageTask, live: Live) -> bool:
        """Send the create request once a slot is free. True when KIE accepted it."""
        short = short_prompt(task.prompt)

        async def told(place: int) -> None:
            await live.progress.show(messages.IMAGE_QUEUED.format(
                position=place, limit=self.creation.limit, window=self.creation.window, prompt=short
            ))

        retries = 0
        while True:
            await self.creation.acquire(told)
            if self.shared_create is not None:
                await self.shared_create.acquire()
            token = secrets.token_urlsafe(32)
            if not await self.tasks.move(task.id, [QUEUED], SUBMITTING, token_hash=hash_token(token)):
                return False
            body = dict(task.body)
            if self.public_base_url:
                body["callBackUrl"] = f"{self.public_base_url}{CALLBACK_PATH.format(token=token)}"
            try:
                kie_id = await self.client.create(task.engine, body)  # type: ignore[arg-type]
            except OutcomeUnknown as exc:
                log.warning("image task %s: create outcome unknown (%s)", task.id, exc)
                await self.tasks.move(task.id, [SUBMITTING], UNKNOWN, detail=str(exc))
                await live.progress.show(messages.IMAGE_OUTCOME_UNKNOWN, final=True)
                return False
            except UpstreamError as exc:
                if exc.retryable and retries < MAX_CREATE_RETRIES:
                    # KIE rejected it without creating it (429, or nothing was sent): queue again.
                    retries += 1
                    await self.tasks.move(task.id, [SUBMITTING], QUEUED, token_hash=None)
                    await asyncio.sleep(self.retry_backoff * 2 ** (retries - 1))
                    continue
                await self.tasks.move(task.id, [SUBMITTING], FAILED, detail=exc.message)
                await live.progress.show(exc.message, final=True)
                return False
            await self.tasks.move(task.id, [SUBMITTING], RUNNING, task_id=kie_id, submitted=self._clock())
            await live.progress.show(generating_text(task.prompt, None))
            return True

    # -- watching ------------------------------------------------------------------------
    async def _watch(self, task_id: str, live: Live, *, check_now: bool = False) -> None:
        """Poll on the schedule until the task is settled (here or by a callback) or given up."""
        while True:
            if self._stopping.is_set():
                return  # shutting down: the task is stored and resumes at the next start
            task = await self.tasks.get(task_id)
            if task is None or task.state != RUNNING:
                return
            if task.owner != self.owner:
                return  # our lease ran out and another process adopted the task: it watches now
            if check_now and await self._check(task, live) is True:
                return
            elapsed = self._clock() - (task.submitted or task.created)
            if elapsed >= self.schedule.give_up:
                await self._give_up(task, live)
                return
            try:
                await asyncio.wait_for(live.wake.wait(), self.schedule.delay(elapsed))
            except TimeoutError:
                pass
            live.wake.clear()
            check_now = True

    async def _check(self, task: ImageTask, live: Live) -> bool | None:
        """Ask KIE once (through the shared limiter): True when the task is settled, False
        while it is still running (or a delivery must be tried again), None when the query
        failed (the caller tries again later)."""
        await self.limiter.acquire()
        if self.shared_status is not None:
            await self.shared_status.acquire()
        try:
            status: TaskStatus = await self.client.status(task.engine, task.task_id)  # type: ignore[arg-type]
        except UpstreamError as exc:
            log.warning("image task %s: status query failed (%s); will retry", task.id, exc.status or exc.message)
            return None
        if not status.finished:
            await live.progress.show(generating_text(task.prompt, status.progress), minor=True)
            return False
        self._note_cost(task.id, status)
        return await self.delivery.settle(task, status, live)

    async def _give_up(self, task: ImageTask, live: Live) -> None:
        if await self.tasks.move(task.id, [RUNNING], GAVE_UP):
            minutes = round(self.schedule.give_up / 60, 1)
            await live.progress.show(messages.IMAGE_GAVE_UP.format(minutes=minutes), final=True)

    # -- callbacks ---------------------------------------------------------------------
    def _on_callback(self, task: ImageTask, kie_id: str, hint: TaskStatus, token: str) -> None:
        live = self._live.get(task.id)
        if hint.finished and self._budget is not None:
            self._note_cost(task.id, hint)
        if not hint.finished:
            # KIE calls back when a task ends; a body that says otherwise is not worth a query.
            log.info("image task %s: a callback without a final state; polling continues", task.id)
            return
        if task.state == SUBMITTING:
            # KIE answered the callback before the create reply was read: check as soon as it is.
            if live is not None:
                live.wake.set()
            return
        if task.id in self._confirming:
            return  # coalesced with the confirmation already in flight
        since = self._pending_since.get(task.id)
        if since is not None and time.monotonic() - since < self.schedule.fast:
            return  # KIE said "generating" a moment ago; the poll will look again
        out = self._bot.outbound_for(task.platform)
        if out is None:
            log.warning("image task %s: no %s adapter running; a later poll will deliver it", task.id, task.platform)
            return
        self._confirming.add(task.id)
        if task.state in (UNKNOWN, GAVE_UP):
            work = self._adopt(task.id, kie_id, token, out)
        else:
            work = self._confirm(task.id, out)
        self._runner.spawn(work, name=f"image-callback:{task.id}")

    async def _confirm(self, task_id: str, out: Outbound) -> None:
        """The callback's body is not signed: believe only KIE's status endpoint."""
        try:
            task = await self.tasks.get(task_id)
            if task is None or task.state != RUNNING:
                return
            watched = self._live.get(task_id)
            live = watched or Live(out, self._stored_progress(task, out))
            result = await self._check(task, live)
            if result is False:
                self._pending_since[task_id] = time.monotonic()
            elif result is True:
                self._pending_since.pop(task_id, None)
            if result is None and watched is not None:
                watched.wake.set()  # the confirmation failed (e.g. 429): let the watcher ask again now
        finally:
            self._confirming.discard(task_id)

    async def _adopt(self, task_id: str, kie_id: str, token: str, out: Outbound) -> None:
        """KIE called back for a task whose create reply was lost (or that was given up):
        check with KIE that its task was created with this task's callback token, record
        KIE's task id, then watch it like any running task."""
        try:
            task = await self.tasks.get(task_id)
            if task is None or task.state not in (UNKNOWN, GAVE_UP):
                return
            known = task.task_id or kie_id
            if not known:
                log.warning("image task %s: a callback without a task id cannot be adopted", task_id)
                return
            status = None
            if task.task_id is None:
                status = await self._created_with(task, known, token)
                if status is None:
                    return
            # This process watches it from now on, whichever process created it.
            if not await self.tasks.move(
                task_id, [UNKNOWN, GAVE_UP], RUNNING, task_id=known, submitted=self._clock(),
                owner=self.owner, lease_until=self._clock() + self.lease,
            ):
                return
            log.info("image task %s: KIE called back for it; delivering", task_id)
            live = self._live[task_id] = Live(out, self._stored_progress(task, out))
        finally:
            self._confirming.discard(task_id)
        try:
            adopted = await self.tasks.get(task_id)
            if status is not None and status.finished and adopted is not None:
                if await self.delivery.settle(adopted, status, live):
                    return  # KIE's record that proved the task ours also said it is done
            await self._watch(task_id, live, check_now=status is None)
        finally:
            self._live.pop(task_id, None)

    async def _created_with(self, task: ImageTask, kie_id: str, token: str) -> TaskStatus | None:
        """KIE's status of `kie_id` if that task was created with this task's callback URL,
        else None. The task id in an (unsigned) callback body is only a claim; KIE's own
        record settles it."""
        await self.limiter.acquire()
        try:
            status = await self.client.status(task.engine, kie_id)  # type: ignore[arg-type]
        except UpstreamError as exc:
            log.warning("image task %s: could not check KIE's task %s (%s)", task.id, kie_id, exc.status or exc.message)
            return None
        recorded = status.callback_url.rsplit("/", 1)[-1]
        if not recorded or not hmac.compare_digest(recorded.encode(), token.encode()):
            log.warning("image task %s: KIE's task %s was not created with this callback; not adopted", task.id, kie_id)
            return None
        return status

    # -- start, leases and stop ----------------------------------------------------------
    async def start(self) -> None:
        """Resume the unfinished tasks nobody holds, then keep leases and adopt on a timer.

        With SQLite this process is the only one, so every unfinished task is its own
        (a lease left by a crash of this same bot counts for nothing)."""
        await self._beat()
        await self._adopt_orphans(everything=not self._store.shared)
        for task in await self.tasks.unfinished():
            if self._bot.outbound_for(task.platform) is None:
                log.warning("image task %s waits for the %s adapter", task.id, task.platform)
        self._leases = self._runner.spawn(self._keep_leases(), name="image-leases", daemon=True)

    async def _adopt_orphans(self, *, everything: bool = False) -> int:
        platforms = self._bot.platforms()  # a task is only adopted where its platform runs
        if not platforms:
            return 0
        now = self._clock()
        adopted = await self.tasks.adopt(
            self.owner, lease_until=now + self.lease, expired_before=float("inf") if everything else now,
            limit=ADOPT_AT_ONCE, platforms=platforms,
        )
        for task in adopted:
            out = self._bot.outbound_for(task.platform)
            assert out is not None
            if self._store.shared:
                log.info("image task %s (%s): adopted, nobody held it", task.id, task.state)
            self._runner.spawn(self._resume(task, out), name=f"image-resume:{task.id}")
        return len(adopted)

    async def _beat(self) -> None:
        if self._processes is not None and self._store.shared:
            await self._processes.beat(alive_for=self.lease)

    async def _keep_leases(self) -> None:
        """Renew this process's leases and adopt orphaned tasks, every third of a lease.
        A database error is logged and tried again: the leases outlast a short outage."""
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self.lease / 3)
                return
            except TimeoutError:
                pass
            try:
                await self._beat()
                await self.tasks.renew(self.owner, lease_until=self._clock() + self.lease)
                while await self._adopt_orphans() == ADOPT_AT_ONCE:
                    pass
            except Exception:
                log.exception("renewing image task leases failed; trying again in %.0fs", self.lease / 3)

    async def _resume(self, task: ImageTask, out: Outbound) -> None:
        live = self._live[task.id] = Live(out, self._stored_progress(task, out))
        try:
            if task.state == SUBMITTING:
                if await self.tasks.move(task.id, [SUBMITTING], UNKNOWN, detail="process stopped during create"):
                    await live.progress.show(messages.IMAGE_OUTCOME_UNKNOWN, final=True)
                return
            if task.state == QUEUED:
                if await self._submit(task, live):
                    await self._watch(task.id, live)
                return
            # A delivery cut short by a crash is done again: a paid image is never dropped.
            await self.tasks.move(task.id, [DELIVERING], RUNNING)
            await self._watch(task.id, live, check_now=True)
        finally:
            self._live.pop(task.id, None)

    def _stored_progress(self, task: ImageTask, out: Outbound) -> Progress:
        ref = MessageRef(platform=task.platform, key=task.progress_key) if task.progress_key else None
        return Progress(out, task.where, ref, pacer=self._pacer)

    async def stop(self) -> None:
        """Refuse new callbacks and let deliveries in flight finish; the rest resumes next start."""
        self.callback.accepting = False
        self.delivery.closing = True
        self.creation.close()
        self._stopping.set()
        for live in list(self._live.values()):
            live.wake.set()  # watchers waiting for their next poll end now
        if self._leases is not None:
            await asyncio.gather(self._leases, return_exceptions=True)
        await self.delivery.wait_idle(self.stop_grace)
        # The other processes adopt what is left at their next pass, not a lease later.
        try:
            await self.tasks.release(self.owner)
            if self._processes is not None and self._store.shared:
                await self._processes.leave()
        except Exception:
            log.exception("releasing image task leases failed; they expire in %.0fs", self.lease)
