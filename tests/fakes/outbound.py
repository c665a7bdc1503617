"""A recording `Outbound` for core tests: every call is kept, in order, with its time."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.errors import AdapterError
from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, ImageFile, Pace


@dataclass
class Call:
    kind: str  # "post", "edit", "images", "status"
    key: str | None
    text: str
    controls: Controls | None = None
    at: float = 0.0
    files: Sequence[ImageFile] = ()
    delivery_key: str | None = None


@dataclass
class RecordingOutbound:
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(max_chars=2000, min_edit_interval=0.05))
    platform: str = "fake"
    calls: list[Call] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # current text of each message
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)

    def write_pace(self, where: Destination, ref: MessageRef | None = None) -> Pace:
        return Pace(where.channel_id, self.capabilities.shared_edit_budget)

    async def _record(self, call: Call) -> None:
        call.at = time.monotonic()
        self.calls.append(call)
        async with self.changed:
            self.changed.notify_all()

    async def post(self, where: Destination, text: str, *, controls: Controls | None = None) -> MessageRef:
        ref = MessageRef(platform=self.platform, key=f"m{next(self._ids)}")
        self.texts[ref.key] = text
        await self._record(Call("post", ref.key, text, controls))
        return ref

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        self.texts[ref.key] = text
        await self._record(Call("edit", ref.key, text, controls))

    async def post_images(
        self, where: Destination, files: Sequence[ImageFile], caption: str, *, key: str | None = None
    ) -> MessageRef:
        ref = MessageRef(platform=self.platform, key=f"m{next(self._ids)}")
        await self._record(Call("images", ref.key, caption, files=tuple(files), delivery_key=key))
        return ref

    async def status(self, where: Destination, text: str) -> None:
        await self._record(Call("status", None, text))

    # -- helpers for assertions --------------------------------------------------------
    def of_kind(self, *kinds: str) -> list[Call]:
        return [c for c in self.calls if c.kind in kinds]

    async def wait_for(self, predicate, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self))


@dataclass
class FlakyOutbound(RecordingOutbound):
    """Fails its first edit, as a platform hiccup would; with `hold` set, the failing edit
    stays in flight until the test sets it."""

    hold: asyncio.Event | None = None

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        if not self.of_kind("failed-edit"):
            await self._record(Call("failed-edit", ref.key, text, controls))
            if self.hold is not None:
                await self.hold.wait()
            raise AdapterError("503 from the platform")
        await super().edit(ref, text, controls=controls)


def die_after_posting(out) -> asyncio.Event:
    """Let the real post happen, then never return (the process "dies" before recording it)."""
    posted = asyncio.Event()
    real = out.post_images

    async def post_then_die(where, files, caption, *, key=None):
        await real(where, files, caption, key=key)
        posted.set()
        await asyncio.Event().wait()

    out.post_images = post_then_die
    return posted
