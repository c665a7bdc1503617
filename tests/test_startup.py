"""Start-up failures: one line on stderr naming what to fix, exit code 1, within seconds,
never a traceback or a process that hangs. Real `python -m bot` processes."""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest

from tests.bot_process import env_for, launch
from tests.fakes import discord_payloads as p
from tests.fakes.discord_api import FakeDiscordApi

DB_HINT = "Move the file away to start with an empty one, restore a backup, or point BOT_DB_PATH elsewhere."


async def fails_to_start(env: dict, tmp_path, *args: str, discord=None) -> tuple[list[str], float]:
    """Run the bot to its exit; returns its stderr lines and how long it took."""
    started = time.monotonic()
    bot = await launch(env, tmp_path, *args, discord=discord)
    try:
        code = await bot.exit_code(timeout=20)
    finally:
        await bot.kill()
    took = time.monotonic() - started
    assert code == 1, bot.stderr
    assert bot.stdout == ""
    return bot.stderr.splitlines(), took


def a_real_database(path) -> bytes:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 3000,) for _ in range(100)])
    db.commit()
    db.close()
    return path.read_bytes()


async def test_an_empty_setting_counts_as_unset(kie, tmp_path):
    env = env_for(kie, tmp_path, SLACK_BOT_TOKEN="", DISCORD_TOKEN="", SLACK_SIGNING_SECRET="")
    lines, _ = await fails_to_start(env, tmp_path, "run")
    assert lines == ["The bot cannot start: `run` needs DISCORD_TOKEN or SLACK_BOT_TOKEN (see README)."]


@pytest.mark.parametrize("damage", ["not a database", "truncated", "a directory"])
async def test_an_unusable_database_file(kie, tmp_path, damage):
    path = tmp_path / "bot.sqlite3"
    if damage == "not a database":
        path.write_bytes(b"these are not the bytes you are looking for\n" * 200)
        reason = "file is not a database"
    elif damage == "truncated":
        whole = a_real_database(path)
        path.write_bytes(whole[: len(whole) // 2])
        reason = "database disk image is malformed"
    else:
        path.mkdir()
        reason = "unable to open database file"

    lines, took = await fails_to_start(env_for(kie, tmp_path), tmp_path, "console")

    assert lines == [f"The bot cannot start: the database BOT_DB_PATH={path} cannot be used ({reason}). {DB_HINT}"]
    assert took < 10


async def test_a_wrong_discord_token(kie, tmp_path):
    discord = FakeDiscordApi()  # answers 401 to any other token than its own
    await discord.start()
    try:
        env = env_for(kie, tmp_path, DISCORD_TOKEN="not-" + p.BOT_TOKEN)
        lines, took = await fails_to_start(env, tmp_path, "run", discord=discord)
    finally:
        await discord.stop()
    assert lines == ["The bot cannot start: Discord rejected DISCORD_TOKEN. Copy the bot token again from the Developer Portal."]
    assert "not-" + p.BOT_TOKEN not in "".join(lines)
    assert took < 10


async def test_a_wrong_slack_token(kie, slack, tmp_path):
    env = env_for(kie, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.api_url)
    lines, took = await fails_to_start(env, tmp_path, "run")
    assert lines == ["The bot cannot start: Slack rejected SLACK_BOT_TOKEN: invalid_auth"]
    assert took < 10


async def test_a_busy_port(kie, slack, tmp_path):
    from tests.fakes.slack_api import BOT_TOKEN

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = env_for(kie, tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.api_url)
        env["PORT"] = str(port)
        lines, took = await fails_to_start(env, tmp_path, "run")
    assert lines == [f"The bot cannot start: port {port} is already in use. Stop the program using it or set PORT to a free port."]
    assert took < 10
