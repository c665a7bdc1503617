"""Mentions, threads, replies and DMs: which messages the bot answers, where, and with what memory."""

from __future__ import annotations

from adapters.discord import messages
from tests.fakes import discord_payloads as p
from tests.fakes.kie import reply

MENTION = f"<@{p.BOT_ID}>"
DM_CHANNEL = 900000000000000777


def _said(body: dict) -> list[tuple[str, str]]:
    """(role, text) of every turn KIE was sent."""
    turns = []
    for item in body["input"]:
        content = item["content"]
        text = content if isinstance(content, str) else " ".join(part.get("text", part.get("image_url", "")) for part in content)
        turns.append((item["role"], text))
    return turns


def _bot_message_in(api, channel_id: int) -> dict:
    return [m.data for m in api.messages.values() if m.data["channel_id"] == str(channel_id) and m.data["author"]["id"] == str(p.BOT_ID)][-1]


async def _mention(h, text: str, **kw) -> dict:
    data = h.api.add_message(p.message(content=f"{MENTION} {text}", mentions=[p.BOT_USER], **kw))
    await h.message(data)
    await h.settle()
    return data


async def test_a_mention_starts_a_thread_and_the_answer_streams_there(h):
    h.kie.codex_replies.append(reply("Use ", "reversed()."))

    asked = await _mention(h, "how do I reverse a list?")

    thread_id = int(asked["id"])  # a thread started from a message has that message's id
    (started,) = h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages/{asked['id']}/threads")
    assert started.json["name"] == "how do I reverse a list?"
    placeholder = h.api.of("POST", f"/channels/{thread_id}/messages")[0]
    assert placeholder.json["content"] == messages.THINKING
    answer = _bot_message_in(h.api, thread_id)["content"]
    assert answer.startswith("Use reversed().")
    assert _said(h.kie.codex_bodies[0]) == [("user", "how do I reverse a list?")]  # the mention is not part of it
    assert await h.core.conversations.exists(f"discord:thread:{thread_id}")


async def test_the_thread_continues_without_mentions_with_the_content_intent(make_harness):
    h = await make_harness(discord_message_content=True)
    h.kie.codex_replies.extend([reply("Use reversed()."), reply("It returns an iterator.")])
    asked = await _mention(h, "how do I reverse a list?")

    follow_up = h.api.add_message(p.message(channel_id=int(asked["id"]), content="what does it return?"))
    await h.message(follow_up)
    await h.settle()

    turns = _said(h.kie.codex_bodies[1])
    assert [t[0] for t in turns] == ["user", "assistant", "user"]
    assert turns[1][1].startswith("Use reversed().") and turns[2][1] == "what does it return?"
    assert _bot_message_in(h.api, int(asked["id"]))["content"].startswith("It returns an iterator.")


async def test_without_the_content_intent_an_unreadable_thread_message_gets_a_hint(h):
    h.kie.codex_replies.append(reply("Use reversed()."))
    asked = await _mention(h, "how do I reverse a list?")

    posts = lambda: len(h.api.of("POST", f"/channels/{asked['id']}/messages"))  # noqa: E731
    before = posts()
    pinned = p.message(channel_id=int(asked["id"]), content="", message_type=6)  # a system notice: no answer
    await h.message(h.api.add_message(pinned))
    assert posts() == before
    # Without the intent Discord sends messages that do not mention the bot with empty content.
    await h.message(h.api.add_message(p.message(channel_id=int(asked["id"]), content="")))
    await h.settle()

    assert _bot_message_in(h.api, int(asked["id"]))["content"] == messages.CANNOT_READ
    assert posts() == before + 1
    assert len(h.kie.codex_bodies) == 1


async def test_messages_not_for_the_bot_are_ignored(h):
    everyone = p.message(content="@everyone lunch?", mention_everyone=True)  # not a mention of the bot
    from_a_bot = p.message(content=f"{MENTION} hi", mentions=[p.BOT_USER], author=p.user(42, "otherbot", bot=True))
    chatter = p.message(content="just talking")
    for data in (everyone, from_a_bot, chatter):
        await h.message(h.api.add_message(data))
    await h.settle()

    assert not h.api.message_writes() and not h.kie.codex_bodies


async def test_a_reply_to_a_codex_answer_continues_that_conversation(h):
    h.kie.codex_replies.extend([reply("Paris."), reply("About 2.1 million.")])
    payload = await h.command("codex", {"prompt": "capital of France?"})
    await h.settle()
    answer = h.api.messages[h.original_id(payload)].data

    follow = h.api.add_message(p.message(content="and its population?", referenced=answer))
    await h.message(follow)
    await h.settle()

    turns = _said(h.kie.codex_bodies[1])
    assert turns[0] == ("user", "capital of France?") and turns[1][1].startswith("Paris.")
    assert turns[2] == ("user", "and its population?")
    posted = h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages")[0]
    assert int(posted.json["message_reference"]["message_id"]) == int(follow["id"])  # answered in place, as a reply
    assert _bot_message_in(h.api, p.CHANNEL_ID)["content"].startswith("About 2.1 million.")


async def test_a_reply_to_the_answer_of_a_reply_stays_in_the_conversation(h):
    h.kie.codex_replies.extend([reply("Paris."), reply("About 2.1 million."), reply("Yes.")])
    payload = await h.command("codex", {"prompt": "capital of France?"})
    await h.settle()
    await h.message(h.api.add_message(p.message(content="population?", referenced=h.api.messages[h.original_id(payload)].data)))
    await h.settle()
    second_answer = _bot_message_in(h.api, p.CHANNEL_ID)

    await h.message(h.api.add_message(p.message(content="is that the city proper?", referenced=second_answer)))
    await h.settle()

    assert [role for role, _ in _said(h.kie.codex_bodies[2])] == ["user", "assistant"] * 2 + ["user"]


async def test_each_dm_channel_is_one_conversation(h):
    h.kie.codex_replies.extend([reply("Hi Alice."), reply("You said hello.")])
    for text in ("hello", "what did I say?"):
        await h.message(h.api.add_message(p.message(channel_id=DM_CHANNEL, guild_id=None, content=text)))
        await h.settle()

    assert [t[1] for t in _said(h.kie.codex_bodies[1])][::2] == ["hello", "what did I say?"]
    assert await h.core.conversations.exists(f"discord:dm:{DM_CHANNEL}")


async def test_an_image_on_a_mention_goes_to_codex_as_input_image(h):
    url = h.api.cdn_file("chart.png", b"png-bytes")
    h.kie.codex_replies.append(reply("A bar chart."))

    await _mention(h, "what is this?", attachments=[p.attachment(url, filename="chart.png")])

    parts = h.kie.codex_bodies[0]["input"][0]["content"]
    assert {"type": "input_image", "image_url": url} in parts


async def test_where_no_thread_can_be_started_the_answer_comes_in_place(h):
    h.kie.codex_replies.append(reply("Here."))
    data = p.message(content=f"{MENTION} hello", mentions=[p.BOT_USER])
    h.api.threads[int(data["id"])] = {}  # Discord refuses: a thread already exists for it

    await h.message(h.api.add_message(data))
    await h.settle()

    posted = h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages")[0]
    assert int(posted.json["message_reference"]["message_id"]) == int(data["id"])
    assert _bot_message_in(h.api, p.CHANNEL_ID)["content"].startswith("Here.")


async def test_a_bare_mention_gets_a_hint(h):
    await _mention(h, "")
    assert _bot_message_in(h.api, p.CHANNEL_ID)["content"] == messages.EMPTY_MENTION.format(mention=MENTION)
    assert not h.kie.codex_bodies
