"""The native-stream renderer: exact text, splitting, time-based flushes and fallback."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model import Destination
from bot.ports import Capabilities, Controls
from bot.render import make_renderer
from bot.render.native import NativeRenderer
from bot.render.pacing import WritePacer
from bot.render.split import open_fence
from bot.render.stream import StreamRenderer
from tests.fakes.native_outbound import NativeOutbound
from tests.fakes.outbound import RecordingOutbound

WHERE = Destination(platform="fake", channel_id="C1", thread_id="1.0", team_id="T1")


def shown(out: NativeOutbound, renderer) -> list[str]:
    return [out.texts[ref.key] for ref in renderer.messages]


async def render(out, deltas: list[str], *, suffix: str = "", controls=None, between=None) -> NativeRenderer:
    renderer = make_renderer(out, WHERE, pacer=WritePacer(), controls=controls, recipient="U1")
    assert isinstance(renderer, NativeRenderer)
    task = asyncio.ensure_future(renderer.run())
    for i, delta in enumerate(deltas):
        renderer.push(delta)
        if between is not None:
            await between(out, i)
    renderer.close(suffix)
    await asyncio.wait_for(task, 5)
    return renderer


async def test_make_renderer_picks_native_only_for_native_outbounds_without_placeholder():
    pacer = WritePacer()
    native = NativeOutbound()
    assert isinstance(make_renderer(native, WHERE, pacer=pacer), NativeRenderer)
    placeholder = await native.post(WHERE, "working")
    assert isinstance(make_renderer(native, WHERE, pacer=pacer, placeholder=placeholder), StreamRenderer)
    assert isinstance(make_renderer(RecordingOutbound(), WHERE, pacer=pacer), StreamRenderer)


async def test_streams_exact_text_once_with_start_appends_and_stop():
    out = NativeOutbound()
    deltas = ["Hello", ", ", "world", "!"]

    async def reach_platform(o, i):  # each delta is shown before the next arrives
        await o.wait_for(lambda o: "".join(c.text for c in o.calls) == "".join(deltas[: i + 1]))

    renderer = await render(out, deltas, suffix="\n\n_footer_", between=reach_platform)
    assert shown(out, renderer) == ["Hello, world!\n\n_footer_"]
    kinds = [c.kind for c in out.calls]
    assert kinds == ["start", "append", "append", "append", "stop"]
    assert "".join(c.text for c in out.calls) == "Hello, world!\n\n_footer_"
    assert out.recipients == ["U1"]


async def test_pending_text_is_flushed_on_the_clock_not_on_size():
    """A slow stream of tiny deltas still reaches the platform while the reply runs."""
    out = NativeOutbound()
    renderer = make_renderer(out, WHERE, pacer=WritePacer(), recipient="U1")
    task = asyncio.ensure_future(renderer.run())
    renderer.push("a")
    await out.wait_for(lambda o: o.texts.get("m1") == "a")
    renderer.push("b")
    await out.wait_for(lambda o: o.texts.get("m1") == "ab")  # two characters, flushed anyway
    assert [c.kind for c in out.calls] == ["start", "append"]
    renderer.close()
    await asyncio.wait_for(task, 5)
    assert [c.kind for c in out.calls] == ["start", "append", "stop"]


async def test_controls_go_with_the_first_message_only():
    out = NativeOutbound()
    controls = Controls(stop_id="s1")
    renderer = make_renderer(out, WHERE, pacer=WritePacer(), controls=controls, recipient="U1")
    task = asyncio.ensure_future(renderer.run())
    renderer.push("x" * 150)
    await out.wait_for(lambda o: o.calls)
    renderer.push(" " + "y" * 150)
    renderer.close()
    await asyncio.wait_for(task, 5)
    starts = out.of_kind("start")
    assert len(starts) == 2
    assert starts[0].controls == controls and starts[1].controls is None


async def test_long_reply_continues_in_new_messages_with_fences_balanced():
    out = NativeOutbound()
    code = "```python\n" + "\n".join(f"print({i})" for i in range(60)) + "\n```\nDone."
    renderer = await render(out, [code[i : i + 7] for i in range(0, len(code), 7)])
    parts = shown(out, renderer)
    assert len(parts) > 1
    for part in parts:
        assert len(part) <= out.capabilities.max_chars
        assert open_fence(part) is None, part
    for part in parts[1:]:
        assert part.startswith("```python\n") or part.startswith("Done")
    joined = "\n".join(p.removeprefix("```python\n").removesuffix("\n```") for p in parts)
    assert [line for line in joined.splitlines() if line.startswith("print")] == [f"print({i})" for i in range(60)]
    assert parts[-1].endswith("Done.")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="ab \n", min_size=1, max_size=60), min_size=1, max_size=30))
async def test_text_is_neither_lost_nor_duplicated(deltas):
    out = NativeOutbound(capabilities=Capabilities(max_chars=80, native_stream=True, stream_interval=0.0, cursor=False))
    renderer = await render(out, deltas)
    parts = shown(out, renderer)
    assert all(len(p) <= 80 for p in parts)
    # Apart from the one separator dropped at each cut, every character arrives once, in order.
    assert "".join("".join(parts).split()) == "".join("".join(deltas).split())


@pytest.mark.parametrize("code", ["feature_disabled", "missing_recipient_user_id"])
async def test_refused_start_falls_back_to_post_and_edit(code):
    out = NativeOutbound(refuse={("start", 1): code})
    renderer = await render(out, ["Hello", " world"], suffix=" (end)")
    assert renderer.fell_back and renderer.refusal.code == code
    assert [c.kind for c in out.calls][0] == "post"
    assert not out.of_kind("start", "append", "stop")
    assert shown(out, renderer) == ["Hello world (end)"]
    assert out.calls[-1].controls is None


async def test_expired_stream_is_finished_by_editing_the_same_message():
    """`message_not_in_streaming_state` mid-reply: edit the stuck message, don't repeat it."""
    out = NativeOutbound(refuse={("append", 2): "message_not_in_streaming_state"})
    renderer = make_renderer(out, WHERE, pacer=WritePacer(), controls=Controls(stop_id="s"), recipient="U1")
    task = asyncio.ensure_future(renderer.run())
    for i, word in enumerate(["one", " two", " three", " four"]):
        renderer.push(word)
        await out.wait_for(lambda o, n=i: len(o.calls) >= n + 1 or renderer.fell_back)
    renderer.push(" five")
    renderer.close(" (end)")
    await asyncio.wait_for(task, 5)
    assert renderer.fell_back
    assert len(renderer.messages) == 1
    key = renderer.messages[0].key
    assert out.texts[key] == "one two three four five (end)"
    edits = out.of_kind("edit")
    assert edits and all(c.key == key for c in edits)
    assert edits[-1].controls is None
    assert not out.of_kind("post")


async def test_expiry_at_stop_edits_the_final_text_in():
    out = NativeOutbound(refuse={("stop", 1): "message_not_in_streaming_state"})
    renderer = await render(out, ["alpha", " beta"], suffix=" gamma")
    assert shown(out, renderer) == ["alpha beta gamma"]
    assert len(out.of_kind("edit")) == 1 and not out.of_kind("post")


async def test_refusal_of_a_later_message_keeps_the_earlier_ones():
    out = NativeOutbound(refuse={("start", 2): "feature_disabled"})
    words = [f"w{i:03d} " for i in range(60)]
    renderer = await render(out, words)
    parts = shown(out, renderer)
    assert len(parts) >= 2
    assert " ".join(parts).split() == [w.strip() for w in words]
    assert out.of_kind("post")


async def test_closing_ends_a_wait_for_an_append_slot_and_stops_exactly_once():
    """The last text must not queue behind the append pace (the stop call is not an append)."""
    out = NativeOutbound(capabilities=Capabilities(max_chars=200, native_stream=True, stream_interval=60.0, cursor=False))
    renderer = make_renderer(out, WHERE, pacer=WritePacer(), recipient="U1")
    task = asyncio.ensure_future(renderer.run())
    renderer.push("first")
    await out.wait_for(lambda o: o.texts.get("m1") == "first")
    renderer.push(" second")  # now waits up to 60 s for its append slot
    renderer.close(" end")
    await asyncio.wait_for(task, 5)
    assert [c.kind for c in out.calls] == ["start", "stop"]
    assert out.texts["m1"] == "first second end"


async def test_a_fence_line_streamed_in_pieces_is_never_cut_into_an_empty_code_block():
    out = NativeOutbound()  # 200 characters per message
    renderer = make_renderer(out, WHERE, pacer=WritePacer(), recipient="U1")
    # The fence line starts just before the message is full; its language comes later.
    deltas = ["a" * 185 + "\n", "``", "`", "pyt", "hon\nprint(1)\n", *["x = 1\n"] * 12, "```\nend"]
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        for delta in deltas:
            renderer.push(delta)
            await asyncio.sleep(0.01)  # the upstream's pace: each delta has its own append
        renderer.close()
    shown = [out.texts[ref.key] for ref in renderer.messages]
    assert all(len(text) <= 200 for text in shown)
    assert not any("```\n```" in text or text.rstrip().endswith("\n``") for text in shown), shown
    assert all(open_fence(text) is None for text in shown)
    # The block keeps its language wherever it is cut.
    openings = [line for text in shown for line in text.split("\n") if line.startswith("```") and line != "```"]
    assert openings and set(openings) == {"```python"}
