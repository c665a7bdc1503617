"""KIE's creation limit (20 new tasks per 10 s): the bot queues the excess and tells
each waiting user their place instead of failing with 429."""

from __future__ import annotations

import asyncio
import re

from tests.fakes.kie_images import ImageJob

from .conftest import image_request, images_posted


async def test_requests_beyond_the_creation_limit_wait_in_line_and_are_told_their_place(kie, harness):
    kie.images.create_limit = (2, 0.4)  # as strict as KIE, slightly shorter window than the bot's
    core, out = await harness.start(image_create_limit=2, image_create_window_s=0.5)
    tasks = [await core.bot.handle(image_request(f"fox {n}")) for n in range(5)]
    await asyncio.wait_for(asyncio.gather(*tasks), 10)

    places = sorted(int(m.group(1)) for c in out.calls if (m := re.search(r"number (\d+) in the queue", c.text)))
    assert places == [1, 2, 3]
    assert sorted(c.text for c in images_posted(out)) == [f"fox {n}" for n in range(5)]
    assert len(kie.images.create_bodies) == 5
    assert kie.images.create_requests == 5  # none was refused with 429


async def test_a_429_from_kie_is_queued_again_not_shown(kie, harness):
    kie.images.jobs.append(ImageJob(create_code=429, create_msg="Rate limited"))
    core, out = await harness.start()
    core.images._retry_backoff = 0.01
    await (await core.bot.handle(image_request()))
    assert kie.images.create_requests == 2
    assert len(images_posted(out)) == 1
