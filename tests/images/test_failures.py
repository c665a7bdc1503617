"""What the user reads when a task fails, and that a failure never holds up other tasks."""

from __future__ import annotations

import asyncio

import pytest

from bot import messages
from bot.images.records import FAILED, GAVE_UP
from tests.fakes.kie import Gate
from tests.fakes.kie_images import ImageJob

from .conftest import image_request, images_posted, progress_texts


@pytest.mark.parametrize(
    ("engine", "code", "msg", "expected"),
    [
        ("gpt-image-1.5", "500", "Internal server error", messages.IMAGE_FAILED.format(detail="Internal server error")),
        ("gpt-image-1.5", "422", "Invalid prompt: prompt contains prohibited content",
         messages.IMAGE_CONTENT_POLICY + "\nKIE said: Invalid prompt: prompt contains prohibited content"),
        ("4o", "500", "Failed to generate image", messages.IMAGE_FAILED.format(detail="Failed to generate image")),
        ("4o", "400", "Your content was flagged by OpenAI as violating content policies",
         messages.IMAGE_CONTENT_POLICY + "\nKIE said: Your content was flagged by OpenAI as violating content policies"),
    ],
)
async def test_a_failed_task_is_explained_in_a_plain_sentence_and_in_kies_own_words(kie, harness, engine, code, msg, expected):
    kie.images.jobs.append(ImageJob(outcome="fail", fail_code=code, fail_msg=msg))
    core, out = await harness.start()
    await (await core.bot.handle(image_request(engine=engine)))
    assert progress_texts(out)[-1] == expected
    assert images_posted(out) == []
    assert await core.images.tasks.count(FAILED) == 1


async def test_out_of_credits_at_creation_is_told_and_nothing_is_polled(kie, harness):
    kie.images.jobs.append(ImageJob(create_code=402, create_msg="Insufficient Credits"))
    core, out = await harness.start()
    await (await core.bot.handle(image_request()))
    assert progress_texts(out)[-1] == messages.ERR_NO_CREDITS
    assert kie.images.queries == []
    assert kie.images.create_requests == 1
    assert await core.images.tasks.count(FAILED) == 1


async def test_a_failing_task_does_not_block_a_succeeding_one(kie, harness):
    fail_later = Gate()
    kie.images.jobs.extend([ImageJob(outcome="fail", finish=fail_later), ImageJob()])
    core, out = await harness.start()
    failing = await core.bot.handle(image_request("the failing one"))
    await kie.images.wait_for(lambda f: len(f.tasks) == 1)
    succeeding = await core.bot.handle(image_request("the good one"))
    await asyncio.wait_for(succeeding, 10)
    assert [c.text for c in images_posted(out)] == ["the good one"]
    fail_later.open()
    await asyncio.wait_for(failing, 10)
    assert progress_texts(out)[-1] == messages.IMAGE_FAILED.format(detail="Internal server error")


async def test_a_task_that_never_finishes_is_given_up_with_a_message(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    core, out = await harness.start(web=True, image_give_up_s=0.3, image_poll_fast_s=0.05)
    await asyncio.wait_for(await core.bot.handle(image_request()), 10)
    assert progress_texts(out)[-1] == messages.IMAGE_GAVE_UP.format(minutes=0.0)
    assert await core.images.tasks.count(GAVE_UP) == 1
    [kie_id] = kie.images.tasks
    queries = kie.images.queries_for(kie_id)
    # KIE's callback that it is still generating costs nothing and changes nothing.
    assert await kie.images.send_callback(kie_id) == 200
    await core.drain()
    assert images_posted(out) == [] and kie.images.queries_for(kie_id) == queries

    # KIE finishes after all: the paid image is still delivered, once.
    finish.open()
    await kie.images.wait_for(lambda f: f.tasks[kie_id].state == "success")
    assert await kie.images.send_callback(kie_id) == 200
    await core.drain()
    assert [c.text for c in images_posted(out)] == ["a red fox in the snow"]
    assert progress_texts(out)[-1] == messages.IMAGE_DONE
    assert await kie.images.send_callback(kie_id) == 404
    await core.drain()
    assert len(images_posted(out)) == 1


async def test_status_errors_are_retried_until_the_task_finishes(kie, harness):
    """A 429 or an outage on recordInfo is not the task failing: the poll carries on."""
    kie.images.query_limit = (1, 60.0)  # every status query after the first is refused with 429
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish))
    core, out = await harness.start(image_poll_fast_s=0.01)
    task = await core.bot.handle(image_request())
    await kie.images.wait_for(lambda f: len(f.queries) >= 3)
    assert not task.done()
    kie.images.query_limit = (1000, 1.0)
    finish.open()
    await asyncio.wait_for(task, 10)
    assert len(images_posted(out)) == 1


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (b"<html>Access denied</html>", messages.IMAGE_NOT_AN_IMAGE),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, messages.IMAGE_TOO_LARGE.format(limit="2 KB")),
    ],
)
async def test_a_result_that_is_not_an_image_or_too_large_is_refused(kie, harness, result, reason):
    kie.images.jobs.append(ImageJob(result=result))
    core, out = await harness.start(image_max_download_bytes=2048)
    await (await core.bot.handle(image_request()))
    assert images_posted(out) == []
    assert progress_texts(out)[-1] == messages.IMAGE_DOWNLOAD_FAILED.format(reason=reason)
    assert await core.images.tasks.count(FAILED) == 1


async def test_create_outcome_unknown_is_reported_and_not_resubmitted(kie, harness):
    kie.images.jobs.append(ImageJob(drop_create=True))
    core, out = await harness.start()
    await (await core.bot.handle(image_request()))
    assert progress_texts(out)[-1] == messages.IMAGE_OUTCOME_UNKNOWN
    assert kie.images.create_requests == 1
    assert kie.images.queries == []
