"""The console's outbound side: replies stream to stdout, images are saved to a folder.

Images are written to a temp file and renamed into place (never a partial file); a
failed save (a full disk) is reported as retryable, so the task stays pending.

A terminal cannot edit what it printed, but a streamed reply only ever grows, so an
"edit" prints the new tail. The final edit of a reply carries no controls; that is when
the line is finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.errors import AdapterError
from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, ImageFile, Pace

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

    def write_pace(self, where: Destination, ref: MessageRef | None = None) -> Pace:
        return Pace("console", None)  # a terminal has no rate limit

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

    async def post_images(
        self, where: Destination, files: Sequence[ImageFile], caption: str, *, key: str | None = None
    ) -> MessageRef:
        """Save each file; a delivery `key` names the files, so a second delivery of the same
        task (after a crash) finds them saved and prints their paths instead of saving copies."""
        try:
            paths = await asyncio.to_thread(self._save_all, files, key)
        except OSError as exc:
            reason = f"the image could not be saved to {self._image_dir} ({exc.strerror or exc})"
            raise AdapterError(f"saving an image failed: {exc!r}", user_message=reason, retryable=True) from None
        for path in paths:
            self._write(f"{path}\n")
        return MessageRef(platform="console", key=str(next(self._ids)))

    def _save_all(self, files: Sequence[ImageFile], key: str | None) -> list[Path]:
        self._image_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        if key is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for file in files:
                path = self._unique(self._image_dir / f"{stamp}-{file.filename}")
                save_atomically(path, file.data)
                paths.append(path)
            return paths
        for file in files:
            path = self._image_dir / f"{key[:12]}-{file.filename}"
            if not path.exists():  # a file only ever appears complete (renamed into place)
                save_atomically(path, file.data)
            paths.append(path)
        return paths

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


def save_atomically(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, flush it to disk, then rename: the file
    appears whole or not at all. A failed write (a full disk) removes the temp file."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
