"""The stream renderer: pacing, coalescing, splitting, placeholders, controls."""

from __future__ import annotations

import asyncio
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, Pace
from bot.render.pacing import WritePacer
from bot.render.split import _FENCE as FENCE
from bot.render.split import open_fence, split_text
from bot.render.stream import CURSOR, StreamRenderer
from tests.fakes.outbound import FlakyOutbound, RecordingOutbound

WHERE = Destination(platform="fake", channel_id="c1")
STOP = Controls(stop_id="s1")


async def render(out, deltas, *, gap=0.0, placeholder=None, controls=STOP, pacer=None, suffix="", where=WHERE):
    renderer = StreamRenderer(out, where, pacer=pacer or WritePacer(), placeholder=placeholder, controls=controls)
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        for delta in deltas:
            renderer.push(delta)
            await asyncio.sleep(gap)  # the upstream's pace, not synchronisation
        renderer.close(suffix)
    return renderer


async def test_first_text_appears_with_the_first_delta():
    out = RecordingOutbound()
    renderer = StreamRenderer(out, WHERE, pacer=WritePacer(), controls=STOP)
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        renderer.push("Hel")
        await out.wait_for(lambda o: o.of_kind("post"))
        assert out.calls[0].text == "Hel" + CURSOR
        assert out.calls[0].controls == STOP
        renderer.push("lo")
        renderer.close()
    final = out.calls[-1]
    assert (final.kind, final.text, final.controls) == ("edit", "Hello", None)


async def test_edits_are_paced_and_coalesced_and_the_final_text_is_exact():
    interval = 0.05
    out = RecordingOutbound(capabilities=Capabilities(max_chars=10_000, min_edit_interval=interval))
    deltas = [f"w{i} " for i in range(120)]
    started = time.monotonic()
    await render(out, deltas, gap=0.002)
    elapsed = time.monotonic() - started
    edits = out.of_kind("edit")
    assert len(out.of_kind("post")) == 1
    # At most one edit per interval over the stream's life (+1 for the final edit).
    assert len(edits) <= elapsed / interval + 2
    assert len(edits) < len(deltas) / 3  # deltas were coalesced
    gaps = [b.at - a.at for a, b in zip(out.calls[:-1], out.calls[1:-1])]
    assert all(gap >= interval * 0.95 for gap in gaps if gap)  # every edit but the final one waited its turn
    assert out.calls[-1].text == "".join(deltas)
    # Each edit carries the latest full text so far: texts only grow.
    shown = [c.text.removesuffix(CURSOR) for c in out.calls]
    assert all(later.startswith(earlier) for earlier, later in zip(shown, shown[1:]))


async def test_the_final_edit_does_not_wait_for_the_interval():
    out = RecordingOutbound(capabilities=Capabilities(max_chars=1000, min_edit_interval=30.0))
    async with asyncio.timeout(5):  # with a 30 s interval, waiting would time out
        await render(out, ["a", "b", "c"])
    assert out.calls[-1].text == "abc"


async def test_placeholder_is_edited_first():
    out = RecordingOutbound()
    placeholder = MessageRef(platform="fake", key="deferred")
    renderer = await render(out, ["hi"], placeholder=placeholder)
    assert [c.kind for c in out.calls] == ["edit", "edit"]
    assert {c.key for c in out.calls} == {"deferred"}
    assert renderer.messages == [placeholder]


async def test_long_replies_continue_in_new_messages_with_balanced_fences():
    out = RecordingOutbound(capabilities=Capabilities(max_chars=120, min_edit_interval=0.0))
    code = "\n".join(f"    line_{i} = {i} * 2" for i in range(20))
    text = "Here is the code:\n```python\n" + code + "\n```\nDone, it doubles numbers."
    deltas = [text[i : i + 7] for i in range(0, len(text), 7)]
    renderer = await render(out, deltas)
    finals = [out.texts[ref.key] for ref in renderer.messages]
    assert len(finals) > 3
    for message in finals:
        assert len(message) <= 120
        assert open_fence(message) is None, message
    for message in finals[1:-1]:
        assert message.startswith("```python\n")
    # Nothing is lost: removing the added fences gives back the original lines.
    added = {"```", "```python"}
    lines = [line for message in finals for line in message.split("\n")]
    original = [line for line in text.split("\n")]
    assert [line for line in lines if line not in added] == [line for line in original if line not in added]


async def test_a_renderer_without_edits_posts_once_at_the_end():
    out = RecordingOutbound(capabilities=Capabilities(max_chars=50, can_edit=False))
    await render(out, ["word " * 30], suffix="\n\n_footer_")
    posts = out.of_kind("post")
    assert [c.kind for c in out.calls] == ["post"] * len(posts)
    assert len(posts) == 4
    assert " ".join(c.text for c in posts).split() == (("word " * 30) + "\n\n_footer_").split()


async def test_concurrent_streams_share_the_scope_budget():
    budget = (4, 0.2)
    caps = Capabilities(max_chars=10_000, min_edit_interval=0.01, shared_edit_budget=budget)
    out = RecordingOutbound(capabilities=caps)
    pacer = WritePacer()
    await asyncio.gather(*(render(out, [f"{n}-{i} " for i in range(25)], gap=0.003, pacer=pacer) for n in range(3)))
    times = sorted(c.at for c in out.calls)
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t - start < budget[1] * 0.95]
        assert len(in_window) <= budget[0]


async def test_separate_scopes_do_not_wait_for_each_other():
    caps = Capabilities(max_chars=10_000, min_edit_interval=0.0, shared_edit_budget=(2, 60.0))
    out = RecordingOutbound(capabilities=caps)
    pacer = WritePacer()
    async with asyncio.timeout(5):
        await asyncio.gather(
            *(render(out, ["x"], pacer=pacer, where=Destination(platform="fake", channel_id=f"c{n}")) for n in range(3))
        )
    assert len(out.of_kind("post")) == 3


# -- splitting as a pure function ---------------------------------------------------------

# Realistic Markdown: prose with inline code, and fences on lines of their own.
_prose = st.text(alphabet=st.sampled_from(list("ab c`\n")), max_size=60).map(
    lambda t: "\n".join(line.lstrip("`") for line in t.split("\n"))
)
_fences = st.sampled_from(["\n```py\n", "\n```\n", "\n~~~\n", "\n````\n", " " * 50])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(_prose, _fences), max_size=30), limit=st.integers(min_value=40, max_value=300))
def test_split_respects_the_limit_balances_fences_and_loses_nothing(parts, limit):
    text = "".join(parts)
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    for piece in pieces[:-1]:
        assert open_fence(piece) is None
    # Apart from the fence lines added to close and reopen blocks, nothing is lost or moved.
    assert _without_fences("\n".join(pieces)) == _without_fences(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("`~ a\n")), max_size=400), limit=st.integers(min_value=40, max_value=120))
def test_split_of_backtick_soup_still_respects_the_limit_and_balance(text, limit):
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert all(open_fence(piece) is None for piece in pieces[:-1])


def _without_fences(text: str) -> str:
    kept = [line for line in text.split("\n") if not FENCE.match(line)]
    return "".join("".join(kept).split())


def test_a_cut_never_turns_half_a_line_into_a_fence():
    text = "intro\n```" + " " * 50 + "`"  # not a fence: backticks in the info string
    pieces = split_text(text, 40)
    assert all(open_fence(piece) is None for piece in pieces)
    assert pieces[0] == "intro"
    assert "".join(pieces[1:]).replace(" ", "") == "````"


def test_split_prefers_line_then_word_boundaries():
    text = "alpha beta\ngamma delta epsilon"
    assert split_text(text, 16) == ["alpha beta", "gamma delta", "epsilon"]


async def test_a_failed_in_progress_edit_is_caught_up_by_the_next():
    out = FlakyOutbound(capabilities=Capabilities(max_chars=1000, min_edit_interval=0.0))
    renderer = StreamRenderer(out, WHERE, pacer=WritePacer(), controls=STOP)
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        renderer.push("one")
        await out.wait_for(lambda o: o.of_kind("post"))
        renderer.push(" two")
        await out.wait_for(lambda o: o.of_kind("failed-edit"))
        renderer.push(" three")
        renderer.close()
    assert [c.kind for c in out.calls] == ["post", "failed-edit", "edit"]
    assert out.calls[-1].text == "one two three"


async def test_a_final_edit_goes_before_other_streams_in_progress_edits():
    pacer = WritePacer()
    budget = (1, 0.2)
    order: list[str] = []
    await pacer.take(Pace("chan", budget))  # the window is now full for 0.2 s

    async def wait(name: str, urgent: bool) -> None:
        await pacer.take(Pace("chan", budget), urgent=urgent)
        order.append(name)

    waiting = [asyncio.create_task(wait(f"progress{n}", False)) for n in range(3)]
    await asyncio.sleep(0)  # let them queue first
    waiting.append(asyncio.create_task(wait("final", True)))
    await asyncio.gather(*waiting)
    assert order == ["final", "progress0", "progress1", "progress2"]


# Fence lines of any length, markers of any length, prose and code between them.
_long_fences = st.builds(
    lambda marker, info: f"\n{marker}{info}\n",
    st.sampled_from(["```", "~~~", "````", "``````````"]),
    st.text(alphabet=st.sampled_from(list("py th-o ")), max_size=400),
)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.one_of(_prose, _fences, _long_fences), max_size=25), limit=st.integers(min_value=40, max_value=400))
def test_every_piece_fits_and_balances_even_with_fence_lines_longer_than_a_message(parts, limit):
    text = "".join(parts)
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces), [len(p) for p in pieces]
    for piece in pieces[:-1]:
        assert open_fence(piece) is None, piece


def test_a_2000_character_fence_line_still_gives_pieces_within_the_limit():
    text = "Look:\n```" + "python " * 300 + "\nprint('hi')\n" + "x = 1\n" * 400 + "```\nDone."
    pieces = split_text(text, 2000)
    assert all(len(piece) <= 2000 for piece in pieces)
    assert all(open_fence(piece) is None for piece in pieces[:-1])
    # The block is reopened with its language, not with the whole 2,100-character line.
    assert [piece.split("\n")[0] for piece in pieces[2:-1]] == ["```python"] * len(pieces[2:-1])
