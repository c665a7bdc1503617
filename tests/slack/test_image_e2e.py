"""`/image` end to end on Slack: the real Bolt app, the core's image service and the fake
KIE image API; the result is uploaded with files_upload_v2 into the command's thread."""

from __future__ import annotations

from tests.fakes.kie import Gate
from tests.fakes.kie_images import ImageJob, png
from tests.images.conftest import FAST

from .conftest import CHANNEL


async def test_image_command_shows_progress_and_uploads_the_result_into_the_thread(make_bot, slack, kie):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish))
    bot = await make_bot(**FAST)
    ack = await bot.send.command("--ratio 3:2 --quality high a lighthouse at dusk <!channel>", command="/image")
    assert ack.status == 200 and ack.body == ""
    await slack.wait_for(lambda s: any(m.thread_ts for m in s.bot_messages(CHANNEL)))
    [header] = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None]
    # Progress shows in the thread while KIE works.
    [progress] = slack.bot_messages(CHANNEL, thread_ts=header.ts)
    assert "lighthouse" in progress.shown
    finish.open()
    await slack.wait_for(lambda s: any(m.files for m in s.bot_messages(CHANNEL)), timeout=10)
    await bot.core.drain()

    [shared] = [m for m in slack.bot_messages(CHANNEL, thread_ts=header.ts) if m.files]
    assert [f["data"] for f in shared.files] == [png()]
    assert shared.text == "a lighthouse at dusk @\u200bchannel"  # readable, and notifies no one
    [body] = kie.images.create_bodies
    assert body["input"] == {"prompt": "a lighthouse at dusk @channel", "aspect_ratio": "3:2", "quality": "high"}
    await slack.wait_for(lambda s: progress.shown.endswith("Your image is ready."))
    assert slack.count("files.completeUploadExternal") == 1
