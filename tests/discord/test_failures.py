"""When Discord says no: an expired token, a deleted message, a missing permission, 429s.

The reply is finished through the bot token where it can be, the user is told what they
can act on, the error is logged (without any token), and the bot keeps working.
"""

from __future__ import annotations

import datetime
import logging

import discord
import pytest

from adapters.discord import messages
from bot.errors import AdapterError
from bot.model import MessageRef
from tests.fakes import discord_payloads as p
from tests.fakes.kie import CodexScript, Gate, completed, reply, text_delta, DONE

CHANNEL_MESSAGES = f"/channels/{p.CHANNEL_ID}/messages"


async def _halfway(h, *, tail: str = " and the rest.") -> tuple[dict, Gate]:
    """A /codex reply that has shown its first words and waits for the gate to go on."""
    gate = Gate()
    h.kie.codex_replies.append(CodexScript([text_delta("First words", 1), gate, text_delta(tail, 2), completed(), DONE]))
    payload = await h.command("codex", {"prompt": "go"})
    await h.api.wait_for(lambda api: len(h.original_edits(payload)) >= 1)
    return payload, gate


async def test_a_token_that_stops_working_hands_over_to_the_channel_message(h):
    payload, gate = await _halfway(h)
    h.api.expire(payload)  # Discord now answers 401 "Invalid Webhook Token"
    gate.open()
    await h.settle()

    original = h.original_id(payload)
    refused = [c for c in h.api.calls if payload["token"] in c.path and c.status == 401]
    assert len(refused) == 1  # tried once, never again (401s count toward Discord's ban)
    channel_edits = h.api.of("PATCH", f"{CHANNEL_MESSAGES}/{original}")
    assert channel_edits and channel_edits[-1].json["content"].startswith("First words and the rest.")
    assert channel_edits[-1].json["allowed_mentions"] == {"parse": []}
    assert h.api.text_of(original) == channel_edits[-1].json["content"]


async def test_work_that_outlives_the_token_uses_the_channel_without_trying_the_token(h):
    payload, gate = await _halfway(h)
    later = discord.utils.utcnow() + datetime.timedelta(minutes=15)
    h.adapter.out._now = lambda: later  # the 15 minutes have passed
    gate.open()
    await h.settle()

    assert not [c for c in h.api.calls if payload["token"] in c.path and c.status >= 400]
    assert len(h.original_edits(payload)) == 1
    final = h.api.of("PATCH", f"{CHANNEL_MESSAGES}/{h.original_id(payload)}")[-1]
    assert final.json["content"].startswith("First words and the rest.")


async def test_a_deleted_reply_is_posted_again_and_followed(h, caplog):
    payload, gate = await _halfway(h, tail=" and more." * 3)
    h.api.delete_message(h.original_id(payload))
    gate.open()
    await h.settle()

    reposts = h.api.of("POST", CHANNEL_MESSAGES)
    assert len(reposts) == 1
    new_id = max(h.api.messages)  # the newest message is the re-post
    assert h.api.text_of(new_id).startswith("First words and more. and more. and more.")
    assert "is gone; posting the reply anew" in caplog.text


async def test_a_missing_permission_is_logged_told_and_survived(h, caplog):
    caplog.set_level(logging.INFO)
    h.api.denied.add(p.CHANNEL_ID)  # the bot may not post in the channel (403, code 50013)
    long = "word " * 600  # needs a second message, which must be posted in the channel
    h.kie.codex_replies.append(reply(long[:1000], long[1000:]))

    payload = await h.command("codex", {"prompt": "a long answer"})
    await h.settle()

    # The channel refuses the continuation and the note alike, so the note ends the
    # reply the user already sees (trimmed to make room), and the text is kept.
    told = h.original_edits(payload)[-1].json["content"]
    assert told.startswith("word word") and len(told) <= 2000
    assert told.endswith("word\n\n" + messages.MISSING_PERMISSIONS.format(action="post my reply"))
    assert "Discord refused to post my reply: HTTP 403, code 50013" in caplog.text
    assert payload["token"] not in caplog.text and p.BOT_TOKEN not in caplog.text

    h.api.denied.clear()  # the bot is still running and answers the next request
    h.kie.codex_replies.append(reply("Fine again."))
    second = await h.command("codex", {"prompt": "still there?"})
    await h.settle()
    assert h.original_edits(second)[-1].json["content"].startswith("Fine again.")


async def test_a_429_is_waited_out_and_retried(h):
    h.api.scripted_429[("POST", CHANNEL_MESSAGES)] = 1
    long = "word " * 600
    h.kie.codex_replies.append(reply(long[:1000], long[1000:]))

    await h.command("codex", {"prompt": "a long answer"})
    await h.settle()

    statuses = [c.status for c in h.api.calls if c.method == "POST" and c.path == CHANNEL_MESSAGES]
    assert statuses == [429, 200]
    posted = h.api.of("POST", CHANNEL_MESSAGES)[0].json["content"]
    assert posted.startswith("word word") and posted.rstrip().endswith("credits_")


async def test_429s_that_do_not_end_are_told_to_the_user(h):
    h.api.scripted_429[("POST", CHANNEL_MESSAGES)] = 50
    long = "word " * 600
    h.kie.codex_replies.append(reply(long[:1000], long[1000:]))

    payload = await h.command("codex", {"prompt": "a long answer"})
    await h.settle()

    # The text already shown stays; the continuation and then the note saying why it
    # stopped are each tried through discord.py's 5 retries, and the channel refuses both.
    shown = h.original_edits(payload)[-1].json["content"]
    assert shown.startswith("word word") and len(shown) <= 2000
    assert shown.endswith("word\n\n" + messages.RATE_LIMITED)
    assert len([c for c in h.api.calls if c.status == 429]) == 10


async def test_a_rate_limit_longer_than_30_s_fails_fast_with_its_wait(h):
    message = h.api.add_message(p.message(author=p.BOT_USER, content="old text"))
    h.api.scripted_429[("PATCH", CHANNEL_MESSAGES)] = 1
    h.api.scripted_retry_after = 60.0  # over max_ratelimit_timeout: discord.py must not sleep it out

    with pytest.raises(AdapterError) as raised:
        await h.adapter.out.edit(MessageRef(platform="discord", key=f"{p.CHANNEL_ID}:{message['id']}"), "new text")

    assert raised.value.user_message == messages.RATE_LIMITED and raised.value.retry_after == 60.0
    assert h.api.text_of(int(message["id"])) == "old text"
