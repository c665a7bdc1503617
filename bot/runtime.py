"""Builds the core once per process and tears it down in order.

Adapters receive the `Core` and take what they need from it; nothing reaches for globals.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from .app import Bot
from .codex.client import CodexClient, Timeouts
from .codex.reply import CodexReplies
from .channel_settings import ChannelSettings
from .config import Settings
from .conversations import Conversations
from .health import Readiness
from .health import install as install_health_routes
from .images.service import CALLBACK_PATH, ImageService, process_name
from .processes import Processes
from .readiness import check_redis
from .shared.windows import SharedWindows
from .render.pacing import WritePacer
from .retention import Retention
from .store import Checkpoints, Store
from .tasks import TaskRunner
from .usage.balance import Balance
from .usage.budget import Budget
from .usage.ledger import Ledger
from .usage.report import UsageReport
from .web import WebServer

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    bot: Bot
    runner: TaskRunner
    store: Store
    http: aiohttp.ClientSession
    conversations: Conversations
    pacer: WritePacer
    web: WebServer
    # Services that start after the adapters have registered (e.g. the image task resumer).
    # Each has `async start()` and `async stop()`; `close()` stops them first.
    extensions: list = field(default_factory=list)
    images: ImageService | None = None
    # Features that keep rows register their pruning here (e.g. an adapter's links).
    retention: Retention | None = None
    # Redis (REDIS_URL): budgets and Stop presses shared with the other processes.
    redis: Redis | None = None
    shared: SharedWindows | None = None
    channels: ChannelSettings | None = None  # per-channel /config
    # Costs and budgets: checked before each reply or image, reported by /usage.
    budget: Budget | None = None
    usage: UsageReport | None = None
    # What /readyz checks: the database now; the composition root adds each adapter.
    readiness: Readiness = field(init=False)

    def __post_init__(self) -> None:
        self.readiness = Readiness(self.store)
        if self.redis is not None:
            redis = self.redis

            async def redis_answers() -> bool:
                check = await check_redis(redis)
                return check is not None and check.ok

            self.readiness.add("redis", redis_answers)
        install_health_routes(self.web.app, self.readiness, self.store)

    @classmethod
    async def create(cls, settings: Settings) -> Core:
        if settings.database_url is None:
            await asyncio.to_thread(_check_readable, settings.bot_db_path)
        store = await Store.open(settings.database_location)
        # aiohttp's default pool holds 100 connections: the 101st Codex stream would wait
        # for a free one until its first-event timeout. Concurrency is bounded by
        # CODEX_MAX_CONCURRENT instead, so the pool itself is unbounded.
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=0))
        redis = shared_redis(settings)
        try:
            return await cls._build(settings, store, http, redis)
        except BaseException:
            # A half-built core must not keep the process alive (the database's thread).
            await http.close()
            await store.close()
            if redis is not None:
                await redis.aclose()
            raise

    @classmethod
    async def _build(cls, settings: Settings, store: Store, http: aiohttp.ClientSession, redis: Redis | None) -> Core:
        runner = TaskRunner()
        conversations = Conversations(store, budget_chars=settings.conversation_budget_chars)
        await conversations.start()
        bot = Bot(runner=runner)
        balance = Balance(http, settings, runner)
        budget = Budget(Ledger(store), settings, balance=balance)
        await budget.start()
        shared = SharedWindows(redis, settings.redis_key_prefix) if redis is not None else None
        pacer = WritePacer(shared=shared)
        codex = CodexClient(
            http,
            url=settings.codex_url,
            api_key=settings.codex_key,
            timeouts=Timeouts(
                connect=settings.codex_connect_timeout,
                first_event=settings.codex_first_event_timeout,
                idle=settings.codex_idle_timeout,
                first_output_budget=settings.codex_first_output_budget,
                total=settings.codex_total_timeout,
            ),
            max_retries=settings.codex_max_retries,
            max_reply_chars=settings.codex_max_reply_chars,
        )
        channels = ChannelSettings(store, settings)
        await channels.start()
        replies = CodexReplies(
            bot=bot, client=codex, conversations=conversations, pacer=pacer, settings=settings, http=http,
            channels=channels, budget=budget,
        )
        bot.register_handler("codex", replies)
        bot.register_handler("chat", replies)
        web = WebServer(
            host=settings.web_host, port=settings.port, header_timeout=settings.web_header_timeout_s,
            body_timeout=settings.web_body_timeout_s, max_connections=settings.web_max_connections,
        )
        processes = Processes(store, process_name(), shares_budgets=redis is not None)
        images = ImageService(
            bot=bot, runner=runner, store=store, http=http, settings=settings, pacer=pacer, budget=budget,
            shared=shared, processes=processes,
        )
        await images.prepare()
        await budget.reconcile(_task_state(images))
        usage = UsageReport(budget)
        bot.register_handler("usage", usage)
        bot.register_handler("image", images)
        web.add_route("POST", CALLBACK_PATH, images.callback.handle)
        retention = Retention(runner)
        retention.add("conversation turns", settings.retention_conversation_days, conversations.prune)
        retention.add("finished image tasks", settings.retention_finished_task_days, images.tasks.prune_finished)
        return cls(
            settings, bot, runner, store, http, conversations, pacer, web,
            # The balance starts first: a resumed task should not start before it is known.
            extensions=[
                balance, images, retention, Checkpoints(store, runner), *cls._relays(bot, runner, settings, redis)
            ],
            images=images, retention=retention, channels=channels, budget=budget, usage=usage, redis=redis,
            shared=shared,
        )

    @staticmethod
    def _relays(bot: Bot, runner: TaskRunner, settings: Settings, redis: Redis | None) -> list:
        if redis is None:
            return []
        from .shared.stops import StopRelay

        return [StopRelay(redis, settings.redis_key_prefix, bot, runner)]

    async def drain(self) -> None:
        """Let every reply and task in flight finish."""
        await self.runner.wait_idle()

    async def shut_down(self, grace: float) -> None:
        """SIGTERM: end the replies in flight (each with a final edit that says so) and
        finish deliveries while the adapters can still post; give up after `grace`."""
        self.bot.begin_shutdown()
        await self.stop_services()
        try:
            await asyncio.wait_for(self.drain(), grace)
        except TimeoutError:
            log.warning("%d tasks still running after %ss; stopping them", self.runner.pending, grace)

    async def stop_services(self) -> None:
        """Stop the extensions (they finish deliveries in flight). Safe to call twice."""
        while self.extensions:
            extension = self.extensions.pop()
            try:
                await extension.stop()
            except Exception:
                log.exception("stopping %s failed", type(extension).__name__)

    async def close(self) -> None:
        await self.stop_services()
        await self.runner.cancel_all()
        await self.web.stop()
        await self.http.close()
        await self.store.close()
        if self.redis is not None:
            await self.redis.aclose()


def shared_redis(settings: Settings) -> Redis | None:
    """The Redis client when REDIS_URL is set."""
    if settings.redis_url is None:
        return None
    from .shared import connect

    return connect(settings.redis_url.get_secret_value())


def _task_state(images: ImageService):
    async def state(task_id: str) -> str | None:
        task = await images.tasks.get(task_id)
        return task.state if task is not None else None

    return state


def _check_readable(path: str) -> None:
    """Raise sqlite3's error if an existing database file cannot be opened and read.

    Checked with plain sqlite3 first because when aiosqlite fails to open a file, its
    worker thread outlives the call and reports to an event loop that may have closed."""
    if path == ":memory:" or not Path(path).exists():
        return
    db = sqlite3.connect(path)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        db.close()
