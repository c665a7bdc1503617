"""`/codex` and `/image` through the real Bolt app, signed, over HTTP, against fake Slack and KIE."""

from __future__ import annotations

import asyncio

from bot.model import Request
from tests.fakes.kie import DONE, CodexScript, completed, text_delta
from tests.fakes.slack_api import TEAM

from .conftest import CHANNEL

FOOTER = "\n\n_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"


def params_of(slack, method: str) -> list[dict]:
    return [p for m, p in slack.calls if m == method]


async def test_codex_acks_first_posts_visibly_and_streams_the_reply_natively_in_its_thread(bot, slack, kie):
    slack.gates["chat.postMessage"] = asyncio.Event()  # the bot cannot post before the test lets it
    kie.codex_replies.append(CodexScript([text_delta("Hello, ", 1), text_delta("world!", 2), completed(), DONE]))

    ack = await bot.send.command("--effort high how do I reverse a list?")
    # The ack came back while the visible post was still held: ack first, then I/O.
    assert ack.status == 200 and ack.body == ""
    assert slack.count("chat.postMessage") <= 1 and not slack.bot_messages()
    slack.gates.pop("chat.postMessage").set()
    await bot.settle(1)

    [header] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]
    assert header.text == "<@U1> asked /codex `--effort high`: how do I reverse a list?"
    [reply] = slack.bot_messages(CHANNEL, thread_ts=header.ts)
    assert reply.shown == "Hello, world!" + FOOTER
    assert reply.streaming == "stopped"
    [start] = params_of(slack, "chat.startStream")
    assert start["thread_ts"] == header.ts
    assert (start["recipient_user_id"], start["recipient_team_id"]) == ("U1", TEAM)
    assert not params_of(slack, "chat.update")
    # The thinking status showed before the first text and was cleared at the end.
    assert slack.statuses[0]["status"] == "is thinking…" and slack.statuses[-1]["status"] == ""
    assert slack.methods().index("assistant.threads.setStatus") < slack.methods().index("chat.startStream")
    # The Stop button went privately to the requester, in the thread.
    [stop] = slack.ephemeral
    assert stop["user"] == "U1" and stop["thread_ts"] == header.ts
    assert kie.codex_bodies[0]["reasoning"]["effort"] == "high"


async def test_a_bad_flag_is_answered_privately_in_the_ack_and_nothing_is_sent(bot, slack, kie):
    ack = await bot.send.command("--colour red a question")
    await bot.settle(1)
    assert ack.status == 200
    # A plain-text ack body is shown to the invoker only (an ephemeral answer).
    text = ack.body
    assert "Unknown option --colour" in text and "--effort" in text and "--web-search" in text
    assert not slack.bot_messages() and not kie.codex_bodies


async def test_a_bad_option_value_is_refused_privately_before_anything_is_posted(bot, slack, kie):
    ack = await bot.send.command("--effort ultra hi")
    await bot.settle(1)
    assert ack.status == 200
    assert "Unknown effort 'ultra'" in ack.body and "minimal, low, medium, high, xhigh" in ack.body
    assert not slack.bot_messages() and not kie.codex_bodies and not slack.responses


async def test_a_bad_image_option_is_refused_privately_before_anything_is_posted(bot, slack, kie):
    ack = await bot.send.command("--ratio 16:9 a fox", command="/image")
    await bot.settle(1)
    assert "Unknown aspect ratio '16:9'. Choose one of: 1:1, 2:3, 3:2." in ack.body
    assert not slack.bot_messages() and not kie.images.create_requests


async def test_a_replayed_slash_command_runs_once(bot, slack, kie):
    kie.codex_replies.extend(CodexScript([text_delta("once", 1), completed(), DONE]) for _ in range(6))
    body = bot.send.command_body("hello there")
    replies = [await bot.send.send(body, "application/x-www-form-urlencoded") for _ in range(6)]
    await bot.settle(6)
    assert {r.status for r in replies} == {200}
    assert len(kie.codex_bodies) == 1
    assert len([m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]) == 1


async def test_an_empty_prompt_gets_the_usage_privately(bot, slack):
    ack = await bot.send.command("   ", command="/image")
    await bot.settle(1)
    assert "Usage: /image" in ack.body
    assert not slack.bot_messages()


async def test_a_channel_the_bot_is_not_in_is_explained_through_the_response_url(bot, slack, kie):
    ack = await bot.send.command("hello", channel="C0OTHER")
    await bot.settle(1)
    assert ack.status == 200
    await slack.wait_for(lambda s: s.responses)
    [answer] = slack.responses
    assert answer["response_type"] == "ephemeral" and "/invite @codex" in answer["text"]
    assert not kie.codex_bodies


async def test_allowlists_refuse_other_channels_and_users_in_the_ack(make_bot, slack, kie):
    bot = await make_bot(slack_allowed_channels="C0ELSE", slack_allowed_users="U9")
    ack = await bot.send.command("hello")
    assert "SLACK_ALLOWED_CHANNELS" in ack.body
    bot2 = await make_bot(slack_allowed_channels=CHANNEL, slack_allowed_users="U9")
    ack = await bot2.send.command("hello")
    assert "SLACK_ALLOWED_USERS" in ack.body
    assert not slack.bot_messages() and not kie.codex_bodies


class Recorder:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    async def run(self, request: Request, out) -> None:
        self.requests.append(request)


async def test_image_command_becomes_an_image_request_in_the_thread_of_its_message(bot, slack):
    recorder = Recorder()
    bot.core.bot.register_handler("image", recorder)
    ack = await bot.send.command("--ratio 3:2 --quality high a lighthouse at dusk", command="/image")
    await bot.settle(1)
    assert ack.body == ""
    [header] = slack.bot_messages(CHANNEL)
    assert header.text == "<@U1> asked /image `--ratio 3:2 --quality high`: a lighthouse at dusk"
    [request] = recorder.requests
    assert request.command == "image" and request.prompt == "a lighthouse at dusk"
    assert dict(request.options) == {"ratio": "3:2", "quality": "high"}
    assert (request.where.channel_id, request.where.thread_id, request.where.team_id) == (CHANNEL, header.ts, TEAM)
    assert request.user.id == "U1" and request.attachments == ()


async def test_user_text_in_the_visible_message_cannot_ping(bot, slack, kie):
    # Slack sends what the user typed with its control syntax: <!channel>, <@U2>, &amp;.
    await bot.send.command("tell <!channel> and <@U2|bob> that 1 &lt; 2 &amp; 3 &gt; 2")
    await bot.settle(1)
    [header] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]
    assert "<!" not in header.text and "<@U2" not in header.text
    assert header.text.endswith("tell @channel and @bob that 1 &lt; 2 &amp; 3 &gt; 2")
    # The model gets the plain text.
    prompt = kie.codex_bodies[0]["input"][-1]["content"][0]["text"]
    assert prompt == "tell @channel and @bob that 1 < 2 & 3 > 2"
