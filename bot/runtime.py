"""Builds the core once per process and tears it down in order.

Adapters receive the `Core` and take what they need from it; nothing reaches for globals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import aiohttp

from .app import Bot
from .codex.client import CodexClient, Timeouts
from .codex.reply import CodexReplies
from .channel_settings import ChannelSettings
from .config import Settings
from .conversations import Conversations
from .health import Readiness
from .health import install as install_health_routes
from .images.service import CALLBACK_PATH, ImageService
from .render.pacing import EditPacer
from .store import Store
from .tasks import TaskRunner
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
    pacer: EditPacer
    web: WebServer
    # Services that start after the adapters have registered (e.g. the image task resumer).
    # Each has `async start()` and `async stop()`; `close()` stops them first.
    extensions: list = field(default_factory=list)
    images: ImageService | None = None
    channels: ChannelSettings | None = None  # per-channel /config
    # What /readyz checks: the database now; the composition root adds each adapter.
    readiness: Readiness = field(init=False)

    def __post_init__(self) -> None:
        self.readiness = Readiness(self.store)
        install_health_routes(self.web.app, self.readiness, self.store)

    @classmethod
    async def create(cls, settings: Settings) -> Core:
        runner = TaskRunner()
        store = await Store.open(settings.bot_db_path)
        http = aiohttp.ClientSession()
        conversations = Conversations(store, budget_chars=settings.conversation_budget_chars)
        await conversations.start()
        bot = Bot(runner=runner)
        pacer = EditPacer()
        codex = CodexClient(
            http,
            url=settings.codex_url,
            api_key=settings.codex_key,
            timeouts=Timeouts(
                connect=settings.codex_connect_timeout,
                first_event=settings.codex_first_event_timeout,
                idle=settings.codex_idle_timeout,
            ),
            max_retries=settings.codex_max_retries,
        )
        channels = ChannelSettings(store, settings)
        await channels.start()
        replies = CodexReplies(
            bot=bot, client=codex, conversations=conversations, pacer=pacer, settings=settings, http=http,
            channels=channels,
        )
        bot.register_handler("codex", replies)
        bot.register_handler("chat", replies)
        web = WebServer(host=settings.web_host, port=settings.port)
        images = ImageService(bot=bot, runner=runner, store=store, http=http, settings=settings)
        await images.prepare()
        bot.register_handler("image", images)
        web.add_route("POST", CALLBACK_PATH, images.callback.handle)
        return cls(
            settings, bot, runner, store, http, conversations, pacer, web, extensions=[images], images=images,
            channels=channels,
        )

    async def drain(self) -> None:
        """Let every reply and task in flight finish."""
        await self.runner.wait_idle()

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
