"""`python -m bot check` against the fakes, with good and bad keys."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest

from bot.check import main as check_main
from tests.console_process import bot_env, start_bot
from tests.fakes import discord_payloads as p
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.kie import API_KEY
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN


@pytest.fixture
async def discord_api(monkeypatch):
    fake = FakeDiscordApi()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    yield fake
    await fake.stop()


async def run_check(settings, platforms) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = await check_main(settings, platforms, out)
    return code, out.getvalue().splitlines()


async def test_every_service_good(kie, discord_api, slack, settings_for):
    settings = settings_for(
        kie, discord_token=p.BOT_TOKEN, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=slack.api_url
    )
    code, lines = await run_check(settings, ["discord", "slack"])
    assert code == 0, lines
    kie_line, discord_line, slack_line, database_line, redis_line = lines
    assert kie_line == "ok    KIE: the key works; 100 credits left"
    assert discord_line.startswith("ok    Discord: logged in as kiebot") and f"application {p.APP_ID}" in discord_line
    invite = (
        f"https://discord.com/oauth2/authorize?client_id={p.APP_ID}&scope=bot+applications.commands"
        "&permissions=309237746688"  # the README's integer: exactly the six permissions it lists
    )
    assert discord_line.endswith(f"invite: {invite}")
    assert slack_line == "ok    Slack: codex in Fake (Socket Mode); every scope granted"
    assert database_line.startswith("ok    database: SQLite at ")
    assert redis_line.startswith("ok    Redis: not set: each process keeps its own rate budgets")


async def test_bad_keys_fail_naming_the_setting(kie, discord_api, slack, settings_for):
    settings = settings_for(
        kie, kie_api_key="wrong-key", discord_token="wrong-token", slack_bot_token="xoxb-wrong",
        slack_signing_secret="s", slack_api_url=slack.api_url,
    )
    code, lines = await run_check(settings, ["discord", "slack"])
    assert code == 1
    assert lines[:3] == [
        "FAIL  KIE: KIE rejected the API key. Check KIE_API_KEY.",
        "FAIL  Discord: Discord rejected the token. Check DISCORD_TOKEN.",
        "FAIL  Slack: Slack rejected the bot token (invalid_auth). Check SLACK_BOT_TOKEN.",
    ]


async def test_missing_slack_scopes_are_named(kie, slack, settings_for):
    slack.scopes -= {"users:read", "assistant:write"}
    settings = settings_for(kie, slack_bot_token=BOT_TOKEN, slack_signing_secret="s", slack_api_url=slack.api_url)
    code, lines = await run_check(settings, ["slack"])
    assert code == 1
    assert lines[1].startswith("FAIL  Slack: the app lacks the scopes assistant:write, users:read: reinstall it")


async def test_python_m_bot_check_exits_0_then_1(kie, tmp_path):
    for key, expected in ((API_KEY, 0), ("bad-key", 1)):
        env = {**bot_env(kie, tmp_path), "KIE_API_KEY": key}
        process = await start_bot(env, tmp_path, "check")
        async with asyncio.timeout(60):
            out, err = await process.communicate(b"")
        assert process.returncode == expected, err
        assert out.decode().splitlines()[0].startswith("ok    KIE" if expected == 0 else "FAIL  KIE")
        assert key not in out.decode() + err.decode()


async def test_check_with_a_missing_key_exits_1_naming_it(kie, tmp_path):
    env = bot_env(kie, tmp_path)
    del env["KIE_API_KEY"]
    process = await start_bot(env, tmp_path, "check")
    async with asyncio.timeout(60):
        _, err = await process.communicate(b"")
    assert process.returncode == 1
    assert "KIE_API_KEY is not set" in err.decode()
