"""Mentions and DMs: threads as conversations, retried events, attachments, signatures."""

from __future__ import annotations

import base64
import time

from tests.fakes.kie import reply

from .conftest import CHANNEL

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def thread_replies(slack, channel: str, thread_ts: str):
    return sorted(slack.bot_messages(channel, thread_ts=thread_ts), key=lambda m: float(m.ts))


async def test_mention_replies_in_its_thread_and_the_thread_remembers(bot, slack, kie):
    kie.codex_replies.extend([reply("Paris."), reply("About 2.1 million.")])
    first = bot.send.mention("<@UBOT> what is the capital of France?")
    assert (await bot.send.event(bot.send.envelope(first))).status == 200
    await bot.settle(1)
    [answer] = thread_replies(slack, CHANNEL, first["ts"])
    assert answer.shown.startswith("Paris.")
    assert kie.codex_bodies[0]["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": "what is the capital of France?"}]}
    ]

    follow = bot.send.mention("<@UBOT> and its population?", thread_ts=first["ts"])
    await bot.send.event(bot.send.envelope(follow))
    await bot.settle(2)
    replies = thread_replies(slack, CHANNEL, first["ts"])
    assert [r.shown.split("\n")[0] for r in replies] == ["Paris.", "About 2.1 million."]
    history = kie.codex_bodies[1]["input"]
    assert [item["role"] for item in history] == ["user", "assistant", "user"]
    assert history[1]["content"] == "Paris."
    assert history[2]["content"][0]["text"] == "and its population?"


async def test_a_mention_in_a_codex_thread_continues_that_conversation(bot, slack, kie):
    kie.codex_replies.extend([reply("42."), reply("Because.")])
    await bot.send.command("what is the answer?")
    await bot.settle(1)
    [header] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]
    await bot.send.event(bot.send.envelope(bot.send.mention("<@UBOT> why?", thread_ts=header.ts)))
    await bot.settle(2)
    history = kie.codex_bodies[1]["input"]
    assert history[0]["content"][0]["text"] == "what is the answer?" and history[1]["content"] == "42."


async def test_a_retried_event_is_answered_once(bot, slack, kie):
    envelope = bot.send.envelope(bot.send.mention("<@UBOT> hello"), event_id="Ev0RETRY")
    assert (await bot.send.event(envelope)).status == 200
    assert (await bot.send.event(envelope, retry=1)).status == 200
    assert (await bot.send.event(envelope, retry=2)).status == 200
    await bot.settle(3)
    assert len(kie.codex_bodies) == 1
    assert len([m for m in slack.bot_messages(CHANNEL) if m.thread_ts]) == 1


async def test_dedupe_survives_a_restart(make_bot, slack, kie):
    first = await make_bot()
    envelope = first.send.envelope(first.send.mention("<@UBOT> hello"), event_id="Ev0AFTER")
    await first.send.event(envelope)
    await first.settle(1)
    await first.core.close()
    second = await make_bot()  # same database file
    await second.send.event(envelope, retry=1)
    await second.settle(1)
    assert len(kie.codex_bodies) == 1


async def test_dm_is_a_conversation_per_thread_without_recipient_fields(bot, slack, kie):
    kie.codex_replies.extend([reply("Hi there."), reply("Fresh start.")])
    ts = slack.user_message("D0DM", "hello")
    dm = {"type": "message", "channel_type": "im", "channel": "D0DM", "user": "U1", "text": "hello", "ts": ts}
    await bot.send.event(bot.send.envelope(dm))
    await bot.settle(1)
    [answer] = thread_replies(slack, "D0DM", ts)
    assert answer.shown.startswith("Hi there.")
    [start] = [p for m, p in slack.calls if m == "chat.startStream"]
    assert "recipient_user_id" not in start and "recipient_team_id" not in start
    # A new top-level DM is a new conversation: no history is sent.
    ts2 = slack.user_message("D0DM", "another topic")
    await bot.send.event(bot.send.envelope({**dm, "text": "another topic", "ts": ts2}))
    await bot.settle(2)
    assert len(kie.codex_bodies[1]["input"]) == 1


async def test_other_message_events_are_ignored(bot, slack, kie):
    base = {"type": "message", "channel_type": "im", "channel": "D0DM", "user": "U1", "text": "x", "ts": "1.1"}
    for event in (
        {**base, "subtype": "message_changed"},
        {**base, "bot_id": "B2"},
        {**base, "channel_type": "channel", "channel": CHANNEL},
    ):
        await bot.send.event(bot.send.envelope(event))
    await bot.settle(3)
    assert not kie.codex_bodies and not slack.bot_messages()


async def test_an_empty_mention_gets_a_hint(bot, slack, kie):
    event = bot.send.mention("<@UBOT>")
    await bot.send.event(bot.send.envelope(event))
    await bot.settle(1)
    [hint] = thread_replies(slack, CHANNEL, event["ts"])
    assert "Ask me something" in hint.text and not kie.codex_bodies


async def test_images_on_a_mention_are_downloaded_with_the_bot_token_and_sent_to_codex(bot, slack, kie):
    url = slack.private_file("diagram.png", PNG)
    files = [{"id": "F1", "name": "diagram.png", "mimetype": "image/png", "size": len(PNG), "url_private_download": url, "url_private": url}]
    event = bot.send.mention("<@UBOT> what is this?", files=files)
    await bot.send.event(bot.send.envelope(event))
    await bot.settle(1)
    [upload] = kie.uploads  # the private Slack file was fetched and handed to KIE's file host
    assert upload["fileSize"] == len(PNG)
    content = kie.codex_bodies[0]["input"][0]["content"]
    assert content[0] == {"type": "input_text", "text": "what is this?"}
    assert content[1]["type"] == "input_image" and content[1]["image_url"].startswith(kie.url)


async def test_a_file_slack_will_not_serve_is_skipped_with_a_note(bot, slack, kie):
    files = [{"id": "F1", "name": "x.png", "mimetype": "image/png", "size": 10, "url_private_download": f"{slack.url}/files-pri/F404/x.png"}]
    event = bot.send.mention("<@UBOT> look", files=files)
    await bot.send.event(bot.send.envelope(event))
    await bot.settle(1)
    [answer] = thread_replies(slack, CHANNEL, event["ts"])
    assert "Skipped x.png: it could not be downloaded." in answer.shown
    assert not kie.uploads


async def test_requests_with_a_bad_or_stale_signature_are_rejected(bot, slack, kie):
    body = bot.send.command_body("hello")
    forged = await bot.send.send(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    stale = await bot.send.send(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 600)
    wrong_secret = bot.send.__class__(bot.send.url, slack, secret="not-the-secret")
    try:
        other = await wrong_secret.command("hello")
    finally:
        await wrong_secret.close()
    assert (forged.status, stale.status, other.status) == (401, 401, 401)
    await bot.core.drain()
    assert bot.adapter.inbound.received == 0
    assert not slack.bot_messages() and not kie.codex_bodies
