"""KIE's status codes, whether sent as an HTTP status or as `{"code": ..., "msg": ...}`
inside an HTTP 200 body, mapped to errors with a sentence a user understands."""

from __future__ import annotations

from .. import messages
from ..errors import (
    Busy,
    Maintenance,
    OutOfCredits,
    Rejected,
    Unauthorized,
    UpstreamError,
    UpstreamUnavailable,
)

_MAX_DETAIL = 300


def envelope_message(body: object) -> str:
    """KIE writes `msg`, sometimes `message`; OpenAI-style bodies nest `error.message`."""
    if not isinstance(body, dict):
        return ""
    for key in ("msg", "message"):
        if isinstance(body.get(key), str):
            return body[key]
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return ""


def error_for_status(status: int, detail: str = "") -> UpstreamError:
    detail = " ".join(detail.split())[:_MAX_DETAIL] or f"error {status}"
    if status == 401:
        return Unauthorized(messages.ERR_UNAUTHORIZED, status=status)
    if status == 402:
        return OutOfCredits(messages.ERR_NO_CREDITS, status=status)
    if status in (429, 433):
        return Busy(messages.ERR_BUSY, status=status, retryable=status == 429)
    if status == 455:
        return Maintenance(messages.ERR_MAINTENANCE, status=status)
    if status >= 500:
        return UpstreamUnavailable(messages.ERR_UPSTREAM.format(status=status), status=status, retryable=True)
    return Rejected(messages.ERR_REJECTED.format(detail=detail), status=status)


def check_envelope(body: object) -> object:
    """Return `data` of a successful envelope; raise the mapped error otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        raise UpstreamError(messages.ERR_BAD_STREAM)
    if body["code"] != 200:
        raise error_for_status(body["code"], envelope_message(body))
    return body.get("data")
