"""What /image sends to KIE for each engine and option, and what it refuses before any
credit is spent."""

from __future__ import annotations

import pytest

from bot import messages
from bot.images.options import MAX_PROMPT_CHARS
from bot.model import Attachment
from tests.fakes.kie import Gate
from tests.fakes.kie_images import I2I, T2I, ImageJob, png

from .conftest import attachment, image_request, images_posted, progress_texts

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\0" * 32


async def test_options_reach_gpt_image(kie, harness):
    core, out = await harness.start()
    await (await core.bot.handle(image_request("a tall tower", ratio="2:3", quality="HIGH")))
    assert kie.images.create_bodies == [
        {"model": T2I, "input": {"prompt": "a tall tower", "aspect_ratio": "2:3", "quality": "high"}}
    ]
    assert len(images_posted(out)) == 1


async def test_references_are_checked_uploaded_and_sent_as_input_urls(kie, harness):
    core, out = await harness.start()
    refs = (attachment("me.png", png()), attachment("photo.jpg", JPEG, content_type="image/jpeg"))
    await (await core.bot.handle(image_request("put me in the photo", attachments=refs, ratio="3:2")))
    assert [u["mimeType"] for u in kie.uploads] == ["image/png", "image/jpeg"]
    [body] = kie.images.create_bodies
    assert body["model"] == I2I
    assert body["input"]["input_urls"] == [f"{kie.url}/files/1/{kie.uploads[0]['fileName']}",
                                           f"{kie.url}/files/2/{kie.uploads[1]['fileName']}"]
    assert body["input"]["aspect_ratio"] == "3:2"
    # Upload names are unique per request: KIE overwrites a file uploaded under the same name.
    assert len({u["fileName"] for u in kie.uploads}) == 2
    assert len(images_posted(out)) == 1


async def test_the_4o_engine_uses_its_own_endpoints_and_shows_its_progress(kie, harness):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, progress=("0.25", "0.60"), snake_case_urls=True))
    core, out = await harness.start(image_4o_fallback=True, image_4o_fallback_model="GPT_IMAGE_1")
    refs = (attachment("ref.webp", WEBP, content_type="image/webp"),)
    task = await core.bot.handle(image_request("a cat", attachments=refs, engine="4o", ratio="3:2"))
    await out.wait_for(lambda o: any("(60%)" in c.text for c in o.calls))
    finish.open()
    await task
    [body] = kie.images.create_bodies
    assert body == {
        "prompt": "a cat",
        "size": "3:2",
        "enableFallback": True,
        "fallbackModel": "GPT_IMAGE_1",
        "filesUrl": [f"{kie.url}/files/1/{kie.uploads[0]['fileName']}"],
    }
    [kie_id] = kie.images.tasks
    # Status came from 4o's record-info (a jobs recordInfo query for a 4o task is a 404).
    assert kie_id.startswith("task_4o_") and kie.images.tasks[kie_id].queries == len(kie.images.queries)
    texts = progress_texts(out)
    assert messages.IMAGE_GENERATING_PERCENT.format(percent=25, prompt="a cat") in texts
    assert messages.IMAGE_GENERATING_PERCENT.format(percent=60, prompt="a cat") in texts
    assert texts[-1] == messages.IMAGE_DONE
    assert len(images_posted(out)) == 1


BIG = 10 * 1024 * 1024 + 1


@pytest.mark.parametrize(
    ("prompt", "options", "refs", "expected"),
    [
        ("a fox", {"ratio": "16:9"}, (), "Unknown aspect ratio '16:9'. Choose one of: 1:1, 2:3, 3:2."),
        ("a fox", {"quality": "ultra"}, (), "Unknown quality 'ultra'. Choose one of: medium, high."),
        ("a fox", {"engine": "dall-e"}, (), "Unknown engine 'dall-e'. Choose gpt-image-1.5 (the default) or 4o."),
        ("a fox", {"engine": "4o", "quality": "high"}, (),
         "The 4o engine has no quality setting; leave out --quality or use gpt-image-1.5."),
        ("a fox", {"ref": ["x.png"]}, (),
         "Unknown option 'ref' for /image. Accepted: ratio, quality, engine. Reference images are attachments."),
        ("   ", {}, (), "Describe the image after /image, for example: /image a red fox in the snow, watercolour"),
        ("x" * (MAX_PROMPT_CHARS + 1), {}, (), f"That prompt is 4,001 characters; the limit is {MAX_PROMPT_CHARS:,}."),
        ("a fox", {}, tuple(attachment(f"r{n}.png", png()) for n in range(6)),
         "Attach at most 5 reference images (you attached 6)."),
        ("a fox", {}, (attachment("notes.txt", b"hello", content_type="text/plain"),),
         "notes.txt is not an image (text/plain). Reference images must be PNG, JPEG or WebP."),
        ("a fox", {}, (attachment("ok.png", png()), attachment("fake.png", b"<svg></svg>")),
         "fake.png is not a PNG, JPEG or WebP image, so KIE cannot use it as a reference."),
        ("a fox", {}, (attachment("anim.gif", b"GIF89a" + b"\0" * 20, content_type="image/gif"),),
         "anim.gif is not a PNG, JPEG or WebP image, so KIE cannot use it as a reference."),
        ("a fox", {}, (attachment("huge.png", png(), size=BIG),),
         "huge.png is larger than 10 MB, KIE's limit for reference images."),
        ("a fox", {}, (attachment("liar.png", b"\x89PNG\r\n\x1a\n" + b"\0" * BIG, size=10),),
         "liar.png is larger than 10 MB, KIE's limit for reference images."),
    ],
)
async def test_bad_input_is_refused_before_any_credit_is_spent(kie, harness, prompt, options, refs, expected):
    core, out = await harness.start()
    await (await core.bot.handle(image_request(prompt, attachments=refs, **options)))
    assert progress_texts(out)[-1] == expected
    assert kie.images.create_requests == 0
    assert kie.uploads == []
    assert images_posted(out) == []


async def test_an_unreadable_reference_is_refused(kie, harness):
    async def broken() -> bytes:
        raise ConnectionResetError("gone")

    ref = Attachment(name="gone.png", content_type="image/png", size=None, fetch=broken)
    core, out = await harness.start()
    await (await core.bot.handle(image_request(attachments=(ref,))))
    assert progress_texts(out)[-1] == "Could not read the reference image gone.png."
    assert kie.images.create_requests == 0


async def test_a_refused_upload_is_told_and_nothing_is_created(kie, harness):
    core, out = await harness.start(kie_upload_base_url=kie.url + "/nowhere")
    await (await core.bot.handle(image_request(attachments=(attachment("a.png", png()),))))
    assert kie.images.create_requests == 0
    assert progress_texts(out)[-1].startswith("KIE")
