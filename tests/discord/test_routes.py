"""Pacing per Discord route: interaction-token writes vs channel writes, learned from Discord."""

from __future__ import annotations

import dataclasses


from tests.fakes.discord_rules import ChannelBuckets
from tests.fakes.kie import CodexScript, Gate, completed, text_delta, DONE

from .conftest import FAST

FOOTER = "_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"
BUDGET = (5, 5.5)
STREAMS = 8  # more than one channel window (5) can carry at once


def assert_exact_and_unthrottled(h, payloads) -> None:
    assert h.api.rate_limited == 0
    for i, payload in enumerate(payloads):
        assert h.api.text_of(h.original_id(payload)) == f"start {i} end\n\n{FOOTER}"


def scripts(h, n: int) -> list[Gate]:
    gates = []
    for i in range(n):
        gate = Gate()
        gates.append(gate)
        h.kie.codex_replies.append(CodexScript([text_delta(f"start {i}", 1), gate, text_delta(" end", 2), completed(), DONE]))
    return gates


async def test_token_writes_get_windows_of_their_own_once_discord_shows_they_are_separate(h):
    # Discord's observed model: webhook-token buckets, and a real-length channel window
    # that a shared pacing could not fit 8 first edits into within the test's time.
    h.api.webhook_model = "token"
    h.api._buckets = ChannelBuckets(5, 5.0)
    h.adapter.out.capabilities = dataclasses.replace(FAST, shared_edit_budget=(5, 5.5))
    gates = scripts(h, STREAMS)
    payloads = [await h.command("codex", {"prompt": f"q{i}"}) for i in range(STREAMS)]
    # Every stream's first words are on screen well within one channel window.
    await h.api.wait_for(lambda api: all(h.original_edits(p) for p in payloads), timeout=3.0)
    for gate in gates:
        gate.open()
    await h.settle()
    assert_exact_and_unthrottled(h, payloads)


async def test_where_token_writes_share_the_channel_window_no_429_is_drawn(h):
    # The stricter model: edits through interaction tokens count against the channel.
    assert h.api.webhook_model == "shared"
    gates = scripts(h, STREAMS)
    payloads = [await h.command("codex", {"prompt": f"q{i}"}) for i in range(STREAMS)]
    for gate in gates:
        gate.open()
    await h.settle()
    assert_exact_and_unthrottled(h, payloads)
    assert h.adapter.routes.rate_limited == {"channel": 0, "webhook": 0}


async def test_a_429_on_a_token_route_makes_its_channel_shared_and_narrows_it(h):
    routes = h.adapter.routes
    pacer = h.core.pacer
    # Learned separate windows, then Discord answers a token write with 429.
    channel = 4242
    assert routes.token_pace(channel, 1, "tok-a", BUDGET) == routes.channel_pace(channel, BUDGET)  # nothing learned yet
    routes.token_pace(channel, 2, "tok-b", BUDGET)
    headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "5.0"}
    routes.observe("PATCH", "/api/v10/webhooks/1/tok-a/messages/@original", 200, headers)
    routes.observe("PATCH", "/api/v10/webhooks/1/tok-b/messages/@original", 200, headers)
    token_pace = routes.token_pace(channel, 1, "tok-a", BUDGET)
    assert token_pace.scope == "discord:token:1"  # learned: a window per token
    assert pacer.try_take(routes.channel_pace(channel, BUDGET))
    routes.observe("PATCH", "/api/v10/webhooks/1/tok-a/messages/@original", 429, {"Retry-After": "2"})
    assert routes.token_pace(channel, 1, "tok-a", BUDGET) == routes.channel_pace(channel, BUDGET)  # shared again
    assert not pacer.try_take(routes.channel_pace(channel, BUDGET))  # held for Discord's wait
    assert routes.rate_limited["webhook"] == 1
