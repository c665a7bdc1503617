"""`/image` on Slack across a crash right after the upload: the restarted bot finds the
upload in the thread (`conversations.replies`) and does not upload a second copy."""

from __future__ import annotations

import asyncio

from bot.images.records import DONE
from tests.fakes.kie_images import png
from tests.images.conftest import FAST
from tests.fakes.outbound import die_after_posting

from .conftest import CHANNEL


async def test_a_crash_right_after_the_upload_does_not_upload_twice(make_bot, slack, kie):
    first = await make_bot(**FAST)
    posted = die_after_posting(first.adapter.out)
    first.core.images.stop_grace = 0.01
    await first.send.command("a lighthouse at dusk", command="/image")
    await asyncio.wait_for(posted.wait(), 10)
    await first.core.stop_services()
    await first.core.runner.cancel_all()

    second = await make_bot(**FAST)
    await asyncio.wait_for(second.core.drain(), 10)

    shared = [m for m in slack.bot_messages(CHANNEL) if m.files]
    assert len(shared) == 1 and [f["data"] for f in shared[0].files] == [png()]
    assert slack.count("files.completeUploadExternal") == 1
    assert slack.count("conversations.replies") >= 1  # the restarted bot looked before uploading
    assert await second.core.images.tasks.count(DONE) == 1
    [header] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]
    [progress] = [m for m in slack.bot_messages(CHANNEL, thread_ts=header.ts) if not m.files]
    assert progress.shown.endswith("Your image is ready.")
