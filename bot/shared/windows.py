"""Sliding windows in Redis, shared by every process: one sorted set per window, trimmed,
counted and added to by one Lua script, so two processes can never both take the last
slot. Time is Redis's own clock (`TIME`), the same for every process.

A write that must fit several windows at once (Slack's per-minute tier and its burst
cap) is checked against all of them in the same script and counted in all or none.
When there is no room the script says how long until the first slot frees; `take`
sleeps that long and asks again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS: one sorted set per window. ARGV: member, then (limit, window in µs) per key.
# Returns 0 when the slot was taken, else the µs until every window has room.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local member = ARGV[1]
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local span = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
    local free_at = tonumber(oldest[2]) + span - now
    if free_at > wait then wait = free_at end
  end
end
if wait > 0 then return math.max(1, math.floor(wait)) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 1]) / 1000) + 1000)
end
return 0
"""

Limit = tuple[int, float]  # (writes, per seconds)


class SharedWindows:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_TAKE)
        self._warned = False

    async def try_take(self, scope: str, limits: Sequence[Limit]) -> float:
        """Take a slot in every window of `scope` if all have room: 0.0. Otherwise take
        nothing and return the seconds until they would."""
        keys = [f"{self._prefix}window:{scope}:{count}/{period:g}" for count, period in limits]
        args: list[object] = [uuid.uuid4().hex]
        for count, period in limits:
            args += [count, int(period * 1_000_000)]
        waited = await self._script(keys=keys, args=args)
        return int(waited) / 1_000_000

    async def take(self, scope: str, limits: Sequence[Limit]) -> None:
        """Wait until every window of `scope` has room, and take a slot in each. If Redis
        fails, the write goes ahead (the process's own pacing still applies) and the
        failure is logged once."""
        while True:
            try:
                wait = await self.try_take(scope, limits)
            except (RedisError, OSError) as exc:
                if not self._warned:
                    self._warned = True
                    log.warning("Redis is unreachable (%s); budgets count only this process's writes", type(exc).__name__)
                return
            if wait <= 0:
                self._warned = False
                return
            await asyncio.sleep(wait)


class SharedLimit:
    """One fixed budget in shared windows, e.g. KIE's 20 creates per 10 s per key."""

    def __init__(self, windows: SharedWindows, scope: str, limit: int, period: float) -> None:
        self._windows = windows
        self._scope = scope
        self._limits = [(limit, period)]

    async def acquire(self) -> None:
        await self._windows.take(self._scope, self._limits)
