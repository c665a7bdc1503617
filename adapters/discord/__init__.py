"""The Discord adapter: `/codex`, `/image`, mentions, threads and DMs on discord.py.

`create(core)` builds it; `start()` logs in, syncs the slash commands and connects to the
gateway (the connection runs under the core's task runner) and returns once Discord has
said READY; `stop()` disconnects. Everything the bot says goes through `DiscordOutbound`.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.runtime import Core

from .access import Allowlists
from .chat import MessageRouter
from .client import make_client
from .commands import SlashCommands
from .config import ConfigCommand
from .invite import invite_url
from .links import ConversationLinks
from .outbound import DiscordOutbound
from .routes import RouteLimits
from .refs import PLATFORM

log = logging.getLogger(__name__)

# discord.py logs webhook URLs at DEBUG level, and an interaction's URL carries its token.
logging.getLogger("discord.webhook.async_").setLevel(logging.INFO)


class DiscordStartError(RuntimeError):
    """The adapter could not connect; the message says what to check (never the token)."""


class DiscordAdapter:
    name = PLATFORM

    def __init__(self, core: Core) -> None:
        self._core = core
        self.routes = RouteLimits(core.pacer)
        self.client = make_client(core, http_trace=self.routes.trace_config())
        self.connection = self.client.connection
        self.out = DiscordOutbound(self.client, routes=self.routes)
        self.links = ConversationLinks(core.store)
        if core.retention is not None:
            core.retention.add("Discord conversation links", core.settings.retention_conversation_days, self.links.prune)
        allow = Allowlists.from_settings(core.settings)
        self.router = MessageRouter(core, self.client, self.out, allow=allow, links=self.links)
        SlashCommands(core, allow=allow, links=self.links).install(self.client.tree)
        ConfigCommand(core).install(self.client.tree)
        self.client.on_message_hook = self.router.on_message
        self._gateway: asyncio.Task | None = None
        self._failure: BaseException | None = None
        self._failed = asyncio.Event()

    async def login(self) -> None:
        """Log in over REST (checks the token, syncs commands) without the gateway."""
        token = self._core.settings.discord_token
        if token is None:
            raise DiscordStartError("DISCORD_TOKEN is not set.")
        await self.links.start()
        self._core.bot.register_outbound(PLATFORM, self.out)
        try:
            await self.client.login(token.get_secret_value())
        except discord.LoginFailure:
            raise DiscordStartError("Discord rejected DISCORD_TOKEN. Copy the bot token again from the Developer Portal.") from None
        if self.client.application_id is not None:
            log.info("invite the bot with %s", invite_url(self.client.application_id))

    async def start(self) -> None:
        await self.login()
        if not self._core.settings.discord_gateway:
            # REST only: this process posts and edits (callbacks, adopted image tasks) while
            # another process holds the gateway and receives the events.
            self.connection.set(True)
            log.info("Discord: REST only (DISCORD_GATEWAY=false): delivering, not receiving")
            return
        self._gateway = self._core.runner.spawn(self._connect(), name="discord:gateway", daemon=True)
        ready = asyncio.ensure_future(self.client.wait_until_ready())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            await asyncio.wait({ready, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            failed.cancel()
        if self._failure is not None:
            raise DiscordStartError(_explain(self._failure)) from None

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except Exception as exc:
            self._failure = exc
            self._failed.set()
            # The bot cannot work without its gateway: the process ends with this reason.
            raise DiscordStartError(_explain(exc)) from None

    async def stop(self) -> None:
        await self.client.close()
        if self._gateway is not None:
            await asyncio.gather(self._gateway, return_exceptions=True)


def _explain(exc: BaseException) -> str:
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return (
            "Discord refused the message content intent. Either enable MESSAGE CONTENT INTENT for the bot in the "
            "Developer Portal (Bot page), or set DISCORD_MESSAGE_CONTENT=false."
        )
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return "Discord rejected DISCORD_TOKEN on the gateway (close code 4004). Copy the bot token again from the Developer Portal."
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4011:
        return (
            "Discord requires sharding: the bot is in too many servers for one gateway connection (close code 4011). "
            "Set DISCORD_SHARD_COUNT (about one shard per 1,000 servers; see README, Scaling out)."
        )
    if isinstance(exc, discord.ConnectionClosed):
        return f"Discord closed the gateway connection with code {exc.code}."
    return f"Could not connect to the Discord gateway: {type(exc).__name__}."


def create(core: Core) -> DiscordAdapter:
    return DiscordAdapter(core)
