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
from bot.images.references import MAX_REFERENCE_BYTES
from bot.model import Attachment

_TIMEOUT = aiohttp.ClientTimeout(total=30)


def _from_path(text: str) -> Attachment:
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(f"No such file: {text}")

    async def fetch() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    return Attachment(
        name=path.name, content_type=mimetypes.guess_type(path.name)[0], size=path.stat().st_size, fetch=fetch
    )


def _from_url(url: str, http: aiohttp.ClientSession) -> Attachment:
    async def fetch() -> bytes:
        data = bytearray()
        async with http.get(url, timeout=_TIMEOUT) as response:
            response.raise_for_status()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > MAX_REFERENCE_BYTES:
                    break  # enough to know it is too large; the core refuses it
        return bytes(data)

    name = PurePosixPath(urlparse(url).path).name or "reference"
    return Attachment(name=name, content_type=None, size=None, fetch=fetch, url=url)


def reference_attachments(values: list[str], http: aiohttp.ClientSession) -> tuple[Attachment, ...]:
    return tuple(_from_url(v, http) if v.startswith(("http://", "https://")) else _from_path(v) for v in values)
