"""The discord.py client: intents, mentions policy, command tree and event wiring."""

from __future__ import annotations

import logging

import aiohttp
import discord
from discord import app_commands

from bot.health import Connection
from bot.metrics import rate_limit_trace
from bot.runtime import Core

from .controls import StopButton
from .sync import sync_commands

log = logging.getLogger(__name__)


def intents_for(message_content: bool) -> discord.Intents:
    """Default intents (servers, messages, DMs); message content only when asked for,
    since it is privileged and the bot works without it (mentions, replies and DMs)."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.presences = False
    intents.members = False
    return intents


def shard_options(shard_count: int | None, shard_ids: tuple[int, ...]) -> dict:
    """DISCORD_SHARD_COUNT alone: this process runs all of that many shards; with
    DISCORD_SHARD_IDS, only those, and other processes run the rest."""
    if shard_count is None:
        return {}
    return {"shard_count": shard_count, "shard_ids": list(shard_ids) or None}


class DiscordClient(discord.Client):
    def __init__(self, core: Core, *, http_trace: aiohttp.TraceConfig | None = None, **shards: object) -> None:
        # Every REST response passes through one trace: it counts the 429s Discord answers
        # (discord.py retries them itself) and, with `http_trace`, lets the adapter learn
        # Discord's rate-limit answers (see `routes`).
        trace = rate_limit_trace("discord")
        if http_trace is not None:
            trace.on_request_end.extend(http_trace.on_request_end)
        super().__init__(
            **shards,
            http_trace=trace,
            intents=intents_for(core.settings.discord_message_content),
            # Model output must never ping @everyone, roles or users; discord.py applies
            # this to every send and every content edit.
            allowed_mentions=discord.AllowedMentions.none(),
            # A stream fails fast on a long rate limit instead of sleeping for minutes.
            max_ratelimit_timeout=30.0,
        )
        self.core = core
        self.connection = Connection()  # for /readyz: up from READY until the gateway drops
        self.tree = app_commands.CommandTree(self)
        self.sync_result: str | None = None
        self.on_message_hook = None  # set by the adapter: async (message) -> None

    async def setup_hook(self) -> None:
        self.add_dynamic_items(StopButton)
        try:
            self.sync_result = await sync_commands(self.tree, guild_id=self.core.settings.discord_guild_id)
        except discord.HTTPException as exc:
            # The commands Discord already has keep working; the bot should still start.
            log.error("could not sync slash commands (HTTP %s, code %s): %s", exc.status, exc.code, exc.text)
            self.sync_result = "failed"

    async def on_message(self, message: discord.Message) -> None:
        if self.on_message_hook is not None:
            await self.on_message_hook(message)

    async def on_resumed(self) -> None:
        self.connection.set(True)

    async def on_disconnect(self) -> None:
        self.connection.set(False)

    async def on_ready(self) -> None:
        self.connection.set(True)
        log.info("connected to Discord as %s (%s) in %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    async def on_error(self, event_method: str, /, *args: object, **kwargs: object) -> None:
        # One failed event must never stop the client; the traceback goes to the log.
        log.exception("Discord event %s failed", event_method)


class ShardedDiscordClient(DiscordClient, discord.AutoShardedClient):
    """The same client over several gateway connections (shards). Posting and editing go
    over REST and need no shard, so any process can deliver to any channel."""

    async def close(self) -> None:
        # discord.py's AutoShardedClient.close() needs the queue its connect() creates; a
        # client that never connected (REST only, or a failed start) closes as a plain one.
        if not hasattr(self, "_AutoShardedClient__queue"):
            await discord.Client.close(self)
            return
        await super().close()


def make_client(core: Core, *, http_trace: aiohttp.TraceConfig | None = None) -> DiscordClient:
    settings = core.settings
    if settings.discord_shard_count is None:
        # Every shard in this process, as many as Discord recommends (GET /gateway/bot): one
        # connection for a small bot, more once it is in thousands of servers.
        return ShardedDiscordClient(core, http_trace=http_trace)
    options = shard_options(settings.discord_shard_count, settings.discord_shard_ids)
    log.info("Discord: running shards %s of %d", options["shard_ids"] or "all", settings.discord_shard_count)
    return ShardedDiscordClient(core, http_trace=http_trace, **options)
