"""What several processes share through Redis (`REDIS_URL`): rate windows and Stop presses.

Nothing here is durable state: a lost Redis costs accuracy (each process falls back to its
own budgets, a Stop press reaches only its own process), never a reply or an image.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as redis


def connect(url: str) -> redis.Redis:
    # Short timeouts: a budget check that waits on a stuck Redis holds up a user's write.
    return redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)


def key_id(secret: str) -> str:
    """A stable, non-reversible name for a budget that belongs to an API key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]
