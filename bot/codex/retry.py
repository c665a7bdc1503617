"""When to try a Codex request again: `Retry-After`, and waits written for people."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .. import messages
from ..errors import Busy, UpstreamError, UpstreamUnavailable

# The longest `Retry-After` the bot sits out for the user. A longer one is passed on as
# "try again in ...", since a chat reply that starts minutes later is rarely still wanted.
RETRY_AFTER_CAP = 30.0

# Statuses whose `Retry-After` the bot honours (RFC 9110 names these two).
RETRY_AFTER_STATUSES = (429, 503)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None.

    Decimal seconds are accepted too: harmless, and what the tests use to stay fast.
    """
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def try_again_in(error: UpstreamError, seconds: float) -> UpstreamError:
    """The same failure, telling the user when KIE said to come back."""
    wait = duration(seconds)
    if isinstance(error, Busy):
        return Busy(messages.ERR_BUSY_UNTIL.format(wait=wait), status=error.status)
    if isinstance(error, UpstreamUnavailable):
        return UpstreamUnavailable(messages.ERR_UNAVAILABLE_UNTIL.format(status=error.status, wait=wait), status=error.status)
    return error


def duration(seconds: float) -> str:
    """'45 seconds', '2 minutes', '3 hours': rounded up, so the user never comes back early."""
    for unit, size, up_to in (("second", 1, 90), ("minute", 60, 90 * 60), ("hour", 3600, math.inf)):
        if seconds <= up_to:
            count = max(1, math.ceil(seconds / size))
            return f"{count} {unit}" + ("" if count == 1 else "s")
    raise AssertionError("unreachable")
