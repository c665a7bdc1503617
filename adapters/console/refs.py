"""Turn `/image --ref PATH_OR_URL` values into attachments (translation, so it lives here).

A path is read from disk; a URL is downloaded with a size cap. The core checks the
bytes (type, size) and uploads them to KIE, the same as for a Discord or Slack file.
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import aiohttp

from bot.errors import UsageError
from bot.images.netguard import HttpStatus, Refused, TooLarge, UrlGuard
from bot.images.references import MAX_REFERENCE_BYTES
from bot.model import Attachment

_TIMEOUT_S = 30.0


def _from_path(text: str) -> Attachment:
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(f"No such file: {text}")

    async def fetch() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    return Attachment(
        name=path.name, content_type=mimetypes.guess_type(path.name)[0], size=path.stat().st_size, fetch=fetch
    )


def _from_url(url: str, http: aiohttp.ClientSession, guard: UrlGuard) -> Attachment:
    async def fetch() -> bytes:
        # Through the guard: no private or local addresses (every redirect hop checked),
        # and no more than one byte past KIE's limit is read (the core then refuses it).
        try:
            return await guard.fetch(http, url, max_bytes=MAX_REFERENCE_BYTES + 1, timeout=_TIMEOUT_S)
        except Refused as exc:
            raise UsageError(f"The reference {url} was refused: {exc}.") from None
        except TooLarge:
            return b"\0" * (MAX_REFERENCE_BYTES + 1)  # the core reports it as too large
        except HttpStatus as exc:
            raise UsageError(f"Could not read the reference {url} (HTTP {exc.status}).") from None

    name = PurePosixPath(urlparse(url).path).name or "reference"
    return Attachment(name=name, content_type=None, size=None, fetch=fetch, url=url)


def reference_attachments(values: list[str], http: aiohttp.ClientSession, guard: UrlGuard) -> tuple[Attachment, ...]:
    return tuple(_from_url(v, http, guard) if v.startswith(("http://", "https://")) else _from_path(v) for v in values)
