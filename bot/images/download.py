"""Download a finished image at once (KIE's result links expire), through the URL guard,
with a size cap and a check that the bytes really are an image."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from .. import messages
from ..errors import BotError
from ..ports import ImageFile
from .magic import EXTENSIONS, sniff
from .netguard import HttpStatus, Refused, TooLarge, UrlGuard

log = logging.getLogger(__name__)


class DownloadError(BotError):
    """`reason` is a user-readable clause; `permanent` errors are not retried."""

    def __init__(self, reason: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status  # the HTTP status, when the file server answered with one

    @property
    def expired(self) -> bool:
        """KIE's result links expire; its file server then answers 403 (or 404/410)."""
        return self.status in (403, 404, 410)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


async def download_once(
    session: aiohttp.ClientSession, url: str, *, max_bytes: int, timeout: float, guard: UrlGuard
) -> bytes:
    try:
        return await guard.fetch(session, url, max_bytes=max_bytes, timeout=timeout)
    except TooLarge:
        raise DownloadError(messages.IMAGE_TOO_LARGE.format(limit=_megabytes(max_bytes)), permanent=True) from None
    except Refused as exc:
        log.warning("refused to fetch a result URL: %s", exc)
        raise DownloadError(messages.IMAGE_REFUSED_URL, permanent=True) from None
    except HttpStatus as exc:
        raise DownloadError(f"HTTP {exc.status}", permanent=400 <= exc.status < 500, status=exc.status) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("image download failed: %s", type(exc).__name__)
        raise DownloadError(messages.IMAGE_UNREACHABLE, permanent=False) from None


async def download_image(
    session: aiohttp.ClientSession,
    url: str,
    *,
    name: str,
    max_bytes: int,
    guard: UrlGuard,
    timeout: float = 60.0,
    attempts: int = 3,
    backoff: float = 1.0,
) -> ImageFile:
    """Fetch `url` as `name.<ext>`; retry passing failures, never a wrong or oversized file."""
    for attempt in range(1, attempts + 1):
        try:
            data = await download_once(session, url, max_bytes=max_bytes, timeout=timeout, guard=guard)
            break
        except DownloadError as exc:
            if exc.permanent or attempt == attempts:
                raise
            await asyncio.sleep(backoff * attempt)
    kind = sniff(data)
    if kind is None:
        raise DownloadError(messages.IMAGE_NOT_AN_IMAGE, permanent=True)
    return ImageFile(filename=f"{name}.{EXTENSIONS[kind]}", content_type=kind, data=data)
