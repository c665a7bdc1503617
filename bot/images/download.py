"""Download a finished image at once (KIE's result links expire), with a size cap and a
check that the bytes really are an image."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from .. import messages
from ..errors import BotError
from ..ports import ImageFile
from .magic import EXTENSIONS, sniff

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


class DownloadError(BotError):
    """`reason` is a user-readable clause; `permanent` errors are not retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


async def download_once(session: aiohttp.ClientSession, url: str, *, max_bytes: int, timeout: float) -> bytes:
    too_large = DownloadError(messages.IMAGE_TOO_LARGE.format(limit=_megabytes(max_bytes)), permanent=True)
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status >= 400:
                raise DownloadError(f"HTTP {response.status}", permanent=400 <= response.status < 500)
            if response.content_length is not None and response.content_length > max_bytes:
                raise too_large
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    raise too_large
            return bytes(data)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("image download failed: %s", type(exc).__name__)
        raise DownloadError(messages.IMAGE_UNREACHABLE, permanent=False) from None


async def download_image(
    session: aiohttp.ClientSession,
    url: str,
    *,
    name: str,
    max_bytes: int,
    timeout: float = 60.0,
    attempts: int = 3,
    backoff: float = 1.0,
) -> ImageFile:
    """Fetch `url` as `name.<ext>`; retry passing failures, never a wrong or oversized file."""
    for attempt in range(1, attempts + 1):
        try:
            data = await download_once(session, url, max_bytes=max_bytes, timeout=timeout)
            break
        except DownloadError as exc:
            if exc.permanent or attempt == attempts:
                raise
            await asyncio.sleep(backoff * attempt)
    kind = sniff(data)
    if kind is None:
        raise DownloadError(messages.IMAGE_NOT_AN_IMAGE, permanent=True)
    return ImageFile(filename=f"{name}.{EXTENSIONS[kind]}", content_type=kind, data=data)
