"""Discord's HTTP errors, mapped at the edge to the core's `AdapterError`.

The user gets a sentence only when they (or a server admin) can do something about it;
the Discord error text itself goes to the log, never to the user.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import discord

from bot.errors import AdapterError

from . import messages

log = logging.getLogger(__name__)

# Discord JSON error codes (discord-api-docs, topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
INVALID_WEBHOOK_TOKEN = 50027


def token_gone(exc: discord.HTTPException) -> bool:
    """The interaction token can no longer reach the message (expired, or the message is gone)."""
    return exc.status in (401, 404) or exc.code in (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK, UNKNOWN_INTERACTION)


def message_gone(exc: discord.HTTPException) -> bool:
    return exc.status == 404 and exc.code in (UNKNOWN_MESSAGE, 0)


def to_adapter_error(exc: discord.HTTPException | discord.RateLimited, action: str) -> AdapterError:
    if isinstance(exc, discord.RateLimited):
        log.warning("Discord rate limit while trying to %s: retry after %.1fs", action, exc.retry_after)
        return AdapterError(f"rate limited while trying to {action}", user_message=messages.RATE_LIMITED, retry_after=exc.retry_after)
    log.warning("Discord refused to %s: HTTP %s, code %s: %s", action, exc.status, exc.code, exc.text)
    detail = f"Discord HTTP {exc.status} (code {exc.code}) while trying to {action}"
    if exc.status == 403 or exc.code in (MISSING_ACCESS, MISSING_PERMISSIONS):
        return AdapterError(detail, user_message=messages.MISSING_PERMISSIONS.format(action=action))
    if exc.status == 404:
        return AdapterError(detail, user_message=messages.GONE.format(action=action))
    if exc.status == 413:
        return AdapterError(detail, user_message=messages.TOO_LARGE.format(action=action))
    if exc.status == 429:
        return AdapterError(detail, user_message=messages.RATE_LIMITED)
    if exc.status >= 500:
        return AdapterError(detail, user_message=messages.DISCORD_TROUBLE.format(status=exc.status))
    return AdapterError(detail)  # a 400: our bug, not the user's; they get the generic sentence


@contextmanager
def discord_errors(action: str) -> Iterator[None]:
    """Turn a failed Discord call into an `AdapterError` that says what could not be done."""
    try:
        yield
    except (discord.HTTPException, discord.RateLimited) as exc:
        raise to_adapter_error(exc, action) from exc
