"""`/image` on Discord across a crash right after the upload: the restarted bot sends the
upload again with the same nonce (`enforce_nonce`), and Discord (here its fake) returns
the message it already created instead of a second copy."""

from __future__ import annotations

import asyncio

from bot.images.records import DONE
from tests.fakes import discord_payloads as p
from tests.fakes.outbound import die_after_posting

from .test_image import IMAGE_FAST


async def test_a_crash_right_after_the_upload_does_not_post_twice(make_harness):
    first = await make_harness(**IMAGE_FAST)
    posted = die_after_posting(first.adapter.out)
    first.core.images.stop_grace = 0.01
    for extension in first.core.extensions:
        await extension.start()
    await first.command("image", {"prompt": "a red fox in the snow"})
    await asyncio.wait_for(posted.wait(), 10)
    await first.core.stop_services()
    await first.core.runner.cancel_all()

    second = await make_harness(**IMAGE_FAST)
    for extension in second.core.extensions:
        await extension.start()
    await asyncio.wait_for(second.core.drain(), 10)

    uploads = [c for c in second.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages") if c.files]
    assert len(uploads) == 2  # the restarted bot did send it again...
    assert uploads[0].json["nonce"] == uploads[1].json["nonce"] and uploads[1].json["enforce_nonce"] is True
    assert second.api.nonce_hits == 1  # ...and Discord answered with the first message
    with_files = [m for m in second.api.messages.values() if m.data.get("attachments")]
    assert len(with_files) == 1
    assert await second.core.images.tasks.count(DONE) == 1
