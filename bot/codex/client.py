"""The Codex Responses client: POST a request, read the SSE stream, yield events.

Errors arrive three ways and all become `UpstreamError`s: an HTTP error status, an HTTP
200 with a JSON `{"code", "msg"}` envelope instead of a stream, or an `error` /
`response.failed` event inside the stream. 429 and 5xx are retried with backoff, but only
while nothing has been shown to the user; after that a broken stream raises
`StreamInterrupted` and the caller keeps the text it has.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr

from .. import messages
from ..errors import StreamInterrupted, UpstreamError
from ..kie.errors import envelope_message, error_for_status
from .events import CodexEvent, Completed, TextDelta, events_from_response, interpret
from .sse import SSEParser

log = logging.getLogger(__name__)

_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    first_event: float = 120.0
    idle: float = 90.0


class CodexClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        api_key: SecretStr,
        timeouts: Timeouts = Timeouts(),
        max_retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        self._session = session
        self._url = url
        self._key = api_key
        self._timeouts = timeouts
        self._max_retries = max_retries
        self._backoff = backoff

    async def stream(self, body: dict) -> AsyncIterator[CodexEvent]:
        """Yield the reply's events. `body` is a Responses request; `stream` is forced on."""
        body = {**body, "stream": True}
        attempt = 0
        shown = False
        while True:
            try:
                # aclosing: when our caller stops early (the Stop button), the nested
                # generators close at once, and with them the upstream HTTP stream.
                async with aclosing(self._attempt(body)) as events:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            shown = True
                        yield event
                return
            except UpstreamError as exc:
                if shown or not exc.retryable or attempt >= self._max_retries:
                    raise
                attempt += 1
                delay = self._backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                log.warning("Codex request failed (%s); retry %d in %.1fs", exc.status, attempt, delay)
                await asyncio.sleep(delay)

    async def _attempt(self, body: dict) -> AsyncIterator[CodexEvent]:
        headers = {
            "Authorization": f"Bearer {self._key.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        }
        timeout = aiohttp.ClientTimeout(total=None, connect=self._timeouts.connect, sock_connect=self._timeouts.connect)
        try:
            async with asyncio.timeout(self._timeouts.first_event):
                response = await self._session.post(self._url, json=body, headers=headers, timeout=timeout)
        except TimeoutError:
            raise UpstreamError(messages.ERR_TIMEOUT.format(what="no answer"), retryable=True) from None
        except aiohttp.ClientError as exc:
            log.warning("Codex connection failed: %s", type(exc).__name__)
            raise UpstreamError(messages.ERR_CONNECT, retryable=True) from None
        async with response:
            if response.status >= 400:
                raise error_for_status(response.status, envelope_message(await _json_or_none(response)))
            content_type = response.headers.get("Content-Type", "")
            if "text/event-stream" not in content_type:
                for event in _events_from_json(await _json_or_none(response)):
                    yield event
                return
            async with aclosing(self._read_stream(response)) as events:
                async for event in events:
                    yield event

    async def _read_stream(self, response: aiohttp.ClientResponse) -> AsyncIterator[CodexEvent]:
        parser = SSEParser()
        completed = False
        first = True
        while True:
            wait = self._timeouts.first_event if first else self._timeouts.idle
            try:
                async with asyncio.timeout(wait):
                    chunk = await response.content.readany()
            except TimeoutError:
                if completed:
                    return
                raise StreamInterrupted(
                    messages.ERR_TIMEOUT.format(what="no reply started" if first else "the reply stalled"),
                    retryable=first,
                ) from None
            except aiohttp.ClientError:
                if completed:
                    return
                raise StreamInterrupted(messages.ERR_CLOSED_EARLY, retryable=first) from None
            if not chunk:
                if completed:
                    return
                raise StreamInterrupted(messages.ERR_CLOSED_EARLY, retryable=first)
            for sse in parser.feed(chunk):
                first = False
                if sse.data == "[DONE]":
                    return
                try:
                    payload = json.loads(sse.data)
                except ValueError:
                    log.warning("ignoring a Codex event that is not JSON (%d bytes)", len(sse.data))
                    continue
                event = interpret(payload)
                if event is None:
                    if isinstance(payload, dict) and "type" not in payload and isinstance(payload.get("code"), int):
                        # An error envelope sent as an SSE payload.
                        if payload["code"] != 200:
                            raise error_for_status(payload["code"], envelope_message(payload))
                    continue
                if isinstance(event, Completed):
                    completed = True
                yield event


async def _json_or_none(response: aiohttp.ClientResponse) -> object:
    try:
        return json.loads(await response.text())
    except (ValueError, aiohttp.ClientError):
        return None


def _events_from_json(body: object) -> list[CodexEvent]:
    """An HTTP 200 that is not a stream: KIE's error envelope, or a plain Responses body."""
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, int) and code != 200 and "output" not in body:
            raise error_for_status(code, envelope_message(body))
        if isinstance(body.get("output"), list):
            return events_from_response(body)
        if isinstance(body.get("error"), dict):
            interpret({"type": "error", "error": body["error"]})
    raise UpstreamError(messages.ERR_BAD_STREAM)
