"""A paid image is never lost: a lost create reply, an expired result link or a late
"generating" do not cost the user their image or the right message."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot import messages
from bot.images.records import DONE, FAILED, UNKNOWN
from bot.ports import Capabilities
from tests.fakes.kie import Gate
from tests.fakes.kie_images import ImageJob, png
from tests.fakes.outbound import RecordingOutbound

from .conftest import SLOW_POLL, WHERE, image_request, images_posted, progress_texts


async def _callback_work_done() -> None:
    """Wait for every confirmation the callbacks started (the service names them)."""
    work = [t for t in asyncio.all_tasks() if t.get_name().startswith("image-callback:")]
    await asyncio.wait_for(asyncio.gather(*work), 10)


async def _row(core) -> dict:
    [row] = await core.store.fetchall("SELECT * FROM image_tasks")
    return dict(row)


async def test_a_task_whose_create_reply_was_lost_is_delivered_when_kie_calls_back(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(drop_create=True, finish=finish))
    core, out = await harness.start(web=True, **SLOW_POLL)
    await asyncio.wait_for(await core.bot.handle(image_request("a paid fox")), 10)
    assert progress_texts(out)[-1] == messages.IMAGE_OUTCOME_UNKNOWN
    assert (await _row(core))["state"] == UNKNOWN
    [kie_id] = kie.images.tasks

    finish.open()  # KIE made the image after all and calls back with its task id
    await kie.images.wait_for(lambda f: f.callbacks)
    assert kie.images.callbacks_for(kie_id) == [200]
    await core.drain()

    assert [c.text for c in images_posted(out)] == ["a paid fox"]
    assert progress_texts(out)[-1] == messages.IMAGE_DONE
    row = await _row(core)
    assert (row["state"], row["task_id"]) == (DONE, kie_id)
    assert kie.images.queries_for(kie_id) == 1  # confirmed with KIE before posting
    assert kie.images.create_requests == 1
    assert await kie.images.send_callback(kie_id) == 404  # delivered once, then the token is spent
    await core.drain()
    assert len(images_posted(out)) == 1


async def test_an_unknown_task_is_not_delivered_on_a_callback_kie_does_not_confirm(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(drop_create=True, finish=finish, callback="none"))
    core, out = await harness.start(web=True, **SLOW_POLL)
    await asyncio.wait_for(await core.bot.handle(image_request()), 10)
    [kie_id] = kie.images.tasks
    claim = {"code": 200, "msg": "success", "data": {"taskId": kie_id, "state": "success",
                                                      "resultJson": '{"resultUrls": []}'}}
    assert await kie.images.send_callback(kie_id, body=claim) == 200
    await kie.images.wait_for(lambda f: f.queries_for(kie_id) == 1)
    assert images_posted(out) == []  # KIE's status says "generating": nothing is posted


async def test_an_expired_result_link_is_renewed_through_kie_and_the_image_posted(kie, harness):
    kie.images.jobs.append(ImageJob(expired_links=True))
    core, out = await harness.start()
    await asyncio.wait_for(await core.bot.handle(image_request("a lighthouse")), 10)
    [kie_id] = kie.images.tasks
    assert kie.images.download_url_requests == [f"{kie.url}/results/{kie_id}/1.png"]
    [posted] = images_posted(out)
    assert posted.files[0].data == png()
    assert progress_texts(out)[-1] == messages.IMAGE_DONE


async def test_a_task_fails_for_an_expired_link_only_when_kie_has_no_image(kie, harness):
    kie.images.jobs.append(ImageJob(expired_links=True, fresh_links=False))
    core, out = await harness.start()
    await asyncio.wait_for(await core.bot.handle(image_request()), 10)
    assert len(kie.images.download_url_requests) == 1
    assert images_posted(out) == []
    assert progress_texts(out)[-1] == messages.IMAGE_DOWNLOAD_FAILED.format(reason=messages.IMAGE_EXPIRED)
    assert (await _row(core))["state"] == FAILED


async def test_a_late_generating_reply_never_replaces_ready(kie, harness):
    """The poll's reply says "generating"; before it arrives a callback is confirmed and the
    image posted. The stale reply must not turn "✅ ready" back into "generating"."""
    finish, stale = Gate(), Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none", hold_first_reply=stale))
    core, out = await harness.start(web=True)
    task = await core.bot.handle(image_request())
    await kie.images.wait_for(lambda f: f.held_queries == 1)  # the poll's "generating", held
    [kie_id] = kie.images.tasks
    finish.open()
    await kie.images.wait_for(lambda f: f.tasks[kie_id].state == "success")
    assert await kie.images.send_callback(kie_id) == 200
    await out.wait_for(lambda o: o.texts.get(o.of_kind("post")[0].key) == messages.IMAGE_DONE)

    stale.open()
    await asyncio.wait_for(task, 10)
    await core.drain()
    key = out.of_kind("post")[0].key
    assert out.texts[key] == messages.IMAGE_DONE
    assert progress_texts(out)[-1] == messages.IMAGE_DONE
    assert len(images_posted(out)) == 1


async def test_progress_edits_book_the_channels_edit_budget_like_replies(kie, harness):
    period = 0.25
    out = RecordingOutbound(Capabilities(max_chars=2000, min_edit_interval=0.0, shared_edit_budget=(1, period)))
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, progress=("0.10", "0.30", "0.60")))
    core, out = await harness.start(outbound=out)
    booked = []
    take = core.pacer.take

    async def spy(pace, message=None, *, urgent=False):
        if message is not None:  # an edit of the progress message (its post books too)
            booked.append((pace.scope, pace.budget, message, urgent))
        await take(pace, message, urgent=urgent)

    core.pacer.take = spy
    task = await core.bot.handle(image_request(engine="4o"))
    await out.wait_for(lambda o: any("(60%)" in c.text for c in o.calls))
    finish.open()
    await asyncio.wait_for(task, 10)

    edits = out.of_kind("edit")
    key = out.of_kind("post")[0].key
    assert len(edits) >= 4
    assert booked[: len(edits)] == [(out.write_pace(WHERE).scope, (1, period), key, False)] * (len(edits) - 1) + [
        (out.write_pace(WHERE).scope, (1, period), key, True)
    ]
    # One edit per period in this channel, as its budget says.
    gaps = [b.at - a.at for a, b in zip(edits, edits[1:])]
    assert min(gaps) >= period * 0.9


async def test_a_flood_of_callbacks_costs_one_confirmation(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    core, out = await harness.start(web=True, **SLOW_POLL)
    task = await core.bot.handle(image_request("flooded"))
    await out.wait_for(lambda o: any(c.text.startswith("🎨 Generating") for c in o.calls))
    [kie_id] = kie.images.tasks
    claim = {"code": 200, "msg": "success", "data": {"taskId": kie_id, "state": "success",
                                                      "resultJson": '{"resultUrls": []}'}}
    statuses = await asyncio.gather(*(kie.images.send_callback(kie_id, body=claim) for _ in range(300)))
    assert set(statuses) == {200}
    await _callback_work_done()
    assert 1 <= kie.images.queries_for(kie_id) <= 2
    assert not task.done() and images_posted(out) == []


async def test_a_replayed_signed_callback_is_a_duplicate_and_costs_no_query(kie, harness):
    kie.images.webhook_key = "hmac-secret"
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))
    core, out = await harness.start(web=True, hmac_key="hmac-secret", **SLOW_POLL)
    task = await core.bot.handle(image_request())
    await out.wait_for(lambda o: any(c.text.startswith("🎨 Generating") for c in o.calls))
    [kie_id] = kie.images.tasks
    headers = kie.images.signed_headers(kie_id)
    claim = {"code": 200, "msg": "success", "data": {"taskId": kie_id, "state": "success",
                                                      "resultJson": '{"resultUrls": []}'}}
    assert await kie.images.send_callback(kie_id, body=claim, headers=headers) == 200
    await kie.images.wait_for(lambda f: f.queries_for(kie_id) == 1)
    other = {"code": 501, "msg": "anything", "data": {"taskId": kie_id, "state": "fail", "failMsg": "forged"}}
    assert await kie.images.send_callback(kie_id, body=other, headers=headers) == 200
    assert '"duplicate"' in kie.images.last_callback_reply
    assert core.images.callback.replays == 1
    await _callback_work_done()
    assert kie.images.queries_for(kie_id) == 1 and not task.done()


async def test_a_deeply_nested_callback_body_is_a_400_and_one_log_line(kie, harness, caplog):
    caplog.set_level(logging.INFO)
    kie.images.jobs.append(ImageJob(finish=Gate(), callback="none"))
    core, out = await harness.start(web=True, **SLOW_POLL)
    await core.bot.handle(image_request())
    await out.wait_for(lambda o: any(c.text.startswith("🎨 Generating") for c in o.calls))
    token_url = kie.images.create_bodies[0]["callBackUrl"]
    nested = "[" * 100_000 + "]" * 100_000
    async with aiohttp.ClientSession() as http:
        async with http.post(token_url, data=nested, headers={"Content-Type": "application/json"}) as response:
            assert response.status == 400
    refused = [r for r in caplog.records if "not usable JSON" in r.getMessage()]
    assert len(refused) == 1 and not any(r.exc_info for r in caplog.records)


async def test_an_unknown_task_is_not_adopted_with_a_task_id_kie_created_for_another_callback(kie, harness):
    lost, other = Gate(), Gate()
    kie.images.jobs.extend([ImageJob(drop_create=True, finish=lost, callback="none"),
                            ImageJob(finish=other, callback="none")])
    core, out = await harness.start(web=True, **SLOW_POLL)
    await asyncio.wait_for(await core.bot.handle(image_request("mine")), 10)
    someone_else = await core.bot.handle(image_request("someone else's"))
    await kie.images.wait_for(lambda f: len(f.tasks) == 2)
    lost_id, other_id = list(kie.images.tasks)
    other.open()
    await kie.images.wait_for(lambda f: f.tasks[other_id].state == "success")
    # A callback on the lost task's token that names the other task.
    forged = kie.images.callback_body(kie.images.tasks[other_id])
    assert await kie.images.send_callback(lost_id, body=forged) == 200
    await _callback_work_done()
    assert images_posted(out) == []
    row = await core.store.fetchone("SELECT state, task_id FROM image_tasks WHERE prompt = 'mine'")
    assert (row["state"], row["task_id"]) == (UNKNOWN, None)
    someone_else.cancel()
