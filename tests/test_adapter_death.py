"""An adapter that cannot run ends the process (exit 1, one line saying why) so the host
restarts it, instead of leaving a process that looks healthy and serves no one."""

from __future__ import annotations

import asyncio
import time


from bot.tasks import TaskRunner
from tests.bot_process import env_for, launch
from tests.fakes import discord_payloads as p


async def test_the_gateway_closing_with_4004_ends_the_process(kie, tmp_path, discord):
    api, gateway = discord
    bot = await launch(env_for(kie, tmp_path, DISCORD_TOKEN=p.BOT_TOKEN), tmp_path, "run", discord=api, gateway=gateway)
    try:
        await bot.wait_for("stderr", r"running: discord")
        closed = time.monotonic()
        await gateway.close_with(4004)  # Discord: "Authentication failed" (the token was reset)
        code = await bot.exit_code(timeout=10)
        took = time.monotonic() - closed
    finally:
        await bot.kill()
    print(f"gateway 4004 -> exit {code}: {took:.2f} s")
    assert code == 1
    assert bot.stderr.splitlines()[-1] == (
        "The bot stopped: discord:gateway: Discord rejected DISCORD_TOKEN on the gateway (close code 4004). "
        "Copy the bot token again from the Developer Portal."
    )
    assert "Traceback" not in bot.stderr
    assert p.BOT_TOKEN not in bot.stderr
    assert took < 5


async def test_a_gateway_refused_at_start_is_a_start_up_failure(kie, tmp_path, discord):
    api, gateway = discord
    env = env_for(kie, tmp_path, DISCORD_TOKEN=p.BOT_TOKEN, DISCORD_MESSAGE_CONTENT="true")  # 4014: not allowed
    bot = await launch(env, tmp_path, "run", discord=api, gateway=gateway)
    try:
        code = await bot.exit_code(timeout=20)
    finally:
        await bot.kill()
    assert code == 1
    assert bot.stderr.splitlines() == [
        "The bot cannot start: Discord refused the message content intent. Either enable MESSAGE CONTENT INTENT for "
        "the bot in the Developer Portal (Bot page), or set DISCORD_MESSAGE_CONTENT=false."
    ]


async def test_a_failed_daemon_is_reported_and_a_failed_task_is_not():
    runner = TaskRunner()
    broken = RuntimeError("the socket closed")

    async def fail() -> None:
        raise broken

    await asyncio.gather(runner.spawn(fail(), name="reply"), return_exceptions=True)
    assert not runner.daemon_failed.is_set()  # one reply failing is the user's business, not fatal

    await asyncio.gather(runner.spawn(fail(), name="slack:socket", daemon=True), return_exceptions=True)
    assert runner.daemon_failed.is_set()
    assert runner.daemon_failure == ("slack:socket", broken)
