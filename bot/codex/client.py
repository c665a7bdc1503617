"""The Codex Responses client: POST a request, read the SSE stream, yield events.

Errors arrive three ways and all become `UpstreamError`s: an HTTP error status, an HTTP
200 with a JSON `{"code", "msg"}` envelope instead of a stream, or an `error` /
`response.failed` event inside the stream. 429, 5xx, stalls and cut connections are
retried, but only while no text has been shown to the user; after that a broken stream
raises `StreamInterrupted` and the caller keeps the text it has.

Nothing here waits without a deadline (see `deadlines.py`), and the clock runs on
*events*, never on bytes: a server sending only `: keep-alive` comments is silent as far
as a user can tell.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from contextlib import aclosing

import aiohttp
from pydantic import SecretStr

from .. import messages
from ..errors import StreamInterrupted, UpstreamError
from ..kie.errors import envelope_message, error_for_status
from .deadlines import OutOfTime, ReplyClock, Timeouts
from .events import CodexEvent, Completed, EndedEarly, TextDelta, events_from_response, interpret
from .retry import RETRY_AFTER_CAP, RETRY_AFTER_STATUSES, duration, retry_after, try_again_in
from .sse import MAX_EVENT_CHARS, SSEEventTooLarge, SSEParser

log = logging.getLogger(__name__)

# A retry needs at least this long (or `first_event`, if shorter) left in the budget: a
# paid request that is abandoned seconds after it starts helps nobody.
_MIN_ATTEMPT = 15.0

__all__ = ["CodexClient", "Timeouts"]


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
        max_reply_chars: int = 100_000,
        max_event_chars: int = MAX_EVENT_CHARS,
    ) -> None:
        self._session = session
        self._url = url
        self._key = api_key
        self._timeouts = timeouts
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_reply_chars = max_reply_chars
        self._max_event_chars = max_event_chars

    async def stream(self, body: dict) -> AsyncIterator[CodexEvent]:
        """Yield the reply's events. `body` is a Responses request; `stream` is forced on."""
        body = {**body, "stream": True}
        clock = ReplyClock(self._timeouts)
        attempt = 1
        while True:
            try:
                # aclosing: when our caller stops early (the Stop button, or a cut below),
                # the nested generators close at once, and with them the upstream stream.
                async with aclosing(self._attempt(body, clock)) as events:
                    async for event in events:
                        clock.output_seen = True
                        if isinstance(event, TextDelta):
                            room = self._max_reply_chars - clock.text_chars
                            if len(event.text) > room:
                                if room > 0:
                                    yield TextDelta(event.text[:room])
                                yield EndedEarly(messages.REPLY_CUT_LENGTH.format(limit=self._max_reply_chars))
                                return
                            clock.text_chars += len(event.text)
                        yield event
                return
            except OutOfTime:
                if clock.text_chars:
                    yield EndedEarly(messages.REPLY_CUT_TIME.format(duration=duration(self._timeouts.total)))
                    return
                raise UpstreamError(messages.ERR_NO_TEXT_IN_TIME.format(duration=duration(self._timeouts.total))) from None
            except UpstreamError as exc:
                delay = self._retry_delay(exc, attempt, clock)
                log.warning(
                    "Codex attempt %d of %d failed (%s, status %s); attempt %d, a new paid request, in %.1fs",
                    attempt, self._max_retries + 1, type(exc).__name__, exc.status, attempt + 1, delay,
                )
                attempt += 1
                await asyncio.sleep(delay)

    def _retry_delay(self, exc: UpstreamError, attempt: int, clock: ReplyClock) -> float:
        """Seconds to wait before the next attempt; raises the error to show if there is none."""
        wait = clock.retry_after
        if clock.text_chars or not exc.retryable:
            raise exc
        if wait is not None and wait > RETRY_AFTER_CAP:
            raise try_again_in(exc, wait) from None
        if attempt > self._max_retries:
            raise (exc if wait is None else try_again_in(exc, wait)) from None
        delay = wait if wait is not None else self._backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
        if clock.time_left() - delay < min(self._timeouts.first_event, _MIN_ATTEMPT):
            raise (exc if wait is None else try_again_in(exc, wait)) from None
        return delay

    async def _attempt(self, body: dict, clock: ReplyClock) -> AsyncIterator[CodexEvent]:
        headers = {
            "Authorization": f"Bearer {self._key.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        }
        timeout = aiohttp.ClientTimeout(total=None, connect=self._timeouts.connect, sock_connect=self._timeouts.connect)
        clock.retry_after = None
        deadline = clock.first_output_deadline()
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._session.post(self._url, json=body, headers=headers, timeout=timeout)
        except TimeoutError:
            raise clock.timed_out("no answer") from None
        except aiohttp.ClientError as exc:
            log.warning("Codex connection failed: %s", type(exc).__name__)
            raise UpstreamError(messages.ERR_CONNECT, retryable=True) from None
        async with response:
            if response.status >= 400:
                if response.status in RETRY_AFTER_STATUSES:
                    clock.retry_after = retry_after(response.headers)
                # The status says what happened; a body that never comes only loses the
                # detail, so it gets the connect timeout rather than the first-event one.
                detail = await self._json_or_none(response, min(deadline, clock.now() + self._timeouts.connect))
                raise error_for_status(response.status, envelope_message(detail))
            if "text/event-stream" not in response.headers.get("Content-Type", ""):
                try:
                    parsed = await self._read_json(response, deadline)
                except TimeoutError:
                    raise clock.timed_out("no reply started") from None
                except aiohttp.ClientError:
                    raise StreamInterrupted(messages.ERR_CLOSED_EARLY, retryable=not clock.text_chars) from None
                for event in _events_from_json(parsed):
                    yield event
                return
            try:
                async with aclosing(self._read_stream(response, clock, deadline)) as events:
                    async for event in events:
                        yield event
            finally:
                # Leaving early (completed, cut, stopped, failed): close the connection
                # rather than hand a half-read one back to the pool.
                if not response.content.at_eof():
                    response.close()

    async def _read_stream(
        self, response: aiohttp.ClientResponse, clock: ReplyClock, deadline: float
    ) -> AsyncIterator[CodexEvent]:
        parser = SSEParser(self._max_event_chars)
        started = False  # this attempt produced an output: switch from first-output to idle timing
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await response.content.readany()
            except TimeoutError:
                raise clock.timed_out("the reply stalled" if started else "no reply started") from None
            except aiohttp.ClientError:
                raise StreamInterrupted(messages.ERR_CLOSED_EARLY, retryable=not clock.text_chars) from None
            if not chunk:
                raise StreamInterrupted(messages.ERR_CLOSED_EARLY, retryable=not clock.text_chars)
            try:
                sse_events = parser.feed(chunk)
            except SSEEventTooLarge as exc:
                raise StreamInterrupted(messages.ERR_EVENT_TOO_LARGE.format(limit=exc.limit)) from None
            for sse in sse_events:
                if sse.data == "[DONE]":
                    return
                event = _event(sse.data)
                if event is None:
                    continue
                started = True
                yield event
                if isinstance(event, Completed):
                    return  # even if the server keeps the connection open
            if started and sse_events:
                # Events, not bytes: keep-alive comments do not move the deadline.
                deadline = clock.idle_deadline()

    async def _read_json(self, response: aiohttp.ClientResponse, deadline: float) -> object:
        """The whole body as JSON (None if it is not), read by `deadline` and within the size limit."""
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout_at(deadline):
            while chunk := await response.content.readany():
                size += len(chunk)
                if size > self._max_event_chars:
                    raise UpstreamError(messages.ERR_BAD_STREAM)
                chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except ValueError:
            return None

    async def _json_or_none(self, response: aiohttp.ClientResponse, deadline: float) -> object:
        try:
            return await self._read_json(response, deadline)
        except (TimeoutError, UpstreamError, aiohttp.ClientError):
            return None


def _event(data: str) -> CodexEvent | None:
    """One SSE payload as an event; None to ignore; raises on an error event or envelope."""
    try:
        payload = json.loads(data)
    except ValueError:
        log.warning("ignoring a Codex event that is not JSON (%d bytes)", len(data))
        return None
    event = interpret(payload)
    if event is None and isinstance(payload, dict) and "type" not in payload:
        code = payload.get("code")
        if isinstance(code, int) and code != 200:  # an error envelope sent as an SSE payload
            raise error_for_status(code, envelope_message(payload))
    return event


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
