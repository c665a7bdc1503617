"""Downloading the private files people attach on Slack.

Slack files need the bot token (and the `files:read` scope). Without them Slack answers
200 with its HTML sign-in page rather than an error, so an HTML answer is treated as a
refusal instead of being handed to the model as the "image".

The token goes only to Slack's own file hosts (`files.slack.com` and other `*.slack.com`
hosts, `slack-files.com`, `*.slack-gov.com`, over https) and to the host of the configured
`SLACK_API_URL` (the fakes in tests). An event can carry any `url_private`, so a file
elsewhere is refused, and redirects are followed by hand, each hop checked the same way.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.errors import AdapterError

MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
MAX_REDIRECTS = 3
SLACK_FILE_DOMAINS = ("slack.com", "slack-files.com", "slack-gov.com")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class SlackFiles:
    def __init__(self, http: aiohttp.ClientSession, token: str, *, api_url: str = "https://slack.com/api/") -> None:
        self._http = http
        self._token = token
        self._api_origin = _origin(api_url)

    def may_send_token(self, url: str) -> bool:
        scheme, host, port = _origin(url)
        if (scheme, host, port) == self._api_origin:
            return True
        return scheme == "https" and port in (None, 443) and any(
            host == domain or host.endswith("." + domain) for domain in SLACK_FILE_DOMAINS
        )

    async def download(self, url: str) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            if not self.may_send_token(url):
                raise AdapterError(f"refused to send the bot token to {_origin(url)[1] or 'a URL'} (not a Slack file host)")
            headers = {"Authorization": f"Bearer {self._token}"}
            async with self._http.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
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
        raise AdapterError("Slack file download redirected too many times")
