"""Whether the services the bot depends on answer: the database and, when set, Redis.

`python -m bot check` prints these; `/readyz` answers 503 while one of them does not.
A failure is described by its kind only (never a URL, which may carry a password).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis

from .store import Store

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def check_database(store: Store) -> Check:
    try:
        await asyncio.wait_for(store.ping(), CHECK_TIMEOUT_S)
    except Exception as exc:
        return Check("database", False, f"{store.describe()}: {_kind(exc)}")
    return Check("database", True, store.describe())


async def check_redis(redis: Redis | None) -> Check | None:
    if redis is None:
        return None
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_S)
    except Exception as exc:
        return Check("redis", False, _kind(exc))
    return Check("redis", True, "answers")


async def dependencies(store: Store, redis: Redis | None) -> list[Check]:
    checks = [await check_database(store), await check_redis(redis)]
    return [check for check in checks if check is not None]


def _kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_S:g}s"
    return type(exc).__name__


def readyz(store: Store, redis: Redis | None):
    """The `/readyz` handler: 200 when every dependency answers, else 503, with each one's state."""
    from aiohttp import web

    async def handle(_request: web.Request) -> web.Response:
        checks = await dependencies(store, redis)
        ready = all(check.ok for check in checks)
        body = {"ready": ready, **{check.name: "ok" if check.ok else check.detail for check in checks}}
        return web.json_response(body, status=200 if ready else 503)

    return handle
