"""KIE's image endpoints: create a task (Market jobs or the 4o Image API) and ask its status.

KIE answers HTTP 200 with a `{code, msg, data}` envelope even when a request fails, so
the envelope decides. Creating a task is the one call that spends credits, so its
failures are sorted by what they mean for money:

- `UpstreamError`: KIE definitely did not create the task (an error envelope, or the
  connection was refused before anything was sent). Safe to tell the user or retry.
- `OutcomeUnknown`: the request may have reached KIE (the connection broke or timed
  out after sending, a gateway error). The task may exist and may have been charged,
  so it must not be sent again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr

from .. import messages
from ..errors import BotError, UpstreamError
from ..kie.errors import check_envelope, envelope_message, error_for_status
from .netguard import TooLarge, read_capped
from .options import Engine, ImageOptions
from .status import TaskStatus, fouro_status, job_status

log = logging.getLogger(__name__)

MODEL_TEXT_TO_IMAGE = "gpt-image/1.5-text-to-image"
MODEL_IMAGE_TO_IMAGE = "gpt-image/1.5-image-to-image"
JOBS_CREATE = "/api/v1/jobs/createTask"
JOBS_STATUS = "/api/v1/jobs/recordInfo"
FOURO_CREATE = "/api/v1/gpt4o-image/generate"
FOURO_STATUS = "/api/v1/gpt4o-image/record-info"
DOWNLOAD_URL = "/api/v1/common/download-url"
# KIE's envelopes are a few KB; a reply larger than this is not read (and not believed).
MAX_REPLY_BYTES = 1024 * 1024


class OutcomeUnknown(BotError):
    """The create request may or may not have reached KIE."""


@dataclass(frozen=True)
class Fallback:
    enabled: bool = False
    model: str = "FLUX_MAX"


def build_body(options: ImageOptions, prompt: str, reference_urls: list[str], fallback: Fallback = Fallback()) -> dict:
    """The create request for `options`, without `callBackUrl` (added when it is sent)."""
    if options.engine == "4o":
        body: dict = {"prompt": prompt, "size": options.ratio, "enableFallback": fallback.enabled}
        if fallback.enabled:
            body["fallbackModel"] = fallback.model
        if reference_urls:
            body["filesUrl"] = list(reference_urls)
        return body
    request_input: dict = {"prompt": prompt, "aspect_ratio": options.ratio, "quality": options.quality}
    if reference_urls:
        request_input["input_urls"] = list(reference_urls)
        return {"model": MODEL_IMAGE_TO_IMAGE, "input": request_input}
    return {"model": MODEL_TEXT_TO_IMAGE, "input": request_input}


class ImageClient:
    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str, api_key: SecretStr, timeout: float = 60.0
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    async def _ask(self, method: str, path: str, **kwargs) -> tuple[int, object]:
        """One read-only call to KIE: its HTTP status and JSON reply (None if not JSON).
        Any failure to get an answer is retryable: nothing was created or spent."""
        try:
            async with self._session.request(
                method, self._base + path, headers=self._headers(), timeout=self._timeout, **kwargs
            ) as response:
                return response.status, _json(await _text(response))
        except (aiohttp.ClientError, TimeoutError, TooLarge) as exc:
            raise UpstreamError(messages.ERR_CONNECT, retryable=True) from exc

    async def create(self, engine: Engine, body: dict) -> str:
        """Send the create request; return KIE's task id."""
        path = FOURO_CREATE if engine == "4o" else JOBS_CREATE
        try:
            async with self._session.post(
                self._base + path, json=body, headers=self._headers(), timeout=self._timeout
            ) as response:
                status = response.status
                text = await _text(response)
        except aiohttp.ClientConnectorError as exc:
            # The connection was never made, so nothing was sent.
            log.warning("KIE create: could not connect (%s)", type(exc).__name__)
            raise UpstreamError(messages.ERR_CONNECT, retryable=True) from None
        except (aiohttp.ClientError, TimeoutError, TooLarge) as exc:
            log.warning("KIE create: outcome unknown (%s)", type(exc).__name__)
            raise OutcomeUnknown(type(exc).__name__) from None
        envelope = _json(text)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int):
            if status >= 500:
                raise OutcomeUnknown(f"HTTP {status} without a KIE reply")
            raise error_for_status(status if status >= 400 else 500, envelope_message(envelope))
        data = check_envelope(envelope)
        task_id = data.get("taskId") if isinstance(data, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise OutcomeUnknown("a success reply without a taskId")
        return task_id

    async def status(self, engine: Engine, task_id: str) -> TaskStatus:
        """Ask KIE how the task is doing. Raises `UpstreamError` on any failure (callers retry)."""
        path = FOURO_STATUS if engine == "4o" else JOBS_STATUS
        status, envelope = await self._ask("GET", path, params={"taskId": task_id})
        if status >= 400 and not isinstance(envelope, dict):
            raise error_for_status(status)
        data = check_envelope(envelope)
        return fouro_status(data) if engine == "4o" else job_status(data)

    async def fresh_link(self, url: str) -> str | None:
        """A new download link for an expired result URL (valid 20 minutes), or None when
        KIE has no such file. Raises `UpstreamError` when KIE could not be asked."""
        status, envelope = await self._ask("POST", DOWNLOAD_URL, json={"url": url})
        if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int):
            raise error_for_status(status if status >= 400 else 500)
        code = envelope["code"]
        if code in (404, 422, 451):  # not a KIE file, or KIE no longer has it
            log.warning("KIE has no fresh link for a result (code %s)", code)
            return None
        data = check_envelope(envelope)
        return data if isinstance(data, str) and data.startswith(("http://", "https://")) else None


async def _text(response: aiohttp.ClientResponse) -> str:
    return (await read_capped(response, MAX_REPLY_BYTES)).decode("utf-8", "replace")


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None
