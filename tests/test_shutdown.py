"""SIGTERM in the middle of a reply, on every platform, with real `python -m bot` processes.

The reply in flight ends at once with a final edit: its text so far and a note that the
bot is restarting, the controls removed (Slack: the stream stopped), and the partial turn
stored so the conversation goes on after the restart. Hosts allow 30 s; we want 5.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time


from bot import messages
from tests.bot_process import BotProcess, env_for, launch
from tests.fakes import discord_payloads as p
from tests.fakes.kie import CodexScript, Stall, reply, text_delta
from tests.fakes.slack_api import BOT_TOKEN as SLACK_TOKEN
from tests.slack.conftest import CHANNEL, SECRET, SlackSender

NOTE = messages.REPLY_RESTARTING
PARTIAL = "Once upon a time, "
LATENCY_LIMIT_S = 5.0


def story_that_never_ends(kie) -> None:
    kie.codex_replies.append(CodexScript([text_delta(PARTIAL), Stall()]))


def stored_turns(tmp_path) -> list[tuple[str, str]]:
    db = sqlite3.connect(tmp_path / "bot.sqlite3")
    try:
        rows = db.execute("SELECT role, content FROM conversation_turns ORDER BY seq").fetchall()
    finally:
        db.close()
    return [(role, "".join(part["text"] for part in json.loads(content))) for role, content in rows]


async def stop_and_time(bot: BotProcess, final_edit_seen) -> float:
    """SIGTERM; returns the seconds until `final_edit_seen()` completes."""
    sent = bot.terminate()
    await final_edit_seen()
    latency = time.monotonic() - sent
    print(f"SIGTERM -> final edit: {latency * 1000:.0f} ms")
    return latency


async def test_console(kie, tmp_path):
    story_that_never_ends(kie)
    bot = await launch(env_for(kie, tmp_path), tmp_path, "console")
    try:
        await bot.send_line("Tell me a story")
        await bot.wait_for("stdout", PARTIAL)

        latency = await stop_and_time(bot, lambda: bot.wait_for("stdout", NOTE))

        assert await bot.exit_code() == 0, bot.stderr
    finally:
        await bot.kill()
    assert latency < LATENCY_LIMIT_S
    assert bot.stdout == f"{PARTIAL}\n\n{NOTE}\n"
    assert "Traceback" not in bot.stderr

    # After the restart the conversation goes on from the partial reply.
    kie.codex_replies.append(reply("there was a bot."))
    again = await launch(env_for(kie, tmp_path), tmp_path, "console")
    try:
        await again.send_line("Go on")
        again.process.stdin.close()
        assert await again.exit_code() == 0
    finally:
        await again.kill()
    assert kie.codex_bodies[1]["input"][:2] == [
        {"role": "user", "content": [{"type": "input_text", "text": "Tell me a story"}]},
        {"role": "assistant", "content": f"{PARTIAL}\n\n{NOTE}"},
    ]


async def test_discord(kie, tmp_path, discord):
    api, gateway = discord
    story_that_never_ends(kie)
    bot = await launch(env_for(kie, tmp_path, DISCORD_TOKEN=p.BOT_TOKEN), tmp_path, "run", discord=api, gateway=gateway)
    try:
        await bot.wait_for("stderr", r"running: discord")
        command = api.register_interaction(p.slash_command("codex", {"prompt": "Tell me a story"}))
        await gateway.dispatch("INTERACTION_CREATE", command)
        edits = f"/webhooks/{p.APP_ID}/{command['token']}/messages/@original"
        await api.wait_for(lambda api: any(
            PARTIAL in (c.json or {}).get("content", "") and (c.json or {}).get("components") for c in api.of("PATCH", edits)
        ), timeout=15)

        final = lambda api: any((c.json or {}).get("components") == [] for c in api.of("PATCH", edits))  # noqa: E731
        latency = await stop_and_time(bot, lambda: api.wait_for(final, timeout=15))

        assert await bot.exit_code() == 0, bot.stderr
    finally:
        await bot.kill()
    assert latency < LATENCY_LIMIT_S
    last = api.of("PATCH", edits)[-1].json
    assert last["content"] == f"{PARTIAL}\n\n{NOTE}"
    assert last["components"] == []
    assert stored_turns(tmp_path) == [("user", "Tell me a story"), ("assistant", f"{PARTIAL}\n\n{NOTE}")]
    await gateway.closed.wait()  # it disconnected, after the final edit


async def test_slack_native_stream(kie, tmp_path, slack):
    story_that_never_ends(kie)
    env = env_for(kie, tmp_path, SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url)
    bot = await launch(env, tmp_path, "run")
    try:
        port = (await bot.wait_for("stderr", r"web server on port (\d+)")).group(1)
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", slack)
        try:
            event = sender.mention("<@UBOT> tell me a story")
            assert (await sender.event(sender.envelope(event))).status == 200
        finally:
            await sender.close()

        def streamed(state: str):
            return lambda s: any(m.streaming == state and PARTIAL in m.shown for m in s.bot_messages(CHANNEL))

        await slack.wait_for(streamed("open"), timeout=15)
        latency = await stop_and_time(bot, lambda: slack.wait_for(streamed("stopped"), timeout=15))

        assert await bot.exit_code() == 0, bot.stderr
    finally:
        await bot.kill()
    assert latency < LATENCY_LIMIT_S
    [message] = slack.bot_messages(CHANNEL, thread_ts=event["ts"])
    assert message.shown == f"{PARTIAL}\n\n{NOTE}"
    assert message.streaming == "stopped"
    assert stored_turns(tmp_path)[-1] == ("assistant", f"{PARTIAL}\n\n{NOTE}")



# -- the same, in process: the reply path itself ----------------------------------------

async def test_a_reply_ends_with_the_note_and_keeps_its_text_when_shutdown_begins(core, kie):
    from bot.model import Destination, Request, User
    from tests.fakes.outbound import RecordingOutbound

    out = RecordingOutbound()
    core.bot.register_outbound("fake", out)
    story_that_never_ends(kie)
    where, user = Destination(platform="fake", channel_id="c"), User(id="u", name="U")
    task = await core.bot.handle(Request(command="chat", prompt="story", user=user, where=where, conversation_key="k"))
    await out.wait_for(lambda o: any(PARTIAL in c.text for c in o.of_kind("post", "edit")))

    core.bot.begin_shutdown()
    await asyncio.wait_for(task, 5)

    final = out.of_kind("post", "edit")[-1]
    assert (final.text, final.controls) == (f"{PARTIAL}\n\n{NOTE}", None)

    # A request that arrives while the bot shuts down is answered at once, without KIE.
    late = await core.bot.handle(Request(command="codex", prompt="one more", user=user, where=where))
    await asyncio.wait_for(late, 5)
    assert out.of_kind("post", "edit")[-1].text == NOTE
    assert len(kie.codex_bodies) == 1
