"""Logging set-up: `LOG_FORMAT=text|json`, `LOG_LEVEL`, the request's context, no secrets.

- Each request's id, platform and channel ride in a context variable, set where the core
  accepts the request; asyncio copies it into the task doing the work, so every line that
  work logs carries them (text: a `[platform channel id]` prefix; JSON: their own fields).
- JSON lines come from python-json-logger, with the fields `time`, `level`, `logger`,
  `message`, and `request_id`, `platform`, `channel` where known.
- Every secret setting's value is replaced by `[secret]` in whatever is written, as a last
  line of defence should a library log a header or a URL carrying one.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
import sys
from collections.abc import Iterator
from typing import TextIO

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from .config import Settings
from .model import Request

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("request_context", default=None)
CONTEXT_FIELDS = ("request_id", "platform", "channel")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(context)s%(message)s"


@contextlib.contextmanager
def request_context(request: Request) -> Iterator[str]:
    """Tag the logs of `request` (and of the tasks started inside this block)."""
    request_id = secrets.token_hex(6)
    token = _context.set({"request_id": request_id, "platform": request.where.platform, "channel": request.where.channel_id})
    try:
        yield request_id
    finally:
        _context.reset(token)


class _AddContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in CONTEXT_FIELDS:
            setattr(record, name, context[name] if context else None)
        record.context = f"[{context['platform']} {context['channel']} {context['request_id']}] " if context else ""
        return True


class _Redacting(logging.Formatter):
    """Formats with `inner`, then blanks out every secret value."""

    def __init__(self, inner: logging.Formatter, secret_values: list[str]) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = sorted(secret_values, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        for value in self._secrets:
            text = text.replace(value, "[secret]")
        return text


def _json_formatter() -> logging.Formatter:
    class _Json(JsonFormatter):
        def add_fields(self, log_record, record, message_dict) -> None:  # type: ignore[override]
            super().add_fields(log_record, record, message_dict)
            for name in CONTEXT_FIELDS:  # only where known: no null noise
                if log_record.get(name) is None:
                    log_record.pop(name, None)
            log_record.pop("context", None)

    return _Json(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def secret_values(settings: Settings) -> list[str]:
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and len(v.get_secret_value()) >= 4]


def configure(settings: Settings, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    inner = _json_formatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(_Redacting(inner, secret_values(settings)))
    handler.addFilter(_AddContext())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # aiosqlite logs every statement at DEBUG; LOG_LEVEL=debug is meant for the bot's own lines.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
