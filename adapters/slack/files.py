"""Downloading the private files people attach on Slack.

Slack files need the bot token (and the `files:read` scope). Without them Slack answers
200 with its HTML sign-in page rather than an error, so an HTML answer is treated as a
refusal instead of being handed to the model as the "image".
"""

from __future__ import annotations

import aiohttp

from bot.errors import AdapterError

MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024


class SlackFiles:
    def __init__(self, http: aiohttp.ClientSession, token: str) -> None:
        self._http = http
        self._token = token

    async def download(self, url: str) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._http.get(url, headers=headers) as response:
            if response.status != 200:
                raise AdapterError(f"Slack file download failed with HTTP {response.status}")
            if response.content_type == "text/html":
                raise AdapterError("Slack served a sign-in page for a file: the app needs the files:read scope")
            chunks, total = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                total += len(chunk)
                if total > MAX_DOWNLOAD_BYTES:
                    raise AdapterError("Slack file is too large to download")
                chunks.append(chunk)
        return b"".join(chunks)
