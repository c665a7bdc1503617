"""Model output cannot notify anyone on Slack: every path that carries it (posts, edits,
stream start, appends, stop, image captions) sends the mention syntax neutralised, and
the text stays readable. Through the real AsyncWebClient against the fake Slack."""

from __future__ import annotations

import json
import re


from adapters.slack.neutralise import ZWSP
from bot.ports import ImageFile

from .conftest import CHANNEL, thread

HOSTILE = "Hi <!channel>, <!here> and <!everyone>: ask <@U0ALICE> or <@U0BOB|bob> or <!subteam^S0ENG|@eng>. @here too."
READABLE = (f"Hi @{ZWSP}channel, @{ZWSP}here and @{ZWSP}everyone: ask @{ZWSP}U0ALICE or @{ZWSP}bob "
            f"or @{ZWSP}eng. @{ZWSP}here too.")
# What Slack would turn into a notification.
NOTIFIES = re.compile(r"<!(channel|here|everyone|subteam\^)|<@[UW]|(?<![\w\u200b])@(channel|here|everyone)\b")


def sent(slack, method: str) -> list[str]:
    """Every string a method was sent, blocks included."""
    return [json.dumps(params, ensure_ascii=False) for m, params in slack.calls if m == method]


def assert_silent(slack, method: str) -> None:
    calls = sent(slack, method)
    assert calls, f"{method} was not called"
    for body in calls:
        assert not NOTIFIES.search(body.replace("\\u200b", ZWSP)), f"{method} could notify: {body}"


async def test_a_post_and_an_edit_carry_no_mentions(out, slack):
    where = thread(slack)
    ref = await out.post(where, HOSTILE)
    [message] = slack.bot_messages(CHANNEL, thread_ts=where.thread_id)
    assert message.shown == READABLE
    assert_silent(slack, "chat.postMessage")
    await out.edit(ref, "Edited: " + HOSTILE)
    assert message.shown == "Edited: " + READABLE
    assert_silent(slack, "chat.update")


async def test_a_native_stream_carries_no_mentions_even_split_across_appends(out, slack):
    where = thread(slack)
    stream = await out.start_stream(where, text="Start <!here> ", recipient="U1")
    await stream.append("then <!chan")  # a mention cut between two appends
    await stream.append("nel> and <@U0ALI")
    await stream.append("CE> @ev")
    await stream.stop(text="eryone " + HOSTILE)
    [message] = slack.bot_messages(CHANNEL, thread_ts=where.thread_id)
    assert message.shown == (f"Start @{ZWSP}here then @{ZWSP}channel and @{ZWSP}U0ALICE @{ZWSP}everyone " + READABLE)
    for method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
        assert_silent(slack, method)


async def test_an_image_caption_carries_no_mentions(out, slack):
    where = thread(slack)
    await out.post_images(where, [ImageFile(filename="a.png", content_type="image/png", data=b"\x89PNG")], HOSTILE)
    assert_silent(slack, "files.completeUploadExternal")
