"""The bot's Prometheus metrics (`/metrics`), every name starting `bot_`.

They live in one registry of their own, module-level as Prometheus clients expect, so any
part of the bot records with one call and tests read a value before and after. Labels
only take bounded values (command names, platforms, route templates, error classes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .errors import BotError
from .model import Destination, MessageRef
from .ports import Controls, ImageFile, NativeStream, NativeStreaming, Outbound

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("bot_requests", "Requests received, by command and platform", ["command", "platform"], registry=REGISTRY)
REPLIES_IN_FLIGHT = Gauge("bot_replies_in_flight", "Codex replies streaming right now", registry=REGISTRY)
WRITES = Counter(
    "bot_platform_writes", "Messages posted and edited (stream appends count as edits), by platform",
    ["platform", "kind"], registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "bot_rate_limited", "HTTP 429 answers received from a platform, by route", ["platform", "route"], registry=REGISTRY
)
# Reasoning models may think for minutes before the first event.
_LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 240, 480)
KIE_FIRST_EVENT = Histogram(
    "bot_kie_first_event_seconds", "From sending a Codex request to its first event", buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
KIE_TOTAL = Histogram(
    "bot_kie_reply_seconds", "From sending a Codex request to the end of its stream", buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter("bot_errors", "Failures, by kind (the error's class; `internal` for bugs)", ["kind"], registry=REGISTRY)
IMAGE_TASKS = Gauge("bot_image_tasks", "Image tasks in the database, by state", ["state"], registry=REGISTRY)
CREDITS = Counter("bot_credits_spent", "KIE credits reported spent, by service", ["service"], registry=REGISTRY)


def record_error(exc: BaseException) -> None:
    ERRORS.labels(kind=type(exc).__name__ if isinstance(exc, BotError) else "internal").inc()


def render() -> tuple[bytes, str]:
    """The exposition body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# -- 429s -------------------------------------------------------------------------------
_ID = re.compile(r"^\d+$")


def route_label(method: str, path: str) -> str:
    """`PATCH /api/v10/webhooks/{id}/{token}/messages/@original`: ids and tokens replaced,
    so the label is bounded and a webhook token never reaches the metrics."""
    parts = []
    for part in path.strip("/").split("/"):
        if _ID.match(part):
            parts.append("{id}")
        elif len(part) >= 20:
            parts.append("{token}")
        else:
            parts.append(part)
    return f"{method} /{'/'.join(parts)}"


def rate_limit_trace(platform: str) -> aiohttp.TraceConfig:
    """An aiohttp trace that counts 429 answers, for platform libraries built on aiohttp."""
    trace = aiohttp.TraceConfig()

    async def on_end(_session: Any, _context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            RATE_LIMITED.labels(platform=platform, route=route_label(params.method, params.url.path)).inc()

    trace.on_request_end.append(on_end)
    return trace


# -- posts and edits ----------------------------------------------------------------------
class CountingOutbound:
    """Wraps an adapter's `Outbound` and counts what it sends; everything else passes through."""

    def __init__(self, platform: str, inner: Outbound) -> None:
        self._platform = platform
        self._inner = inner
        if isinstance(inner, NativeStreaming):
            self.start_stream = self._start_stream
        # Protocol checks (`isinstance(out, NativeStreaming)`) look attributes up statically
        # since Python 3.12, past `__getattr__`: the optional ones are copied here.
        for name in ("stream_pace", "can_stream", "write_pace"):
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def post(self, where: Destination, text: str, *, controls: Controls | None = None) -> MessageRef:
        ref = await self._inner.post(where, text, controls=controls)
        WRITES.labels(platform=self._platform, kind="post").inc()
        return ref

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        await self._inner.edit(ref, text, controls=controls)
        WRITES.labels(platform=self._platform, kind="edit").inc()

    async def post_images(
        self, where: Destination, files: Sequence[ImageFile], caption: str, *, key: str | None = None
    ) -> MessageRef:
        ref = await self._inner.post_images(where, files, caption, key=key)
        WRITES.labels(platform=self._platform, kind="post").inc()
        return ref

    async def _start_stream(self, where: Destination, **kwargs: Any) -> NativeStream:
        stream = await self._inner.start_stream(where, **kwargs)  # type: ignore[attr-defined]
        WRITES.labels(platform=self._platform, kind="post").inc()
        return _CountingStream(self._platform, stream)


class _CountingStream:
    def __init__(self, platform: str, inner: NativeStream) -> None:
        self._platform = platform
        self._inner = inner

    @property
    def ref(self) -> MessageRef:
        return self._inner.ref

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def append(self, text: str) -> None:
        await self._inner.append(text)
        WRITES.labels(platform=self._platform, kind="edit").inc()

    async def stop(self, *, text: str = "", controls: Controls | None = None) -> None:
        await self._inner.stop(text=text, controls=controls)
        WRITES.labels(platform=self._platform, kind="edit").inc()


class Stopwatch:
    """Times one Codex request: the first event and the whole stream."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._first: float | None = None

    def event(self) -> None:
        if self._first is None:
            self._first = time.monotonic()
            KIE_FIRST_EVENT.observe(self._first - self._started)

    def done(self) -> None:
        KIE_TOTAL.observe(time.monotonic() - self._started)
