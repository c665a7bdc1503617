"""Durability: the process stops in the middle of a task and a new one, on the same
database, finishes it. The image arrives exactly once, in the original progress message."""

from __future__ import annotations

import asyncio

from bot import messages
from bot.images.records import DONE, QUEUED, UNKNOWN
from tests.fakes.kie import Gate
from tests.fakes.kie_images import ImageJob

from .conftest import SLOW_POLL, image_request, images_posted


def _generating(out) -> bool:
    return any(c.text.startswith("🎨 Generating") for c in out.calls)


async def test_a_restart_in_the_middle_of_a_task_delivers_it_once_by_poll(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    first, out1 = await harness.start(**SLOW_POLL)
    task = await first.bot.handle(image_request("a lighthouse"))
    await out1.wait_for(_generating)
    progress_key = out1.of_kind("post")[0].key
    await harness.close(first)
    assert task.done()  # it stopped watching at shutdown; the task stays stored

    finish.open()  # KIE finishes while the bot is down
    second, out2 = await harness.start()
    await asyncio.wait_for(second.drain(), 10)

    assert images_posted(out1) == []
    [posted] = images_posted(out2)
    assert posted.text == "a lighthouse"
    # The new process edits the progress message the old one posted.
    assert [(c.key, c.text) for c in out2.of_kind("edit")] == [(progress_key, messages.IMAGE_DONE)]
    assert out2.of_kind("post") == []
    assert kie.images.create_requests == 1
    assert await second.images.tasks.count(DONE) == 1


async def test_a_restarted_bot_still_accepts_the_task_callback(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    first, out1 = await harness.start(web=True, **SLOW_POLL)
    task = await first.bot.handle(image_request())
    await out1.wait_for(_generating)
    await harness.close(first)

    second, out2 = await harness.start(web=True, **SLOW_POLL)
    [kie_id] = kie.images.tasks
    await kie.images.wait_for(lambda f: f.queries_for(kie_id) == 1)  # the resume's first look: still generating
    finish.open()
    await kie.images.wait_for(lambda f: f.tasks[kie_id].state == "success")
    assert await kie.images.send_callback(kie_id, base_url=second.images.public_base_url) == 200
    await asyncio.wait_for(second.drain(), 10)
    assert len(images_posted(out2)) == 1
    assert await kie.images.send_callback(kie_id, base_url=second.images.public_base_url) == 404
    assert len(images_posted(out2)) == 1
    assert task.done() and images_posted(out1) == []  # it stopped watching at shutdown, undelivered


async def test_a_crash_during_create_is_reported_not_resubmitted(kie, harness):
    held = Gate()
    kie.images.jobs.append(ImageJob(hold_create=held))
    first, out1 = await harness.start()
    await first.bot.handle(image_request())
    await kie.images.wait_for(lambda f: len(f.create_bodies) == 1)  # KIE has the task; its reply is held
    progress_key = out1.of_kind("post")[0].key
    await harness.close(first)
    held.open()

    second, out2 = await harness.start()
    await asyncio.wait_for(second.drain(), 10)
    assert [(c.key, c.text) for c in out2.of_kind("edit")] == [(progress_key, messages.IMAGE_OUTCOME_UNKNOWN)]
    assert kie.images.create_requests == 1
    assert kie.images.queries == []
    assert images_posted(out2) == []
    assert await second.images.tasks.count(UNKNOWN) == 1


async def test_a_task_still_queued_at_a_crash_is_sent_after_the_restart(kie, harness):
    """Never sent, so never charged: the new process may send it."""
    first, out1 = await harness.start(image_create_limit=1, image_create_window_s=60.0)
    await (await first.bot.handle(image_request("first")))
    waiting = await first.bot.handle(image_request("second"))
    await out1.wait_for(lambda o: any(c.text.startswith("⏳") for c in o.calls))
    assert await first.images.tasks.count(QUEUED) == 1
    await harness.close(first)
    assert waiting.cancelled()

    second, out2 = await harness.start()
    await asyncio.wait_for(second.drain(), 10)
    assert [c.text for c in images_posted(out2)] == ["second"]
    assert [b["input"]["prompt"] for b in kie.images.create_bodies] == ["first", "second"]


async def test_a_delivery_cut_short_by_a_crash_is_redone_by_the_next_start(kie, harness):
    """The one place where "once" yields to "never lost": if the process dies while the
    platform upload is in flight, the next start posts the image (a paid image is never dropped)."""
    first, out1 = await harness.start()
    stuck = asyncio.Event()

    async def hang(where, files, caption, *, key=None):
        stuck.set()
        await asyncio.Event().wait()

    out1.post_images = hang
    first.images.stop_grace = 0.01
    await first.bot.handle(image_request("a harbour"))
    await asyncio.wait_for(stuck.wait(), 10)
    await harness.close(first)

    second, out2 = await harness.start()
    await asyncio.wait_for(second.drain(), 10)
    assert [c.text for c in images_posted(out2)] == ["a harbour"]
    assert kie.images.create_requests == 1


async def test_a_clean_stop_lets_a_delivery_in_flight_finish(kie, harness):
    first, out1 = await harness.start()
    release = asyncio.Event()
    started = asyncio.Event()
    original = out1.post_images

    async def slow(where, files, caption, *, key=None):
        started.set()
        await release.wait()
        return await original(where, files, caption, key=key)

    out1.post_images = slow
    await first.bot.handle(image_request("a harbour"))
    await asyncio.wait_for(started.wait(), 10)
    closing = asyncio.ensure_future(harness.close(first))
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(closing, 10)
    assert len(images_posted(out1)) == 1

    second, out2 = await harness.start()
    await asyncio.wait_for(second.drain(), 10)
    assert images_posted(out2) == []  # nothing left to redo
