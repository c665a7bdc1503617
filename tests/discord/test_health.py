"""/readyz follows the Discord gateway; /metrics counts a served /codex."""

from __future__ import annotations

import aiohttp

from bot import metrics
from bot.health import watch
from tests.fakes import discord_payloads as p
from tests.fakes.kie import reply

from .test_gateway import gateway  # noqa: F401  (the fake gateway fixture)

CHANNEL_MESSAGES = f"/channels/{p.CHANNEL_ID}/messages"


async def get(port: int, path: str) -> tuple[int, dict | str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body


async def test_readiness_goes_503_naming_discord_when_the_gateway_closes(make_harness, gateway):  # noqa: F811
    h = await make_harness(login=False)
    h.client._connection.guild_ready_timeout = 0.05
    watch(h.core.readiness, h.adapter)
    await h.core.web.start()
    port = h.core.web.bound_port

    assert await get(port, "/readyz") == (503, {"ready": False, "down": ["discord"], "checks": {"database": True, "discord": False}})
    await h.adapter.start()
    await h.adapter.connection.wait(True)  # on_ready runs as its own task, just after READY
    assert await get(port, "/readyz") == (200, {"ready": True, "down": [], "checks": {"database": True, "discord": True}})

    await gateway.stop()  # the connection drops and reconnecting fails
    await h.adapter.connection.wait(False)
    status, body = await get(port, "/readyz")
    assert (status, body["down"]) == (503, ["discord"])
    assert (await get(port, "/healthz"))[0] == 200  # alive, just not ready


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_move_after_a_reply(h):
    before = {
        "requests": sample("bot_requests_total", command="codex", platform="discord"),
        "edits": sample("bot_platform_writes_total", platform="discord", kind="edit"),
        "posts": sample("bot_platform_writes_total", platform="discord", kind="post"),
        "first": sample("bot_kie_first_event_seconds_count"),
        "total": sample("bot_kie_reply_seconds_count"),
        "credits": sample("bot_credits_spent_total", service="codex"),
        "429": sample("bot_rate_limited_total", platform="discord", route="POST /api/v10/channels/{id}/messages"),
    }
    h.api.scripted_429[("POST", CHANNEL_MESSAGES)] = 1
    long = "word " * 600  # over 2000 characters: the reply continues in a posted message
    h.kie.codex_replies.append(reply(long[:1000], long[1000:], credits=0.49))

    await h.command("codex", {"prompt": "a long answer"})
    await h.settle()

    assert sample("bot_requests_total", command="codex", platform="discord") == before["requests"] + 1
    assert sample("bot_platform_writes_total", platform="discord", kind="edit") > before["edits"]
    assert sample("bot_platform_writes_total", platform="discord", kind="post") == before["posts"] + 1
    assert sample("bot_kie_first_event_seconds_count") == before["first"] + 1
    assert sample("bot_kie_reply_seconds_count") == before["total"] + 1
    assert sample("bot_credits_spent_total", service="codex") == before["credits"] + 0.49
    assert sample("bot_rate_limited_total", platform="discord", route="POST /api/v10/channels/{id}/messages") == before["429"] + 1
    assert sample("bot_replies_in_flight") == 0

    await h.core.web.start()
    status, text = await get(h.core.web.bound_port, "/metrics")
    assert status == 200
    assert 'bot_requests_total{command="codex",platform="discord"}' in text
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert names and all(name.startswith("bot_") for name in names)


async def test_the_invite_url_is_logged_at_login(make_harness, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="adapters.discord")
    await make_harness()
    assert any(
        r.getMessage().startswith(f"invite the bot with https://discord.com/oauth2/authorize?client_id={p.APP_ID}&")
        and "permissions=309237746688" in r.getMessage()
        for r in caplog.records
    )
