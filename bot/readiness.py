"""Whether the services the bot depends on answer: the database and, when set, Redis.

`python -m bot check` reports them; `/readyz` (`health.py`) answers 503 while one does not.
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

