"""Which shared limit each Discord write draws on, learned from Discord's own answers.

Discord does not document its message limits (D17, D20). What is observed: channel
message writes (posts and edits with the bot token) share a window of about 5 per 5 s per
channel; writes through an interaction's webhook token (edits of `@original`, followups)
are bucketed per token. Whether the two also share the channel's window is not stated,
so the bot starts from the safe assumption and learns:

- Until a channel has shown otherwise, token writes in it take the channel's window too.
- Two tokens answering with a fresh bucket (`X-RateLimit-Remaining` = limit - 1) while
  both windows are open prove the buckets are separate: from then on each token has a
  window of its own in that channel, and the writes waiting in the channel's queue are
  rerouted to their tokens at once.
- A 429 holds the scope concerned for the wait Discord asked for and narrows it for a
  while (`WritePacer.penalize`); a 429 on a token route makes its channel shared again.

discord.py reports every response through an aiohttp `TraceConfig`, so nothing here
touches its rate-limit handling (it still waits and retries on its own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from bot.ports import Budget, Pace
from bot.render.pacing import WritePacer

log = logging.getLogger(__name__)

LEARNED_FOR_S = 3600.0  # how long a channel's learned route stays trusted


@dataclass
class _Channel:
    separate_until: float = 0.0  # token writes have windows of their own until then
    fresh: dict[str, float] = field(default_factory=dict)  # token -> when its fresh window closes
    token_scopes: set[str] = field(default_factory=set)


class RouteLimits:
    """Names the scope of each write; the window itself (`budget`, one channel's or one
    token's) is what the adapter declares in its capabilities."""

    def __init__(self, pacer: WritePacer, clock: Callable[[], float] = time.monotonic) -> None:
        self._pacer = pacer
        self._clock = clock
        self._channels: dict[int, _Channel] = {}
        self._token_channel: dict[str, int] = {}
        self.rate_limited: dict[str, int] = {"channel": 0, "webhook": 0}

    @staticmethod
    def channel_scope(channel_id: int) -> str:
        return f"discord:{channel_id}"

    def channel_pace(self, channel_id: int, budget: Budget | None) -> Pace:
        return Pace(self.channel_scope(channel_id), budget)

    def token_pace(self, channel_id: int, interaction_id: int, token: str, budget: Budget | None) -> Pace:
        """The limit an edit or followup through `token` draws on."""
        self._token_channel[token] = channel_id
        state = self._channels.setdefault(channel_id, _Channel())
        if self._clock() < state.separate_until:
            scope = f"discord:token:{interaction_id}"
            state.token_scopes.add(scope)
            return Pace(scope, budget)
        return self.channel_pace(channel_id, budget)

    # -- learning from responses ---------------------------------------------------------
    def trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()

        async def on_request_end(session, context, params: aiohttp.TraceRequestEndParams) -> None:
            try:
                self.observe(params.method, params.url.path, params.response.status, params.response.headers)
            except Exception:  # learning must never break a request
                log.exception("could not read Discord's rate-limit headers")

        trace.on_request_end.append(on_request_end)
        return trace

    def observe(self, method: str, path: str, status: int, headers) -> None:
        if method not in ("POST", "PATCH"):
            return
        parts = path.split("/")
        # /api/v10/webhooks/{app}/{token}[/messages/@original]  or  /api/v10/channels/{id}/messages[/{id}]
        if "webhooks" in parts:
            index = parts.index("webhooks")
            token = parts[index + 2] if len(parts) > index + 2 else ""
            channel_id = self._token_channel.get(token)
            if channel_id is not None:
                self._observe_token(channel_id, token, status, headers)
        elif "channels" in parts and "messages" in parts and "threads" not in parts:
            index = parts.index("channels")
            if status == 429:
                channel_id = int(parts[index + 1])
                self.rate_limited["channel"] += 1
                self._pacer.penalize(self.channel_scope(channel_id), _retry_after(headers))
                log.warning("Discord rate-limited a write in channel %s; pacing it more slowly", channel_id)

    def _observe_token(self, channel_id: int, token: str, status: int, headers) -> None:
        state = self._channels.setdefault(channel_id, _Channel())
        now = self._clock()
        if status == 429:
            self.rate_limited["webhook"] += 1
            retry_after = _retry_after(headers)
            if now < state.separate_until:
                log.warning("Discord rate-limited an interaction edit in channel %s: its writes share the channel's window again", channel_id)
            state.separate_until = 0.0
            state.fresh.clear()
            self._pacer.penalize(self.channel_scope(channel_id), retry_after)
            for scope in state.token_scopes:
                self._pacer.reroute(scope)
            state.token_scopes.clear()
            return
        limit, remaining, reset_after = (headers.get(h) for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-After"))
        if not (limit and remaining and reset_after) or status >= 300:
            return
        if int(remaining) != int(limit) - 1:
            return  # not the first write of its window: says nothing about sharing
        state.fresh = {t: until for t, until in state.fresh.items() if until > now}
        others = [t for t in state.fresh if t != token]
        state.fresh[token] = now + float(reset_after)
        if others and now >= state.separate_until:
            # Two open windows, both fresh: a shared window would have counted both writes.
            log.info("Discord buckets interaction edits per token in channel %s; pacing them per token", channel_id)
            state.separate_until = now + LEARNED_FOR_S
            self._pacer.reroute(self.channel_scope(channel_id))


def _retry_after(headers) -> float:
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        value = headers.get(name)
        if value:
            try:
                return float(value)
            except ValueError:
                pass
    return 1.0
