"""The client's whole life once: login, gateway connect, a command, a mention, a thread, stop."""

from __future__ import annotations

import asyncio
import logging
import re

import discord
import pytest
import yarl

from adapters.discord import DiscordStartError
from tests.fakes import discord_payloads as p
from tests.fakes.discord_gateway import MESSAGE_CONTENT_INTENT, FakeGateway
from tests.fakes.kie import reply

GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES = 1 << 0, 1 << 9, 1 << 12


@pytest.fixture
async def gateway(monkeypatch, discord_api):
    fake = FakeGateway(allow_privileged=False)
    await fake.start()
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.url))
    discord_api.gateway_url = fake.url  # what GET /gateway/bot answers (sharded clients ask it)
    yield fake
    await fake.stop()


async def test_login_connect_command_mention_thread_and_stop(make_harness, gateway):
    h = await make_harness(login=False)
    h.client._connection.guild_ready_timeout = 0.05  # READY waits this long for more servers
    h.kie.codex_replies.extend([reply("Four."), reply("Use reversed().")])

    await h.adapter.start()  # REST login, command sync, websocket, READY

    assert gateway.identify["token"] == p.BOT_TOKEN
    intents = gateway.identify["intents"]
    assert intents & (GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES) == GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES
    assert not intents & MESSAGE_CONTENT_INTENT  # works without the privileged intent
    assert h.client.get_guild(p.GUILD_ID) is not None

    command = h.api.register_interaction(p.slash_command("codex", {"prompt": "2+2?"}))
    await gateway.dispatch("INTERACTION_CREATE", command)
    await h.api.wait_for(lambda api: any(c.json.get("components") == [] for c in h.original_edits(command)))
    assert h.original_edits(command)[-1].json["content"].startswith("Four.")

    mention = h.api.add_message(p.message(content=f"<@{p.BOT_ID}> reverse a list?", mentions=[p.BOT_USER]))
    await gateway.dispatch("MESSAGE_CREATE", mention)
    thread_id = int(mention["id"])
    await h.api.wait_for(lambda api: any(
        m.data["channel_id"] == str(thread_id) and m.data["content"].startswith("Use reversed().") for m in api.messages.values()
    ))
    assert h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages/{thread_id}/threads")

    # Shutdown first drains the work in flight; the open connection is not work to wait for.
    await asyncio.wait_for(h.core.drain(), 5)
    assert not h.client.is_closed()

    await h.adapter.stop()
    await gateway.closed.wait()
    assert h.client.is_closed()


async def test_a_refused_privileged_intent_stops_the_start_with_a_clear_message(make_harness, gateway):
    h = await make_harness(login=False, discord_message_content=True)

    with pytest.raises(DiscordStartError, match="MESSAGE CONTENT INTENT"):
        await h.adapter.start()


async def test_python_m_bot_runs_discord_and_the_web_server_in_one_loop(discord_api, gateway, discord_settings, kie, caplog):
    """`run_platforms` (what `python -m bot` calls): Discord connects, the web server
    answers, a command is served, and SIGTERM shuts everything down cleanly."""
    import os
    import signal

    import aiohttp

    from bot.__main__ import run_platforms

    caplog.set_level(logging.INFO)
    started = _LogLine(r"web server on port (\d+)")  # the only outside sign that all is up
    logging.getLogger("bot").addHandler(started)
    kie.codex_replies.append(reply("Up and running."))
    running = asyncio.ensure_future(run_platforms(discord_settings(port=0, web_host="127.0.0.1"), ["discord"]))
    await asyncio.wait_for(started.seen.wait(), 10)
    logging.getLogger("bot").removeHandler(started)
    port = started.match.group(1)
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as health:
        assert health.status == 200

    command = discord_api.register_interaction(p.slash_command("codex", {"prompt": "status?"}))
    await gateway.dispatch("INTERACTION_CREATE", command)
    path = f"/webhooks/{p.APP_ID}/{command['token']}/messages/@original"
    await discord_api.wait_for(lambda api: any(c.json.get("components") == [] for c in api.of("PATCH", path)))

    os.kill(os.getpid(), signal.SIGTERM)  # run_platforms installed its handler before connecting
    assert await asyncio.wait_for(running, 10) == 0
    await gateway.closed.wait()


class _LogLine(logging.Handler):
    """Sets `seen` when a log record matches `pattern` (records arrive on the loop's thread)."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)
        self.seen = asyncio.Event()
        self.match: re.Match[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        found = self.pattern.search(record.getMessage())
        if found and not self.seen.is_set():
            self.match = found
            self.seen.set()
