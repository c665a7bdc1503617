"""A burst of commands on a cold start, against a fake Slack that enforces every method's tier."""

from __future__ import annotations

import asyncio
import time

from tests.fakes.kie import reply

CHANNELS = [f"C0BURST{n}" for n in range(10)]
FOOTER = "\n\n_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"


async def test_a_cold_start_burst_is_acked_in_time_and_every_reply_arrives_once(make_bot, slack, kie):
    slack.members.update(CHANNELS)
    bot = await make_bot()  # the adapter's own auth.test at start is the only one
    assert slack.count("auth.test") == 1
    commands = [(CHANNELS[n % len(CHANNELS)], f"question #{n:03d}") for n in range(24)]
    for _, prompt in commands:
        kie.codex_replies.append(reply(f"answer to {prompt}"))

    async def send(n: int, channel: str, prompt: str):
        body = bot.send.command_body(prompt, channel=channel, user=f"U{n}").replace(
            "trigger_id=13345224609", f"trigger_id=9{n:04d}"
        )
        started = time.monotonic()
        ack = await bot.send.send(body, "application/x-www-form-urlencoded")
        return ack, time.monotonic() - started

    acks = await asyncio.gather(*(send(n, channel, prompt) for n, (channel, prompt) in enumerate(commands)))
    assert all(ack.status == 200 and ack.body == "" for ack, _ in acks)  # no Bolt error text in any ack
    assert max(took for _, took in acks) < 3.0
    await bot.settle(len(commands))
    assert slack.count("auth.test") == 1  # Bolt did not call it once per request
    assert slack.rate_limited == 0, slack.rate_limited_by_method
    # KIE answers in the order requests reach it, so answers are compared as a whole:
    # under each command's message exactly one reply, and every answer shown once.
    shown = []
    for channel, prompt in commands:
        [header] = [m for m in slack.bot_messages(channel) if m.thread_ts is None and prompt in m.text]
        replies = slack.bot_messages(channel, thread_ts=header.ts)
        assert len(replies) == 1
        shown.append(replies[0].shown)
    assert sorted(shown) == sorted(f"answer to {prompt}{FOOTER}" for _, prompt in commands)
    # Tier 2 allows only a few streams at once: the rest took the post route instead of waiting.
    assert 0 < slack.count("chat.startStream") < len(commands)
