"""SlackOutbound against the fake Web API with the real AsyncWebClient: uploads, refs
that outlive a restart, status, rate limits, and errors a user can act on."""

from __future__ import annotations

import pytest

from adapters.slack.app import web_client
from adapters.slack.outbound import SlackOutbound, slack_capabilities
from bot.errors import AdapterError, StreamRefused
from bot.model import Destination, MessageRef
from bot.ports import ImageFile, NativeStreaming, Outbound

from .conftest import CHANNEL, thread


async def test_it_implements_the_core_protocols(out):
    assert isinstance(out, Outbound) and isinstance(out, NativeStreaming)
    caps = slack_capabilities()
    assert caps.max_chars == 12_000 and caps.native_stream
    c1, c2 = (Destination(platform="slack", channel_id=c, team_id="T1") for c in ("C1", "C2"))
    ref = MessageRef(platform="slack", key="C1:1.0")
    # Edits share the workspace's chat.update budget (Tier 3: 50 a minute, small bursts)...
    assert out.write_pace(c1, ref) == out.write_pace(c2, ref)
    assert out.write_pace(c1, ref).budget[0] <= 50 and out.write_pace(c1, ref).burst is not None
    # ...posts the channel's chat.postMessage budget (about one a second)...
    assert out.write_pace(c1, None) != out.write_pace(c2, None)
    count, period = out.write_pace(c1, None).budget
    assert count / period <= 1.0
    # ...and the stream calls their own tiers: start and stop Tier 2, append Tier 4.
    assert out.stream_pace(c1, "start").budget[0] <= 20 and out.stream_pace(c1, "stop").budget[0] <= 20
    assert out.stream_pace(c1, "append").budget[0] <= 100
    assert len({out.stream_pace(c1, call).scope for call in ("start", "append", "stop")}) == 3


async def test_images_are_uploaded_into_the_thread_with_an_escaped_caption(out, slack):
    where = thread(slack)
    files = [ImageFile(filename="lighthouse-1.png", content_type="image/png", data=b"\x89PNG one"),
             ImageFile(filename="lighthouse-2.png", content_type="image/png", data=b"\x89PNG two!")]
    ref = await out.post_images(where, files, "A lighthouse <!channel> & sea")
    assert slack.methods() == ["files.getUploadURLExternal", "files.getUploadURLExternal", "files.completeUploadExternal"]
    [shared] = [m for m in slack.bot_messages(CHANNEL, thread_ts=where.thread_id) if m.files]
    assert [f["data"] for f in shared.files] == [b"\x89PNG one", b"\x89PNG two!"]
    assert [f["name"] for f in shared.files] == ["lighthouse-1.png", "lighthouse-2.png"]
    assert shared.text == "A lighthouse @\u200bchannel &amp; sea"
    assert ref.key.startswith(f"{CHANNEL}:files:")


async def test_a_message_ref_alone_is_enough_to_edit_after_a_restart(out, slack, slack_settings):
    ref = await out.post(thread(slack), "before")
    fresh = SlackOutbound(web_client(slack_settings()))  # a new process: only the key survived
    await fresh.edit(MessageRef(platform="slack", key=ref.key), "after")
    channel, ts = ref.key.split(":")
    assert slack.messages[(channel, ts)].shown == "after"


async def test_status_goes_to_the_thread_and_failures_do_not_break_the_reply(out, slack):
    where = thread(slack)
    await out.status(where, "is thinking…")
    assert slack.statuses == [{"channel": CHANNEL, "thread_ts": where.thread_id, "status": "is thinking…"}]
    await out.status(Destination(platform="slack", channel_id="C0NOTIN", thread_id="1.1"), "x")  # refused, logged
    await out.status(Destination(platform="slack", channel_id=CHANNEL), "x")  # no thread: nothing to do
    assert len(slack.statuses) == 1


async def test_a_429_is_retried_after_retry_after(out, slack):
    slack.retry_after = 0
    where = thread(slack)
    await out.post(where, "one")
    slack.throttle_next["chat.postMessage"] = 1
    await out.post(where, "two")  # 429 first, then retried by AsyncRateLimitErrorRetryHandler
    assert slack.rate_limited == 1 and slack.count("chat.postMessage") == 3
    assert [m.shown for m in slack.bot_messages(CHANNEL)] == ["one", "two"]


async def test_errors_carry_what_the_user_can_do_and_no_secret(out, slack):
    with pytest.raises(AdapterError) as caught:
        await out.post(Destination(platform="slack", channel_id="C0NOTIN"), "hello")
    assert "not_in_channel" in str(caught.value)
    assert "/invite" in caught.value.user_message
    assert "xoxb" not in str(caught.value) and "xoxb" not in caught.value.user_message


async def test_stream_calls_refused_by_slack_raise_stream_refused(out, slack):
    where = thread(slack)
    stream = await out.start_stream(where, text="a", recipient="U1")
    slack.expire_streams()
    with pytest.raises(StreamRefused) as caught:
        await stream.append("b")
    assert caught.value.code == "message_not_in_streaming_state"
    with pytest.raises(StreamRefused):
        await out.start_stream(Destination(platform="slack", channel_id=CHANNEL), text="a", recipient="U1")
