"""Write pacing under load: latest text at grant time, finals first, fairness, overflow routes."""

from __future__ import annotations

import asyncio

from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, Pace
from bot.render import NativeRenderer, StreamRenderer, make_renderer
from bot.render.pacing import WritePacer
from bot.render.stream import CURSOR
from tests.fakes.native_outbound import NativeOutbound
from tests.fakes.outbound import FlakyOutbound, RecordingOutbound

WHERE = Destination(platform="fake", channel_id="c1", thread_id="t1", team_id="T1")
STOP = Controls(stop_id="s1")


def caps(budget, *, interval: float = 0.0) -> Capabilities:
    return Capabilities(max_chars=10_000, min_edit_interval=interval, shared_edit_budget=budget)


async def test_an_edit_that_waited_carries_the_text_of_when_it_leaves():
    budget = (1, 0.3)
    out = RecordingOutbound(capabilities=caps(budget))
    pacer = WritePacer()
    await pacer.take(Pace(WHERE.channel_id, budget))  # the window is full for 0.3 s
    renderer = StreamRenderer(out, WHERE, pacer=pacer, placeholder=MessageRef(platform="fake", key="p"), controls=STOP)
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        renderer.push("one")
        await asyncio.sleep(0.05)  # the upstream's pace: the edit is queued by now
        assert not out.calls
        renderer.push(" two")
        renderer.push(" three")
        await out.wait_for(lambda o: o.calls)
        renderer.close()
    shown = [c.text for c in out.calls]
    assert shown[0] == "one two three" + CURSOR  # not "one": the text is taken when the slot is granted
    assert shown[-1] == "one two three"


async def test_a_write_waiting_when_the_reply_closes_becomes_its_final_write():
    budget = (1, 0.3)
    out = RecordingOutbound(capabilities=caps(budget))
    pacer = WritePacer()
    await pacer.take(Pace(WHERE.channel_id, budget))
    renderer = StreamRenderer(out, WHERE, pacer=pacer, placeholder=MessageRef(platform="fake", key="p"), controls=STOP)
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        renderer.push("all of it")
        await asyncio.sleep(0.05)  # queued as an in-progress edit
        renderer.close("\n\nfooter")
    # One write: the queued edit left as the final one (no cursor, no Stop button).
    assert [(c.kind, c.text, c.controls) for c in out.calls] == [("edit", "all of it\n\nfooter", None)]


async def test_a_final_write_overtakes_in_progress_writes_queued_before_it():
    pacer = WritePacer()
    budget = (1, 0.2)
    pace = Pace("chan", budget)
    await pacer.take(pace)
    order: list[str] = []
    waiting = [pacer.ticket(pace) for _ in range(3)]
    final = pacer.ticket(pace)
    final.promote()

    async def record(name, ticket):
        await ticket.wait()
        order.append(name)

    await asyncio.gather(*(record(f"progress{n}", t) for n, t in enumerate(waiting)), record("final", final))
    assert order == ["final", "progress0", "progress1", "progress2"]


async def stream_together(budget, streams: int, steps: int) -> tuple[RecordingOutbound, list[StreamRenderer]]:
    """`streams` replies in one scope, each pushing a delta every 10 ms for `steps` steps."""
    out = RecordingOutbound(capabilities=caps(budget))
    pacer = WritePacer()
    renderers = [StreamRenderer(out, WHERE, pacer=pacer, controls=STOP) for _ in range(streams)]
    async with asyncio.TaskGroup() as group:
        for renderer in renderers:
            group.create_task(renderer.run())
        for step in range(steps):
            for n, renderer in enumerate(renderers):
                renderer.push(f"{n}.{step} ")
            await asyncio.sleep(0.01)  # the upstream's pace
        for renderer in renderers:
            renderer.close()
    for renderer in renderers:  # every reply ends with its exact text
        [ref] = renderer.messages
        assert out.texts[ref.key] == renderer.text
    return out, renderers


async def test_streams_in_a_busy_scope_take_turns():
    out, _ = await stream_together((2, 0.1), streams=4, steps=40)
    writes = [c.key for c in out.calls]
    per_message = {key: writes.count(key) for key in set(writes)}
    assert len(per_message) == 4
    # Round-robin: nobody starves while others stream.
    assert max(per_message.values()) - min(per_message.values()) <= 2, per_message


async def test_a_saturated_scope_skips_intermediate_writes_but_every_reply_gets_its_final_text():
    out, _ = await stream_together((3, 0.5), streams=8, steps=10)
    # 8 replies, each with at least one write; far fewer than one write per delta.
    assert len(out.calls) < 8 * 3


async def test_an_in_progress_edit_failing_while_the_reply_closes_does_not_fail_the_reply():
    release = asyncio.Event()
    out = FlakyOutbound(capabilities=caps(None), hold=release)
    renderer = StreamRenderer(out, WHERE, pacer=WritePacer(), controls=STOP)
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        renderer.push("one")
        await out.wait_for(lambda o: o.of_kind("post"))
        renderer.push(" two")
        await out.wait_for(lambda o: o.of_kind("failed-edit"))
        renderer.close()  # the reply is complete while its in-progress edit is in flight
        release.set()
    final = out.calls[-1]
    assert (final.kind, final.text, final.controls) == ("edit", "one two", None)


async def test_with_no_stream_slot_a_reply_takes_the_post_route_and_posts_once():
    out = NativeOutbound(capabilities=Capabilities(max_chars=200, min_edit_interval=0.0, native_stream=True, stream_interval=0.0))
    out.stream_budgets = {"start": (1, 60.0), "stop": (1, 60.0), "append": (10, 60.0)}
    pacer = WritePacer()
    first = make_renderer(out, WHERE, pacer=pacer, controls=STOP, recipient="U1")
    second = make_renderer(out, WHERE, pacer=pacer, controls=STOP, recipient="U2")
    assert isinstance(first, NativeRenderer) and isinstance(second, StreamRenderer)
    async with asyncio.TaskGroup() as group:
        for renderer in (first, second):
            group.create_task(renderer.run())
        for renderer in (first, second):
            renderer.push("hello ")
            renderer.push("world")
        await asyncio.sleep(0.05)  # the upstream's pace
        for renderer in (first, second):
            renderer.close(" (done)")
    # The stream that started could stop at once (its stop slot was held for it).
    assert [c.kind for c in out.calls if c.key == first.messages[0].key] == ["start", "stop"]
    # The other reply held its text and posted it finished: one write, nothing lost.
    [post] = [c for c in out.calls if c.key == second.messages[0].key]
    assert (post.kind, post.text, post.controls) == ("post", "hello world (done)", None)


def test_try_take_and_reserve_never_wait_and_reservations_hold_a_slot():
    async def scenario():
        pacer = WritePacer()
        pace = Pace("s", (2, 60.0))
        held = pacer.reserve(pace)
        assert held is not None
        assert pacer.try_take(pace)
        assert not pacer.try_take(pace)  # one taken + one held = full
        assert pacer.reserve(pace) is None
        held.release()
        assert pacer.try_take(pace)

    asyncio.run(scenario())


async def test_a_429_holds_the_scope_and_narrows_it():
    pacer = WritePacer()
    pace = Pace("s", (4, 1.0))
    assert pacer.try_take(pace)
    pacer.penalize("s", 0.2)
    assert not pacer.try_take(pace)  # held for the wait the platform asked for
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pacer.take(pace)
    assert loop.time() - started >= 0.19
    # Narrowed: in-progress writes now get 2 slots of the window instead of 3.
    assert not pacer.try_take(pace)


async def test_idle_scopes_and_messages_are_forgotten():
    now = [0.0]
    pacer = WritePacer(clock=lambda: now[0], idle_after=600.0)
    for n in range(50):
        assert pacer.try_take(Pace(f"thread-{n}", (5, 5.0)))
        pacer.note(f"m{n}")
    assert pacer.scopes == 50
    now[0] = 700.0
    pacer.try_take(Pace("another", (5, 5.0)))  # any use sweeps what went idle
    assert pacer.scopes == 1
    assert pacer.message_delay("m1", 10.0) == 0.0
