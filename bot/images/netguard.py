"""Fetch what KIE points at without letting it point inside our network.

A result URL (or a console `--ref` URL) is data from outside. Before each request, and
again for every redirect hop, the host is resolved and refused when any address it
resolves to is loopback, private, link-local, multicast, reserved or unspecified; the
configured KIE hosts (`KIE_BASE_URL`, `KIE_UPLOAD_BASE_URL`, matched on host and port)
are trusted as they are, so local fakes keep working. Bodies are streamed with a byte
cap, never read whole.

Limit: the check resolves the name and aiohttp then resolves it again to connect, so a
DNS server that answers differently within that instant (DNS rebinding) is not stopped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import aiohttp

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class Refused(Exception):
    """The URL (or a hop it redirected to) is not one the bot may fetch."""


class TooLarge(Exception):
    """The body is longer than the cap."""


class HttpStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _origin(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )


class UrlGuard:
    def __init__(self, trusted_urls: Iterable[str]) -> None:
        self._trusted = {origin for origin in map(_origin, trusted_urls) if origin is not None}

    async def check(self, url: str) -> None:
        """Raise `Refused` unless `url` is http(s) and reaches only public addresses (or a KIE host)."""
        origin = _origin(url)
        if origin is None:
            raise Refused("not an http(s) URL")
        if origin in self._trusted:
            return
        host, port = origin
        try:
            addresses = [ipaddress.ip_address(host.strip("[]")).compressed]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise Refused(f"cannot resolve the host ({exc.strerror or exc})") from None
            addresses = [info[4][0] for info in infos]
        if not addresses or not all(_public(a) for a in addresses):
            raise Refused("the host is on a loopback, private or link-local address")

    async def fetch(
        self, session: aiohttp.ClientSession, url: str, *, max_bytes: int, timeout: float, headers: dict | None = None
    ) -> bytes:
        """GET `url`, following at most `MAX_REDIRECTS` redirects, each hop checked; at most
        `max_bytes` of body. Raises `Refused`, `TooLarge`, `HttpStatus` or aiohttp's errors."""
        for _ in range(MAX_REDIRECTS + 1):
            await self.check(url)
            async with session.get(
                url, allow_redirects=False, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status >= 400:
                    raise HttpStatus(response.status)
                return await read_capped(response, max_bytes)
        raise Refused("too many redirects")


async def read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, streamed, refused as soon as it passes `max_bytes`."""
    if response.content_length is not None and response.content_length > max_bytes:
        raise TooLarge()
    data = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        data += chunk
        if len(data) > max_bytes:
            raise TooLarge()
    return bytes(data)
