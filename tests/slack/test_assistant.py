"""Slack's assistant surface against the fake Slack: greeting and suggested prompts, the
title from the first question, the thinking status, the streamed answer and memory."""

from __future__ import annotations

from adapters.slack.assistant import GREETING, SUGGESTED_PROMPTS, thread_title
from tests.fakes.kie import reply
from tests.fakes.slack_api import BOT_USER, TEAM

DM = "D0ASSIST"


def thread_started(thread_ts: str) -> dict:
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": "U1", "channel_id": DM, "thread_ts": thread_ts,
            "context": {"channel_id": "C0CHAN", "team_id": TEAM, "enterprise_id": None},
        },
        "event_ts": thread_ts,
    }


def user_message(slack, thread_ts: str, text: str) -> dict:
    ts = slack.user_message(DM, text, thread_ts=thread_ts)
    return {"type": "message", "channel_type": "im", "channel": DM, "user": "U1", "text": text, "ts": ts,
            "thread_ts": thread_ts, "event_ts": ts}


async def test_an_assistant_thread_is_greeted_titled_and_answered_with_memory(bot, slack, kie):
    thread_ts = slack.user_message(DM, "", user=BOT_USER)  # Slack opens the thread with the app's own root
    kie.codex_replies.extend([reply("Use reversed()."), reply("Or slicing: xs[::-1].")])

    await bot.send.event(bot.send.envelope(thread_started(thread_ts)))
    await bot.settle(1)
    greeting = [m for m in slack.bot_messages(DM, thread_ts) if m.ts != thread_ts]
    assert [m.shown for m in greeting] == [GREETING]
    assert slack.suggested_prompts == [{"channel": DM, "thread_ts": thread_ts, "prompts": SUGGESTED_PROMPTS}]

    await bot.send.event(bot.send.envelope(user_message(slack, thread_ts, "How do I reverse a list in Python?")))
    await bot.settle(2)
    assert slack.titles == [{"channel": DM, "thread_ts": thread_ts, "title": "How do I reverse a list in Python?"}]
    statuses = [s["status"] for s in slack.statuses if s["thread_ts"] == thread_ts]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""
    answers = [m for m in slack.bot_messages(DM, thread_ts) if m.shown.startswith("Use reversed().")]
    assert len(answers) == 1

    await bot.send.event(bot.send.envelope(user_message(slack, thread_ts, "Another way?")))
    await bot.settle(3)
    assert len(slack.titles) == 1  # only the first question names the thread
    assert [m["role"] for m in kie.codex_bodies[1]["input"]] == ["user", "assistant", "user"]
    assert any(m.shown.startswith("Or slicing") for m in slack.bot_messages(DM, thread_ts))


async def test_a_context_change_is_acknowledged_and_changes_nothing(bot, slack, kie):
    thread_ts = slack.user_message(DM, "", user=BOT_USER)
    event = {**thread_started(thread_ts), "type": "assistant_thread_context_changed"}
    answer = await bot.send.event(bot.send.envelope(event))
    await bot.settle(1)
    assert answer.status == 200
    assert not kie.codex_bodies and not slack.titles


def test_long_questions_make_short_titles():
    title = thread_title("why " * 50)
    assert len(title) == 80 and title.endswith("…")
