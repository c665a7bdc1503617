"""`/usage` on Discord: private, at once, and `all` only for members with Manage Server."""

from __future__ import annotations

import discord

from tests.fakes import discord_payloads as p
from tests.fakes.kie import reply

MANAGE_GUILD = 1 << 5


async def usage_as(h, options: dict, *, manage_guild: bool = False) -> dict:
    payload = p.slash_command("usage", options)
    if manage_guild:
        payload["member"]["permissions"] = str(int(payload["member"]["permissions"]) | MANAGE_GUILD)
    payload = h.api.register_interaction(payload)
    await h.client.tree._call(discord.Interaction(data=payload, state=h.client._connection))
    await h.settle()
    (callback,) = [c for c in h.api.calls if payload["token"] in c.path]
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == 64  # only the invoker sees it
    return callback.json["data"]


async def test_usage_shows_the_members_spend_privately(make_harness):
    h = await make_harness(limit_user_daily_credits=10)
    h.kie.codex_replies.append(reply("Hello.", credits=0.49))
    await h.command("codex", {"prompt": "hi"})
    await h.settle()
    text = (await usage_as(h, {}))["content"]
    lines = text.splitlines()
    assert lines[0] == "📊 Your usage" and lines[1].endswith(" UTC): 0.49 credits · 1 reply · 0 images")
    assert "• your daily credit limit: 10 credits, 9.51 left" in lines
    assert len(h.kie.codex_bodies) == 1  # /usage itself asks KIE nothing


async def test_usage_all_needs_manage_server(make_harness):
    h = await make_harness()
    h.kie.codex_replies.append(reply("Hello.", credits=0.49))
    await h.command("codex", {"prompt": "hi"})
    await h.settle()
    refused = (await usage_as(h, {"scope": "all"}))["content"]
    assert refused.startswith("Only the bot's admins can see everyone's usage.")
    shown = (await usage_as(h, {"scope": "all"}, manage_guild=True))["content"]
    assert shown.splitlines()[0] == "📊 Usage of this server, last 7 days (UTC)"
    assert f"1. <@{p.USER_ID}>: 0.49 credits · 1 reply · 0 images" in shown.splitlines()


async def test_a_manager_is_exempt_from_the_limits(make_harness):
    h = await make_harness(limit_user_daily_credits=0)
    payload = p.slash_command("codex", {"prompt": "hi"})
    payload["member"]["permissions"] = str(int(payload["member"]["permissions"]) | MANAGE_GUILD)
    payload = h.api.register_interaction(payload)
    await h.client.tree._call(discord.Interaction(data=payload, state=h.client._connection))
    await h.settle()
    assert len(h.kie.codex_bodies) == 1
    await h.command("codex", {"prompt": "hi"})  # an ordinary member is held to the limit
    await h.settle()
    assert len(h.kie.codex_bodies) == 1
