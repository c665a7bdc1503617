"""`/image`: the translation into a neutral request, `post_images` uploading files, and
the whole command through the core's image service.

Most tests put a stand-in handler in place of the core's, to see the exact request the
adapter builds; the last one runs the real image service against the fake KIE.
"""

from __future__ import annotations

from bot import messages as core_messages
from bot.model import Destination, Request
from bot.ports import ImageFile, Outbound
from tests.fakes import discord_payloads as p
from tests.fakes.kie_images import I2I, png

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 2048
IMAGE_FAST = dict(image_poll_fast_s=0.01, image_poll_medium_s=0.01, image_poll_slow_s=0.01, image_status_limit=1000)


class StandInImageHandler:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.reference: bytes | None = None

    async def run(self, request: Request, out: Outbound) -> None:
        self.requests.append(request)
        if request.attachments:
            self.reference = await request.attachments[0].fetch()
        await out.edit(request.placeholder, "Generating your image… 40%")
        await out.post_images(request.where, [ImageFile(filename="kie-1.png", content_type="image/png", data=PNG)], "A red fox")
        await out.edit(request.placeholder, "Done.")


async def test_image_options_and_reference_become_a_neutral_request(h):
    handler = StandInImageHandler()
    h.core.bot.register_handler("image", handler)
    url = h.api.cdn_file("ref.png", b"reference-bytes")
    ref = p.attachment(url, filename="ref.png")

    payload = await h.command(
        "image", {"prompt": "a red fox", "ratio": "3:2", "quality": "high", "engine": "4o"}, attachments={"reference": ref}
    )
    await h.settle()

    (request,) = handler.requests
    assert request.command == "image" and request.prompt == "a red fox"
    assert dict(request.options) == {"ratio": "3:2", "quality": "high", "engine": "4o"}
    assert request.where.channel_id == str(p.CHANNEL_ID) and request.where.team_id == str(p.GUILD_ID)
    (attachment,) = request.attachments
    assert (attachment.name, attachment.content_type, attachment.url) == ("ref.png", "image/png", url)
    assert handler.reference == b"reference-bytes"  # `fetch` downloads from Discord's CDN
    assert request.placeholder.key == f"{p.CHANNEL_ID}:{h.original_id(payload)}"
    assert [c for c in h.api.calls if payload["token"] in c.path][0].json == {"type": 5}


async def test_post_images_uploads_the_file_with_its_caption(h):
    h.core.bot.register_handler("image", StandInImageHandler())
    payload = await h.command("image", {"prompt": "a red fox"})
    await h.settle()

    (upload,) = [c for c in h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages") if c.files]
    assert upload.files == [("kie-1.png", len(PNG))]
    assert upload.json["content"] == "A red fox"
    assert upload.json["allowed_mentions"] == {"parse": []}
    assert h.original_edits(payload)[-1].json["content"] == "Done."


async def test_many_images_are_spread_over_messages_of_ten(h):
    out = h.adapter.out  # the outbound on its own: 12 files need two messages
    files = [ImageFile(filename=f"kie-{i}.png", content_type="image/png", data=PNG) for i in range(12)]
    ref = await out.post_images(Destination(platform="discord", channel_id=str(p.CHANNEL_ID)), files, "Twelve foxes")

    uploads = [c for c in h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages") if c.files]
    assert [len(c.files) for c in uploads] == [10, 2]
    assert uploads[0].json["content"] == "Twelve foxes" and not uploads[1].json.get("content")
    assert ref.key.startswith(f"{p.CHANNEL_ID}:")


async def test_image_end_to_end_through_the_image_service(make_harness):
    """The core's image handler: progress in the deferred response, the PNG uploaded as a file."""
    h = await make_harness(**IMAGE_FAST)
    for extension in h.core.extensions:
        await extension.start()
    reference = h.api.cdn_file("me.png", png(3, 3))

    payload = await h.command(
        "image", {"prompt": "a red fox in the snow", "ratio": "2:3"}, attachments={"reference": p.attachment(reference, filename="me.png")}
    )
    await h.settle()

    assert [c for c in h.api.calls if payload["token"] in c.path][0].json == {"type": 5}
    progress = [c.json["content"] for c in h.original_edits(payload)]
    assert progress[0].startswith("🎨") and progress[-1] == core_messages.IMAGE_DONE
    (upload,) = [c for c in h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages") if c.files]
    assert upload.files[0][1] == len(png()) and upload.json["allowed_mentions"] == {"parse": []}
    (body,) = h.kie.images.create_bodies
    assert body["model"] == I2I and body["input"]["aspect_ratio"] == "2:3"
    assert h.kie.uploads[0]["fileSize"] == len(png(3, 3))  # the reference went through KIE's upload
