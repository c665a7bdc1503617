"""Discord's rules as the fake Discord API applies them: JSON replies, error bodies,
the per-channel message bucket and its 429s, and the limits on message content."""

from __future__ import annotations

import json
import time

from aiohttp import web

from . import discord_payloads as p

MAX_CONTENT = 2000
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024


class Reject(Exception):
    """Raised anywhere in a handler to answer with `response` instead."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def json_response(data: object, status: int = 200, headers: dict | None = None) -> web.Response:
    # Exactly "application/json": web.json_response would add "; charset=utf-8".
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json", **(headers or {})})


def error(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status)


def too_many(retry_after: float) -> web.Response:
    """A 429 as Discord sends it: `retry_after` in the body, and a `Via` header (without
    one, discord.py takes the 429 for a Cloudflare ban and gives up at once)."""
    body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": False}
    headers = {"Via": "1.1 google", "Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Scope": "user"}
    return json_response(body, 429, headers)


class ChannelBuckets:
    """Discord's message buckets: `limit` writes per window, the window opened by the first
    write that arrives after the previous one closed. A key is a channel id, or
    ("token", token) for the writes of one interaction's webhook token.

    `take` returns the rate-limit headers Discord sends with a successful write, so the
    client sees how much of the bucket is left (`X-RateLimit-Remaining`)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.rejected = 0
        self.rejected_by_route: dict[str, int] = {}
        self._windows: dict[object, tuple[float, int]] = {}

    def take(self, key: object, *, route: str = "channel", floor: float = 0.0) -> dict[str, str]:
        now = time.monotonic()
        start, used = self._windows.get(key, (now, 0))
        if now >= start + self.period:
            start, used = now, 0
        reset_after = start + self.period - now
        if used >= self.limit:
            self.rejected += 1
            self.rejected_by_route[route] = self.rejected_by_route.get(route, 0) + 1
            raise Reject(too_many(max(reset_after, floor)))
        self._windows[key] = (start, used + 1)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.limit - used - 1),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"b-{abs(hash(key)) % 10**8}",
        }


def check_content(body: dict, files: list[tuple[str, int]]) -> None:
    content = body.get("content")
    if content is not None and len(content) > MAX_CONTENT:
        raise Reject(json_response({"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}, 400))
    if len(files) > MAX_FILES:
        raise Reject(error(400, 30015, "Maximum number of attachments in a message reached (10)"))
    if any(size > MAX_FILE_BYTES for _, size in files):
        raise Reject(error(413, 40005, "Request entity too large"))


def application() -> dict:
    return {
        "id": str(p.APP_ID), "name": "kiebot", "icon": None, "description": "", "bot_public": True,
        "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0, "owner": p.user(p.OTHER_USER_ID, "owner"),
        "team": None, "summary": "", "rpc_origins": [],
    }
