"""Slack's part in /readyz and /metrics: HTTP mode is ready once its token checked out;
429s are counted by Web API method."""

from __future__ import annotations

import aiohttp

from adapters.slack import SlackAdapter
from bot import metrics
from bot.health import watch
from tests.fakes.kie import reply


async def readyz(port: int) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as response:
        return response.status, await response.json()


async def test_http_mode_is_ready_once_started(slack_settings):
    from bot.runtime import Core

    core = await Core.create(slack_settings())
    adapter = SlackAdapter(core)
    watch(core.readiness, adapter)
    try:
        assert await core.readiness.report() == {"database": True, "slack": False}
        await adapter.start()  # checks the token, adds /slack/events
        await core.web.start()
        assert await readyz(core.web.bound_port) == (200, {"ready": True, "down": [], "checks": {"database": True, "slack": True}})
    finally:
        await adapter.stop()
        await core.close()


async def test_a_429_from_slack_is_counted_by_method(bot, slack, kie):
    def count() -> float:
        return metrics.REGISTRY.get_sample_value(
            "bot_rate_limited_total", {"platform": "slack", "route": "chat.postMessage"}
        ) or 0.0

    before = count()
    slack.retry_after = 0
    slack.throttle_next["chat.postMessage"] = 1
    kie.codex_replies.append(reply("ok"))
    await bot.send.command("hello")
    await bot.settle(1)
    assert count() == before + 1
