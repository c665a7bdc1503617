"""The console's outbound side: replies stream to stdout, images are saved to a folder.

A terminal cannot edit what it printed, but a streamed reply only ever grows, so an
"edit" prints the new tail. The final edit of a reply carries no controls; that is when
the line is finished.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, ImageFile

CAPABILITIES = Capabilities(
    max_chars=1_000_000,
    can_edit=True,
    min_edit_interval=0.0,
    max_file_bytes=50 * 1024 * 1024,
    cursor=False,
)


class ConsoleOutbound:
    capabilities = CAPABILITIES

    def __init__(self, stdout: TextIO, image_dir: Path) -> None:
        self._out = stdout
        self._image_dir = image_dir
        self._shown: dict[str, str] = {}
        self._ids = itertools.count(1)

    def pace_scope(self, where: Destination) -> str:
        return "console"

    async def post(self, where: Destination, text: str, *, controls: Controls | None = None) -> MessageRef:
        ref = MessageRef(platform="console", key=str(next(self._ids)))
        self._shown[ref.key] = ""
        await self.edit(ref, text, controls=controls)
        return ref

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        shown = self._shown.get(ref.key, "")
        if text.startswith(shown):
            self._write(text[len(shown) :])
        else:  # the text was rewritten (not a growing stream): print it again in full
            self._write("\n" + text)
        if controls is None:
            self._write("\n")
            self._shown.pop(ref.key, None)
        else:
            self._shown[ref.key] = text

    async def post_images(self, where: Destination, files: Sequence[ImageFile], caption: str) -> MessageRef:
        self._image_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for file in files:
            path = self._unique(self._image_dir / f"{stamp}-{file.filename}")
            path.write_bytes(file.data)
            self._write(f"{path}\n")
        return MessageRef(platform="console", key=str(next(self._ids)))

    async def status(self, where: Destination, text: str) -> None:
        """A terminal shows no transient status; the reply itself appears at once."""

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._out.flush()

    @staticmethod
    def _unique(path: Path) -> Path:
        candidate, n = path, 1
        while candidate.exists():
            n += 1
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        return candidate
