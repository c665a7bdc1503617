"""Streaming on Slack: native streams, the post-and-edit fallback, splitting, escaping, Stop."""

from __future__ import annotations

import pytest

from bot.render.split import open_fence
from tests.fakes.kie import DONE, CodexScript, Gate, completed, text_delta

from .conftest import CHANNEL

FOOTER = "\n\n_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"


def script(*steps) -> CodexScript:
    return CodexScript([*steps, completed(), DONE])


def header_and_replies(slack):
    [header] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]
    replies = sorted(slack.bot_messages(CHANNEL, thread_ts=header.ts), key=lambda m: float(m.ts))
    return header, replies


@pytest.mark.parametrize("code", ["feature_disabled", "not_allowed_token_type"])
async def test_refused_stream_falls_back_to_post_and_edit(bot, slack, kie, code):
    slack.refuse_streams = code
    kie.codex_replies.append(script(text_delta("Hello, ", 1), text_delta("world!", 2)))
    await bot.send.command("hi")
    await bot.settle(1)
    _, [reply] = header_and_replies(slack)
    assert reply.shown == "Hello, world!" + FOOTER
    assert reply.streaming is None and not reply.buttons()  # a normal message; Stop removed at the end
    assert slack.count("chat.startStream") == 1 and slack.count("chat.postMessage") == 2


async def test_a_workspace_that_refused_streaming_is_not_asked_again(bot, slack, kie):
    slack.refuse_streams = "feature_disabled"
    kie.codex_replies.extend([script(text_delta("one", 1)), script(text_delta("two", 1))])
    await bot.send.command("first")
    await bot.settle(1)
    await bot.send.command("second")
    await bot.settle(2)
    assert slack.count("chat.startStream") == 1
    assert sorted(m.shown.split("\n")[0] for m in slack.bot_messages(CHANNEL) if m.thread_ts) == ["one", "two"]


async def test_an_expired_stream_does_not_turn_streaming_off(bot, slack, kie):
    gate = Gate()
    kie.codex_replies.extend([script(text_delta("a ", 1), gate, text_delta("b", 2)), script(text_delta("c", 1))])
    await bot.send.command("first")
    await slack.wait_for(lambda s: any(m.shown == "a " for m in s.bot_messages()))
    slack.expire_streams()
    gate.open()
    await bot.settle(1)
    await bot.send.command("second")
    await bot.settle(2)
    assert slack.count("chat.startStream") == 2


async def test_missing_recipient_falls_back_without_losing_text(bot, slack, kie):
    """An event without a team id cannot name the recipient's team: Slack refuses the
    stream in a channel, and the reply still arrives whole."""
    kie.codex_replies.append(script(text_delta("Only ", 1), text_delta("once.", 2)))
    await bot.send.event(bot.send.envelope(bot.send.mention("<@UBOT> hi", team=None), team=None))
    await bot.settle(1)
    [start] = [p for m, p in slack.calls if m == "chat.startStream"]
    assert "recipient_team_id" not in start
    [reply] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts]
    assert reply.shown == "Only once." + FOOTER


async def test_stream_expiry_mid_reply_is_finished_by_editing_the_same_message(bot, slack, kie):
    gate = Gate()
    kie.codex_replies.append(script(text_delta("First part. ", 1), gate, text_delta("Second part.", 2)))
    await bot.send.command("hi")
    await slack.wait_for(lambda s: any(m.shown == "First part. " for m in s.bot_messages()))
    slack.expire_streams()  # Slack's server-side stream timeout
    gate.open()
    await bot.settle(1)
    _, [reply] = header_and_replies(slack)
    assert reply.shown == "First part. Second part." + FOOTER
    assert slack.count("chat.update") >= 1
    assert [p["ts"] for m, p in slack.calls if m == "chat.update"] == [reply.ts] * slack.count("chat.update")


async def test_long_native_reply_continues_in_new_messages_with_fences_balanced(bot, slack, kie):
    lines = [f"line {i:05d} " + "x" * 40 for i in range(600)]  # ~30,000 characters
    code = "Intro.\n```python\n" + "\n".join(lines) + "\n```\nDone."
    kie.codex_replies.append(script(*[text_delta(code[i : i + 4000], n) for n, i in enumerate(range(0, len(code), 4000))]))
    await bot.send.command("long")
    await bot.settle(1)
    _, replies = header_and_replies(slack)
    assert len(replies) == 3
    for reply in replies:
        assert len(reply.shown) <= 12_000 and reply.streaming == "stopped"
        assert open_fence(reply.shown) is None
    assert replies[1].shown.startswith("```python\n")
    got = [line for r in replies for line in r.shown.splitlines() if line.startswith("line ")]
    assert got == lines
    assert replies[-1].shown.endswith("Done." + FOOTER)


async def test_long_reply_in_fallback_mode_is_split_too(bot, slack, kie):
    slack.refuse_streams = "feature_disabled"
    words = [f"w{i:05d}" for i in range(3000)]  # 20,999 characters
    text = " ".join(words)
    kie.codex_replies.append(script(text_delta(text, 1)))
    await bot.send.command("long")
    await bot.settle(1)
    _, replies = header_and_replies(slack)
    assert len(replies) == 2
    assert all(len(r.shown) <= 12_000 for r in replies)
    assert " ".join(r.shown for r in replies).split()[: len(words)] == words


async def test_model_output_is_sent_as_markdown_and_its_text_fallback_is_escaped(bot, slack, kie):
    slack.refuse_streams = "feature_disabled"
    nasty = "**Hi** <!channel> <!here> <@U2> <https://evil|click> & done"
    kie.codex_replies.append(script(text_delta(nasty, 1)))
    await bot.send.command("hi")
    await bot.settle(1)
    _, [reply] = header_and_replies(slack)
    # Mentions are neutralised (readable, notifying no one); the rest of the Markdown is kept.
    safe = "**Hi** @\u200bchannel @\u200bhere @\u200bU2 <https://evil|click> & done"
    assert reply.blocks[0] == {"type": "markdown", "text": safe + FOOTER}
    for method in ("chat.postMessage", "chat.update"):
        for params in [p for m, p in slack.calls if m == method and p.get("thread_ts", p.get("ts"))]:
            assert "<!" not in params["text"] and "<@" not in params["text"] and "<http" not in params["text"]
    assert reply.text.startswith("**Hi** @\u200bchannel @\u200bhere @\u200bU2 &lt;https://evil|click&gt; &amp; done")


async def test_native_stream_sends_markdown_text_only(bot, slack, kie):
    kie.codex_replies.append(script(text_delta("**bold** <!here>", 1)))
    await bot.send.command("hi")
    await bot.settle(1)
    for method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
        for params in [p for m, p in slack.calls if m == method]:
            assert "text" not in params and "blocks" not in params
    _, [reply] = header_and_replies(slack)
    assert reply.shown == "**bold** @\u200bhere" + FOOTER


async def test_stop_button_on_an_edited_reply_is_for_the_requester_only(bot, slack, kie):
    slack.refuse_streams = "feature_disabled"
    gate = Gate()
    kie.codex_replies.append(CodexScript([text_delta("Thinking out loud", 1), gate]))
    await bot.send.command("hi")
    await slack.wait_for(lambda s: any(m.buttons() for m in s.bot_messages()))
    [message] = [m for m in slack.bot_messages() if m.buttons()]
    stop_id = message.buttons()[0]["value"]

    other = await bot.send.action(stop_id, user="U2", message_ts=message.ts)
    assert other.status == 200
    await slack.wait_for(lambda s: len(s.responses) == 1)
    assert slack.responses[0]["text"] == "Only the person who asked can stop this reply."
    assert slack.responses[0]["response_type"] == "ephemeral" and slack.responses[0]["replace_original"] is False

    await bot.send.action(stop_id, user="U1", message_ts=message.ts)
    await bot.settle(3)
    assert slack.responses[1]["text"] == "Stopping."
    assert message.shown == "Thinking out loud\n\n⏹️ Stopped by request."
    assert not message.buttons()
    gate.open()


async def test_stop_button_beside_a_native_stream_replaces_itself_with_the_answer(bot, slack, kie):
    gate = Gate()
    kie.codex_replies.append(CodexScript([text_delta("Streaming", 1), gate]))
    await bot.send.command("hi")
    await slack.wait_for(lambda s: s.ephemeral)
    blocks = slack.ephemeral[0]["blocks"]
    stop_id = [e for b in blocks if b["type"] == "actions" for e in b["elements"]][0]["value"]
    await bot.send.action(stop_id, user="U1", ephemeral=True)
    await bot.settle(2)
    assert slack.responses[-1]["replace_original"] is True and slack.responses[-1]["text"] == "Stopping."
    _, [reply] = header_and_replies(slack)
    assert reply.shown == "Streaming\n\n⏹️ Stopped by request." and reply.streaming == "stopped"
    gate.open()
