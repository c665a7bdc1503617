"""What KIE points at is fetched only from public addresses (or KIE's own hosts), a
bounded number of times and a bounded number of bytes."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bot import messages
from bot.errors import UpstreamError
from bot.images.records import FAILED
from tests.fakes.kie import Gate
from tests.fakes.kie_images import ImageJob, png
from tests.fakes.loopback import serve

from .conftest import image_request, images_posted, progress_texts


class InternalService:
    """Something on the bot's own network that must never be fetched on KIE's say-so."""

    def __init__(self) -> None:
        self.hits = 0
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self._serve)
        self.url = ""

    async def _serve(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(body=png(), content_type="image/png")


@pytest.fixture
async def internal():
    service = InternalService()
    runner, port = await serve(service.app)
    service.url = f"http://127.0.0.1:{port}"
    yield service
    await runner.cleanup()


async def _state(core) -> str:
    [row] = await core.store.fetchall("SELECT state FROM image_tasks")
    return row["state"]


async def test_a_result_url_on_a_private_address_is_refused_and_never_fetched(kie, harness, internal):
    kie.images.jobs.append(ImageJob(result_urls=(f"{internal.url}/admin/secret.png",)))
    core, out = await harness.start()
    await asyncio.wait_for(await core.bot.handle(image_request()), 10)
    assert internal.hits == 0
    assert images_posted(out) == []
    assert progress_texts(out)[-1] == messages.IMAGE_DOWNLOAD_FAILED.format(reason=messages.IMAGE_REFUSED_URL)
    assert await _state(core) == FAILED


async def test_a_redirect_to_a_private_address_is_refused_at_that_hop(kie, harness, internal):
    kie.images.jobs.append(ImageJob(redirect_to=f"{internal.url}/metadata"))
    core, out = await harness.start()
    await asyncio.wait_for(await core.bot.handle(image_request()), 10)
    assert internal.hits == 0
    assert images_posted(out) == []
    assert progress_texts(out)[-1] == messages.IMAGE_DOWNLOAD_FAILED.format(reason=messages.IMAGE_REFUSED_URL)


async def test_more_results_than_the_cap_are_not_fetched(kie, harness):
    kie.images.jobs.append(ImageJob(images=4))
    core, out = await harness.start(image_max_results=3)
    await asyncio.wait_for(await core.bot.handle(image_request()), 10)
    assert kie.images.downloads == 0
    reason = messages.IMAGE_TOO_MANY.format(count=4, limit=3)
    assert progress_texts(out)[-1] == messages.IMAGE_DOWNLOAD_FAILED.format(reason=reason)


async def test_a_huge_status_reply_is_not_read_whole(kie, harness):
    kie.images.jobs.append(ImageJob(finish=Gate(), callback="none"))
    core, _ = await harness.start(image_poll_fast_s=60.0)
    await core.bot.handle(image_request())
    await kie.images.wait_for(lambda f: f.tasks)
    [kie_id] = kie.images.tasks
    assert (await core.images.client.status("jobs", kie_id)).state == "pending"
    kie.images.status_padding = 3 * 1024 * 1024
    with pytest.raises(UpstreamError):
        await core.images.client.status("jobs", kie_id)
