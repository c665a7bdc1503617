"""Delivery by poll, by callback, and by both at once: always exactly one post."""

from __future__ import annotations

import asyncio

import pytest

from bot import messages
from bot.images.records import DONE, RUNNING
from tests.fakes.kie import Gate
from tests.fakes.kie_images import T2I, ImageJob, png

from .conftest import SLOW_POLL, image_request, images_posted, progress_texts


async def _state(core, kie_task_id: str) -> str:
    return await core.store.fetchval("SELECT state FROM image_tasks WHERE task_id = ?", kie_task_id)


def _generating(out) -> bool:
    return any(c.text.startswith("🎨 Generating") for c in out.calls)


async def test_poll_delivers_the_image_once_with_the_prompt_as_caption(kie, harness):
    core, out = await harness.start()
    task = await core.bot.handle(image_request("a red fox in the snow"))
    await task

    posted = images_posted(out)
    assert len(posted) == 1
    assert posted[0].text == "a red fox in the snow"
    [file] = posted[0].files
    assert (file.filename, file.content_type, file.data) == ("image-1.png", "image/png", png())
    # Without PUBLIC_BASE_URL there is no callBackUrl: the poll alone delivers.
    assert kie.images.create_bodies == [
        {"model": T2I, "input": {"prompt": "a red fox in the snow", "aspect_ratio": "1:1", "quality": "medium"}}
    ]
    assert progress_texts(out) == [
        messages.IMAGE_STARTING.format(prompt="a red fox in the snow"),
        messages.IMAGE_GENERATING.format(prompt="a red fox in the snow"),
        messages.IMAGE_DONE,
    ]
    # One message, edited in place, and the images come after the "generating" edit.
    assert {c.key for c in out.of_kind("edit")} == {out.of_kind("post")[0].key}
    assert [c.kind for c in out.calls] == ["post", "edit", "images", "edit"]
    [kie_id] = kie.images.tasks
    assert await _state(core, kie_id) == DONE


async def test_several_result_images_are_posted_together(kie, harness):
    kie.images.jobs.append(ImageJob(images=3))
    core, out = await harness.start()
    await (await core.bot.handle(image_request("three foxes")))
    [posted] = images_posted(out)
    assert [f.filename for f in posted.files] == ["image-1.png", "image-2.png", "image-3.png"]
    assert progress_texts(out)[-1] == messages.IMAGE_DONE_MANY.format(count=3)


async def test_callback_delivers_before_any_poll(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish))
    core, out = await harness.start(web=True, **SLOW_POLL)
    task = await core.bot.handle(image_request())
    await out.wait_for(_generating)
    [kie_id] = kie.images.tasks
    assert kie.images.create_bodies[0]["callBackUrl"].startswith(f"{core.images.public_base_url}/kie/callback/")
    assert kie.images.queries_for(kie_id) == 0

    finish.open()
    await asyncio.wait_for(task, 10)

    assert kie.images.callbacks_for(kie_id) == [200]
    assert kie.images.queries_for(kie_id) == 1  # the one confirmation the unsigned body needs
    assert len(images_posted(out)) == 1
    assert await _state(core, kie_id) == DONE


async def test_a_callback_ahead_of_the_status_endpoint_is_confirmed_later_by_the_poll(kie, harness):
    """KIE's callback says "done" while recordInfo still says "generating": nothing is
    posted on the callback's word; the poll posts once recordInfo agrees."""
    visible = Gate()
    kie.images.jobs.append(ImageJob(visible=visible))
    core, out = await harness.start(web=True, image_poll_fast_s=0.05)
    task = await core.bot.handle(image_request())
    await kie.images.wait_for(lambda f: f.callbacks)
    [kie_id] = kie.images.tasks
    assert kie.images.callbacks_for(kie_id) == [200]
    sent = kie.images.callback_sent_at[kie_id]
    await kie.images.wait_for(lambda f: any(t > sent and i == kie_id for t, i in f.queries))
    assert images_posted(out) == []

    visible.open()
    await asyncio.wait_for(task, 10)
    assert len(images_posted(out)) == 1


async def test_poll_and_callbacks_racing_deliver_each_task_exactly_once(kie, harness):
    for _ in range(6):
        kie.images.jobs.append(ImageJob(callback="twice"))
    core, out = await harness.start(web=True, image_poll_fast_s=0.001)
    tasks = [await core.bot.handle(image_request(f"fox number {n}")) for n in range(6)]
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    await kie.images.wait_for(lambda f: len(f.callbacks) == 12)
    await core.drain()

    captions = sorted(c.text for c in images_posted(out))
    assert captions == sorted(f"fox number {n}" for n in range(6))
    assert all(c.status in (200, 404) for c in kie.images.callbacks)
    assert await core.images.tasks.count(DONE) == 6


@pytest.mark.parametrize("engine", ["gpt-image-1.5", "4o"])
async def test_a_duplicate_callback_after_delivery_gets_404_and_posts_nothing(kie, harness, engine):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="twice"))
    core, out = await harness.start(web=True, **SLOW_POLL)
    task = await core.bot.handle(image_request(engine=engine))
    await out.wait_for(_generating)
    finish.open()
    await asyncio.wait_for(task, 10)
    [kie_id] = kie.images.tasks
    await kie.images.wait_for(lambda f: len(f.callbacks) == 2)
    assert kie.images.callbacks_for(kie_id) in ([200, 404], [200, 200])
    await core.drain()
    queries = kie.images.queries_for(kie_id)

    assert await kie.images.send_callback(kie_id) == 404
    assert await kie.images.send_callback(kie_id) == 404
    await core.drain()
    assert len(images_posted(out)) == 1
    assert kie.images.queries_for(kie_id) == queries


async def test_forged_callbacks_are_refused_and_change_nothing(kie, harness):
    kie.images.webhook_key = "hmac-secret"
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    core, out = await harness.start(web=True, hmac_key="hmac-secret", **SLOW_POLL)
    task = await core.bot.handle(image_request())
    await out.wait_for(_generating)
    [kie_id] = kie.images.tasks
    finish.open()  # the task is done at KIE, but only a genuine callback may say so
    await kie.images.wait_for(lambda f: f.tasks[kie_id].state == "success")
    calls_before = len(out.calls)

    assert await kie.images.send_callback(kie_id, mode="bad_signature") == 401
    assert await kie.images.send_callback(kie_id, mode="no_signature") == 401
    assert await kie.images.send_callback(kie_id, mode="stale") == 401
    assert await kie.images.send_callback(kie_id, mode="wrong_token") == 404
    assert not task.done()
    assert kie.images.queries_for(kie_id) == 0
    assert len(out.calls) == calls_before
    assert await _state(core, kie_id) == RUNNING

    assert await kie.images.send_callback(kie_id) == 200
    await asyncio.wait_for(task, 10)
    assert len(images_posted(out)) == 1
    assert await kie.images.send_callback(kie_id) == 404


async def test_a_callback_naming_another_task_is_refused(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    core, out = await harness.start(web=True, **SLOW_POLL)
    task = await core.bot.handle(image_request())
    await out.wait_for(_generating)
    [kie_id] = kie.images.tasks
    forged = kie.images.callback_body(kie.images.tasks[kie_id])
    forged["data"]["taskId"] = "task_someone_else"
    assert await kie.images.send_callback(kie_id, body=forged) == 404
    assert kie.images.queries_for(kie_id) == 0
    assert not task.done()


async def test_a_callback_and_a_poll_that_both_see_success_post_once(kie, harness):
    """Both paths hold a "success" status at the same moment; the atomic claim picks one."""
    answer = Gate()
    kie.images.jobs.append(ImageJob(callback="none", hold_status=answer))
    core, out = await harness.start(web=True, image_poll_fast_s=0.001)
    task = await core.bot.handle(image_request())
    await kie.images.wait_for(lambda f: f.held_queries == 1)  # the poll's query, held
    [kie_id] = kie.images.tasks
    assert await kie.images.send_callback(kie_id) == 200
    await kie.images.wait_for(lambda f: f.held_queries == 2)  # the callback's confirmation, held too

    answer.open()
    await asyncio.wait_for(task, 10)
    await core.drain()
    assert kie.images.queries_for(kie_id) == 2
    assert len(images_posted(out)) == 1
    assert progress_texts(out).count(messages.IMAGE_DONE) == 1


async def test_a_callback_without_a_final_state_costs_no_query(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    core, out = await harness.start(web=True, **SLOW_POLL)
    task = await core.bot.handle(image_request())
    await out.wait_for(_generating)
    [kie_id] = kie.images.tasks
    body = {"code": 200, "msg": "success", "data": {"taskId": kie_id, "state": "generating"}}
    assert await kie.images.send_callback(kie_id, body=body) == 200
    assert kie.images.queries_for(kie_id) == 0
    assert not task.done()
