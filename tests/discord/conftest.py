"""Fixtures for the Discord adapter: the fake Discord API, a core pointed at the fake KIE,
and the adapter logged in over REST (the gateway test connects for real)."""

from __future__ import annotations

import dataclasses

import discord
import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.outbound import CAPABILITIES
from bot.runtime import Core
from tests.fakes import discord_payloads as p
from tests.fakes.discord_api import FakeDiscordApi

from .harness import Harness

# The real pace (1.5 s per message, 5 writes per 5.5 s per channel against Discord's 5 per
# 5 s) scaled down tenfold, so the tests assert the same rules without waiting for them;
# bench/bench_discord.py runs the real numbers.
SCALE = 0.1
FAST = dataclasses.replace(
    CAPABILITIES,
    min_edit_interval=CAPABILITIES.min_edit_interval * SCALE,
    shared_edit_budget=(5, CAPABILITIES.shared_edit_budget[1] * SCALE),
)
DISCORD_BUCKET = (5, 5.0 * SCALE)


@pytest.fixture
async def discord_api(monkeypatch):
    fake = FakeDiscordApi(bucket=DISCORD_BUCKET)
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    yield fake
    await fake.stop()
    _every_message_silences_mentions(fake)


def _every_message_silences_mentions(api: FakeDiscordApi) -> None:
    """Checked after every test: no send or edit of any kind may let Discord parse mentions."""
    for call in api.calls:
        body = call.json if isinstance(call.json, dict) else None
        if body is None or call.method not in ("POST", "PATCH") or "/threads" in call.path:
            continue
        if call.path.endswith("/callback"):
            body = body.get("data") or {}
            if "content" not in body:
                continue  # a deferral carries no text
        elif "/messages" not in call.path and not call.path.startswith("/webhooks/"):
            continue
        assert body.get("allowed_mentions") == {"parse": []}, f"{call.method} {call.path} could ping: {body}"


@pytest.fixture
def discord_settings(kie, settings_for):
    def make(**overrides):
        values = dict(discord_token=p.BOT_TOKEN)
        values.update(overrides)
        return settings_for(kie, **values)

    return make


@pytest.fixture
async def make_harness(discord_api, kie, discord_settings):
    made: list[tuple[Core, DiscordAdapter]] = []

    async def make(*, login: bool = True, **overrides) -> Harness:
        core = await Core.create(discord_settings(**overrides))
        adapter = DiscordAdapter(core)
        adapter.out.capabilities = FAST
        made.append((core, adapter))
        if login:
            await adapter.login()
        return Harness(core, adapter, discord_api, kie)

    yield make
    for core, adapter in reversed(made):
        await adapter.stop()
        await core.close()


@pytest.fixture
async def h(make_harness) -> Harness:
    return await make_harness()
