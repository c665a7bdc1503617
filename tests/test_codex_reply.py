"""A /codex request or chat turn through the whole core, against the fake KIE."""

from __future__ import annotations

import asyncio

import pytest

from bot import messages
from bot.errors import AdapterError
from bot.model import Attachment, Destination, MessageRef, Request, User
from bot.ports import Capabilities
from bot.runtime import Core
from tests.fakes.kie import CodexScript, Cut, Gate, envelope, reply, text_delta
from tests.fakes.outbound import RecordingOutbound

WHERE = Destination(platform="fake", channel_id="c1")
ALICE = User(id="alice", name="Alice")
FOOTER = "_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"


@pytest.fixture
def out(core):
    fake = RecordingOutbound(capabilities=Capabilities(max_chars=2000, min_edit_interval=0.01))
    core.bot.register_outbound("fake", fake)
    return fake


def codex(prompt="hi", **kw) -> Request:
    return Request(command="codex", prompt=prompt, user=ALICE, where=WHERE, **kw)


async def run(core: Core, request: Request) -> None:
    task = await core.bot.handle(request)
    await task


def final_texts(out: RecordingOutbound) -> list[str]:
    return [text for key, text in out.texts.items()]


async def test_reply_with_footer(core, kie, out):
    kie.codex_replies.append(reply("Hello", " there"))
    await run(core, codex())
    assert final_texts(out) == ["Hello there\n\n" + FOOTER]
    statuses = [c.text for c in out.of_kind("status")]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""


async def test_options_reach_kie(core, kie, out):
    kie.codex_replies.append(reply("ok"))
    await run(core, codex(options={"model": "gpt-5.3-codex", "effort": "xhigh", "web-search": True}))
    body = kie.codex_bodies[0]
    assert body["model"] == "gpt-5.3-codex"
    assert body["reasoning"] == {"effort": "xhigh"}
    assert body["tools"] == [{"type": "web_search"}]
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("options", "prompt", "expected"),
    [
        ({"effort": "extreme"}, "hi", "Unknown effort 'extreme'. Choose one of: minimal, low, medium, high, xhigh."),
        ({"model": "gpt-4"}, "hi", "Unknown model 'gpt-4'. Choose one of: gpt-5-codex, gpt-5.1-codex, gpt-5.2-codex, gpt-5.3-codex."),
        ({"web-search": "maybe"}, "hi", "web-search must be true or false, not 'maybe'."),
        ({}, "   ", "Write a question after /codex, for example: /codex how do I reverse a list in Python?"),
        ({}, "x" * 20_001, "That prompt is 20,001 characters; the limit is 20,000. Attach long text as a file instead."),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(core, kie, out, options, prompt, expected):
    await run(core, codex(prompt, options=options))
    assert final_texts(out) == [expected]
    assert kie.codex_bodies == []


async def test_upstream_error_before_text_is_the_whole_reply(core, kie, out):
    kie.codex_replies.append(envelope(402, "Insufficient credits"))
    await run(core, codex(placeholder=None))
    assert final_texts(out) == [messages.ERR_NO_CREDITS]


async def test_upstream_error_goes_into_the_placeholder(core, kie, out):
    kie.codex_replies.append(envelope(401, "bad key"))
    placeholder = MessageRef(platform="fake", key="deferred")
    await run(core, codex(placeholder=placeholder))
    assert out.texts == {"deferred": messages.ERR_UNAUTHORIZED}


async def test_a_broken_stream_keeps_its_text_and_says_so(core, kie, out):
    kie.codex_replies.append(CodexScript([text_delta("The answer is "), Cut()]))
    await run(core, codex())
    assert final_texts(out) == [
        "The answer is \n\n" + messages.REPLY_INTERRUPTED.format(reason=messages.ERR_CLOSED_EARLY)
    ]


async def test_stop_button_only_for_the_requester_and_keeps_the_text(core, kie, out):
    gate = Gate()
    kie.codex_replies.append(CodexScript([text_delta("Partial answer"), gate, text_delta(" never shown")]))
    task = await core.bot.handle(codex())
    await out.wait_for(lambda o: o.of_kind("post"))
    stop_id = out.of_kind("post")[0].controls.stop_id
    assert core.bot.stop(stop_id, "mallory") == messages.STOP_NOT_YOURS
    assert core.bot.stop(stop_id, "alice") == messages.STOP_DONE
    await task
    gate.open()
    assert final_texts(out) == ["Partial answer\n\n" + messages.REPLY_STOPPED]
    assert out.calls[-2].controls is None  # the final edit removed the Stop button
    assert core.bot.stop(stop_id, "alice") == messages.STOP_NOTHING_RUNNING


async def test_chat_memory_survives_a_restart(kie, settings_for):
    settings = settings_for(kie)
    turn = dict(user=ALICE, where=WHERE, conversation_key="fake:thread:1")

    first = await Core.create(settings)
    first.bot.register_outbound("fake", RecordingOutbound())
    kie.codex_replies.append(reply("Nice to meet you, Ada."))
    await run(first, Request(command="chat", prompt="My name is Ada.", **turn))
    await first.close()

    second = await Core.create(settings)
    second.bot.register_outbound("fake", RecordingOutbound())
    kie.codex_replies.append(reply("You are Ada."))
    await run(second, Request(command="chat", prompt="What is my name?", **turn))
    await second.close()

    assert kie.codex_bodies[1]["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": "My name is Ada."}]},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": [{"type": "input_text", "text": "What is my name?"}]},
    ]


async def test_history_is_trimmed_from_the_oldest_turns(kie, settings_for):
    core = await Core.create(settings_for(kie, conversation_budget_chars=1_000))
    core.bot.register_outbound("fake", RecordingOutbound())
    turn = dict(user=ALICE, where=WHERE, conversation_key="k")
    for n in range(6):
        kie.codex_replies.append(reply(f"answer {n} " + "z" * 150))
        await run(core, Request(command="chat", prompt=f"question {n} " + "q" * 150, **turn))
    await core.close()
    last = kie.codex_bodies[-1]["input"]
    texts = [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in last]
    assert texts[-1].startswith("question 5")
    assert texts[0].startswith("question ")  # never opens on an orphaned answer
    assert not any(t.startswith("question 0") for t in texts)
    assert sum(len(t) for t in texts) < 1_400


async def test_other_conversations_are_not_mixed_in(core, kie, out):
    kie.codex_replies.extend([reply("one"), reply("two")])
    await run(core, Request(command="chat", prompt="first", user=ALICE, where=WHERE, conversation_key="a"))
    await run(core, Request(command="chat", prompt="second", user=ALICE, where=WHERE, conversation_key="b"))
    assert len(kie.codex_bodies[1]["input"]) == 1


def attachment(name, data: bytes, content_type, url=None) -> Attachment:
    async def fetch() -> bytes:
        return data

    return Attachment(name=name, content_type=content_type, size=len(data), fetch=fetch, url=url)


async def test_attachments_become_input_parts_or_notes(core, kie, out):
    kie.codex_replies.append(reply("seen"))
    files = (
        attachment("cat.png", b"\x89PNG....", "image/png", url="https://cdn.example/cat.png"),
        attachment("private.jpg", b"\xff\xd8\xff jpeg", "image/jpeg"),
        attachment("main.py", b"print('hi')\n", None),
        attachment("spec.pdf", b"%PDF-1.7 ...", "application/pdf"),
        attachment("sheet.xlsx", b"PK..", "application/vnd.ms-excel"),
        attachment("huge.log", b"x" * (300 * 1024), "text/plain"),
    )
    await run(core, codex("what is in these?", attachments=files))
    parts = kie.codex_bodies[0]["input"][0]["content"]
    assert parts[0] == {"type": "input_text", "text": "what is in these?"}
    assert parts[1] == {"type": "input_image", "image_url": "https://cdn.example/cat.png"}
    assert parts[2]["type"] == "input_image" and parts[2]["image_url"].startswith(kie.url + "/files/1/private.jpg")
    assert parts[3] == {"type": "input_text", "text": "File `main.py`:\n```\nprint('hi')\n\n```"}
    assert parts[4]["type"] == "input_file" and parts[4]["file_url"].endswith("/spec.pdf")
    assert len(parts) == 5
    assert [u["fileName"] for u in kie.uploads] == ["private.jpg", "spec.pdf"]
    assert final_texts(out) == [
        "seen\n\n"
        "_Skipped sheet.xlsx: only images, text or code files and PDFs can be read._\n"
        "_Skipped huge.log: it is larger than 200 KB._\n" + FOOTER
    ]


async def test_an_openai_compatible_endpoint_takes_other_models(kie, settings_for):
    core = await Core.create(settings_for(kie, responses_url=kie.url + "/v1/responses", codex_model="gpt-4.1"))
    out = RecordingOutbound()
    core.bot.register_outbound("fake", out)
    kie.codex_replies.append(reply("hi from elsewhere", data_only=True, credits=None))
    await run(core, codex(options={"model": "o3-pro"}))
    await core.close()
    assert kie.requests[-1][0] == "/v1/responses"
    assert kie.codex_bodies[0]["model"] == "o3-pro"
    assert list(out.texts.values()) == ["hi from elsewhere\n\n_o3-pro · 4,564 tokens_"]


async def test_many_replies_in_flight_do_not_block_each_other(core, kie, out):
    gates = [Gate() for _ in range(3)]
    for n, gate in enumerate(gates):
        kie.codex_replies.append(CodexScript([text_delta(f"r{n}"), gate, *reply(" done").steps]))
    tasks = [await core.bot.handle(codex(f"q{n}")) for n in range(3)]
    await out.wait_for(lambda o: len(o.of_kind("post")) == 3)
    for gate in reversed(gates):
        gate.open()
    await asyncio.gather(*tasks)
    assert sorted(t.split("\n")[0] for t in final_texts(out)) == ["r0 done", "r1 done", "r2 done"]


class FailingContinuation(RecordingOutbound):
    """The platform refuses the second message of a long reply (e.g. a missing permission)."""

    async def post(self, where, text, *, controls=None):
        if self.of_kind("post") and not text.startswith("Cannot post"):
            raise AdapterError("403", user_message="Cannot post here: I lack permission.")
        return await super().post(where, text, controls=controls)


async def test_a_failure_after_text_was_shown_keeps_the_text(core, kie):
    out = FailingContinuation(capabilities=Capabilities(max_chars=60, min_edit_interval=0.0))
    core.bot.register_outbound("fake", out)
    kie.codex_replies.append(reply("first part of a long answer. " * 4))
    placeholder = MessageRef(platform="fake", key="deferred")
    out.texts["deferred"] = "thinking…"
    await run(core, codex(placeholder=placeholder))
    assert out.texts["deferred"].startswith("first part of a long answer.")
    assert out.of_kind("post")[-1].text == "Cannot post here: I lack permission."


async def test_a_question_beyond_the_concurrency_limit_waits_in_line_and_says_so(kie, settings_for):
    core = await Core.create(settings_for(kie, codex_max_concurrent=1))
    out = RecordingOutbound(capabilities=Capabilities(max_chars=2000, min_edit_interval=0.01))
    core.bot.register_outbound("fake", out)
    try:
        gate = Gate()
        kie.codex_replies.append(CodexScript([text_delta("first"), gate, *reply(" answer").steps]))
        kie.codex_replies.append(reply("second answer"))
        first = await core.bot.handle(codex())
        await out.wait_for(lambda o: o.of_kind("post"))
        waiting = MessageRef(platform="fake", key="placeholder-2")
        second = await core.bot.handle(codex("next", placeholder=waiting))
        await out.wait_for(lambda o: o.texts.get("placeholder-2") == messages.CODEX_QUEUED)
        assert len(kie.codex_bodies) == 1  # the second question has not reached KIE yet
        gate.open()
        await asyncio.gather(first, second)
        assert out.texts["placeholder-2"] == "second answer\n\n" + FOOTER
    finally:
        await core.close()


async def test_a_reply_past_the_size_limit_ends_with_a_note(kie, settings_for):
    core = await Core.create(settings_for(kie, codex_max_reply_chars=10))
    out = RecordingOutbound(capabilities=Capabilities(max_chars=2000, min_edit_interval=0.01))
    core.bot.register_outbound("fake", out)
    kie.codex_replies.append(reply("abcdef", "ghijkl"))
    try:
        await run(core, codex())
    finally:
        await core.close()
    assert final_texts(out) == ["abcdefghij\n\n" + messages.REPLY_CUT_LENGTH.format(limit=10)]


async def test_codex_instructions_are_sent_with_every_request(kie, settings_for, tmp_path):
    core = await Core.create(settings_for(kie, codex_instructions="Answer like a pirate."))
    try:
        core.bot.register_outbound("fake", RecordingOutbound(capabilities=Capabilities(max_chars=2000)))
        kie.codex_replies.extend([reply("Arr."), reply("Aye.")])
        await run(core, codex())
        await run(core, Request(command="chat", prompt="hi", user=ALICE, where=WHERE, conversation_key="k"))
        assert [body["instructions"] for body in kie.codex_bodies] == ["Answer like a pirate."] * 2
    finally:
        await core.close()


async def test_no_instructions_field_without_a_system_prompt(core, kie, out):
    kie.codex_replies.append(reply("ok"))
    await run(core, codex())
    assert "instructions" not in kie.codex_bodies[0]


async def test_channel_settings_apply_and_the_request_own_options_win(core, kie, out):
    said = await core.channels.command("fake", "c1", "instructions Be brief.")
    assert said == "This channel's instructions are now: Be brief."
    await core.channels.command("fake", "c1", "model gpt-5.2-codex")
    await core.channels.command("fake", "c1", "effort HIGH")
    kie.codex_replies.extend([reply("a"), reply("b"), reply("c")])

    await run(core, codex())
    await run(core, codex(options={"model": "gpt-5.3-codex", "effort": "low"}))
    await run(core, Request(command="codex", prompt="hi", user=ALICE, where=Destination(platform="fake", channel_id="c2")))

    first, own, other = kie.codex_bodies
    assert (first["instructions"], first["model"], first["reasoning"]) == ("Be brief.", "gpt-5.2-codex", {"effort": "high"})
    assert (own["instructions"], own["model"], own["reasoning"]) == ("Be brief.", "gpt-5.3-codex", {"effort": "low"})
    assert "instructions" not in other and other["model"] == "gpt-5.1-codex"  # another channel: defaults


async def test_channel_settings_show_validate_and_reset(core):
    from bot.errors import UsageError

    with pytest.raises(UsageError, match="Unknown model 'gpt-4'"):
        await core.channels.command("fake", "c1", "model gpt-4")
    with pytest.raises(UsageError, match="Unknown setting 'colour'"):
        await core.channels.command("fake", "c1", "colour blue")
    await core.channels.command("fake", "c1", "effort low")
    shown = await core.channels.command("fake", "c1", "")
    assert "effort: low (this channel)" in shown and "model: gpt-5.1-codex (the bot's default)" in shown
    await core.channels.command("fake", "c1", "reset")
    assert "effort: medium (the bot's default)" in await core.channels.command("fake", "c1", "")
