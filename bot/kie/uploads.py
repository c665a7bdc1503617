"""KIE's File Upload API: turn bytes KIE cannot fetch itself (private Slack files, expiring
Discord links) into a temporary public URL. Uploads are free and kept for 3 days."""

from __future__ import annotations

import base64
import logging

import aiohttp
from pydantic import SecretStr

from .. import messages
from ..errors import UpstreamError
from .errors import envelope_message, error_for_status

log = logging.getLogger(__name__)

# KIE's advice: base64 for small files, the multipart stream upload above ~10 MB.
STREAM_ABOVE_BYTES = 8 * 1024 * 1024
UPLOAD_PATH = "chat-bot"


class KieUploader:
    def __init__(self, session: aiohttp.ClientSession, *, base_url: str, api_key: SecretStr) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._key = api_key

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Upload and return the file's download URL."""
        headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"}
        if len(data) > STREAM_ABOVE_BYTES:
            form = aiohttp.FormData()
            form.add_field("file", data, filename=filename, content_type=content_type)
            form.add_field("uploadPath", UPLOAD_PATH)
            form.add_field("fileName", filename)
            request = self._session.post(f"{self._base}/api/file-stream-upload", data=form, headers=headers)
        else:
            body = {
                "base64Data": f"data:{content_type};base64,{base64.b64encode(data).decode()}",
                "uploadPath": UPLOAD_PATH,
                "fileName": filename,
            }
            request = self._session.post(f"{self._base}/api/file-base64-upload", json=body, headers=headers)
        try:
            async with request as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                status = response.status
        except aiohttp.ClientError as exc:
            log.warning("KIE upload failed: %s", type(exc).__name__)
            raise UpstreamError(messages.ERR_CONNECT, retryable=True) from None
        code = body.get("code") if isinstance(body, dict) else None
        if status >= 400 or code != 200:
            raise error_for_status(code if isinstance(code, int) and code != 200 else status, envelope_message(body))
        data_field = body.get("data") if isinstance(body.get("data"), dict) else {}
        url = data_field.get("downloadUrl") or data_field.get("fileUrl")
        if not isinstance(url, str) or not url.startswith("http"):
            raise UpstreamError(messages.ERR_BAD_STREAM)
        return url
