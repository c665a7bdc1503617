"""A harness for image tests: cores wired to the fake KIE and a recording outbound, with
every timing shrunk to milliseconds. A test may start several cores on one database
(a restart) and close them itself."""

from __future__ import annotations

import pytest

from bot.model import Attachment, Destination, Request, User
from bot.runtime import Core
from tests.fakes.outbound import RecordingOutbound

WHERE = Destination(platform="fake", channel_id="c1")
USER = User(id="u1", name="ann")

FAST = dict(
    image_poll_fast_s=0.01,
    image_poll_medium_s=0.01,
    image_poll_slow_s=0.01,
    image_give_up_s=60.0,
    image_status_limit=1000,
    image_request_timeout_s=5.0,
)
# Polls so rare that only a callback (or a resume) can deliver within a test.
SLOW_POLL = dict(image_poll_fast_s=120.0, image_poll_medium_s=120.0, image_poll_slow_s=120.0)


def image_request(prompt: str = "a red fox in the snow", *, attachments: tuple[Attachment, ...] = (), **options) -> Request:
    return Request(command="image", prompt=prompt, user=USER, where=WHERE, options=options, attachments=attachments)


def attachment(name: str, data: bytes, content_type: str | None = "image/png", size: int | None = None) -> Attachment:
    async def fetch() -> bytes:
        return data

    return Attachment(name=name, content_type=content_type, size=len(data) if size is None else size, fetch=fetch)


class Harness:
    def __init__(self, kie, settings_for) -> None:
        self.kie = kie
        self.settings_for = settings_for
        self.open: list[Core] = []

    async def start(
        self, *, web: bool = False, hmac_key: str | None = None, outbound=None, **overrides
    ) -> tuple[Core, RecordingOutbound]:
        """A core with a registered outbound (a `RecordingOutbound` unless `outbound` is
        given), its image service started (which resumes tasks)."""
        values = {**FAST, **overrides}
        if hmac_key is not None:
            values["kie_webhook_hmac_key"] = hmac_key
        core = await Core.create(self.settings_for(self.kie, **values))
        self.open.append(core)
        self.prepare(core)
        out = outbound if outbound is not None else RecordingOutbound()
        core.bot.register_outbound("fake", out)
        if web:
            await core.web.start()
            core.images.public_base_url = f"http://127.0.0.1:{core.web.bound_port}"
        for extension in core.extensions:
            await extension.start()
        return core, out

    def prepare(self, core: Core) -> None:
        """Adjust a new core before anything starts (subclasses: a fixed clock, say)."""

    async def close(self, core: Core) -> None:
        self.open.remove(core)
        await core.close()


@pytest.fixture
async def harness(kie, settings_for):
    h = Harness(kie, settings_for)
    yield h
    for core in list(h.open):
        await h.close(core)


def progress_texts(out: RecordingOutbound) -> list[str]:
    return [c.text for c in out.of_kind("post", "edit")]


def images_posted(out: RecordingOutbound):
    return out.of_kind("images")
