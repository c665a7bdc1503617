"""Slack's rate limits as the bot paces its calls: per method per workspace, by tier, and
`chat.postMessage` per channel.

Slack publishes per-minute floors (Tier 2: 20+, Tier 3: 50+, Tier 4: 100+ calls per
minute per method per workspace; `chat.postMessage` about 1 per second per channel with
short bursts). How large a burst may be is not documented (UNCONFIRMED): the bot assumes
a small one, a quarter of a minute's floor within 10 s, and keeps each window half a second
longer than Slack's to absorb the travel time between two calls.
"""

from __future__ import annotations

from bot.model import Destination
from bot.ports import Budget, Pace

MARGIN_S = 0.5


def _tier(per_minute: int) -> tuple[Budget, Budget]:
    return (per_minute, 60.0 + MARGIN_S), (max(1, per_minute // 4), 10.0 + MARGIN_S)


TIER_2 = _tier(20)
TIER_3 = _tier(50)
TIER_4 = _tier(100)

# Methods paced per workspace, by tier (docs.slack.dev method pages; JSDK's tier table).
WORKSPACE_METHODS: dict[str, tuple[Budget, Budget]] = {
    "chat.startStream": TIER_2,
    "chat.stopStream": TIER_2,
    "chat.appendStream": TIER_4,
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.replies": TIER_3,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}
# Methods paced per channel: about one call per second, bursts of up to five.
PER_CHANNEL: Budget = (5, 5.0 + MARGIN_S)
CHANNEL_METHODS = ("chat.postMessage", "assistant.threads.setStatus")

STREAM_CALLS = {"start": "chat.startStream", "append": "chat.appendStream", "stop": "chat.stopStream"}


def pace(method: str, where: Destination) -> Pace:
    """The budget one call of `method` for `where` draws on."""
    team = where.team_id or "-"
    if method in CHANNEL_METHODS:
        return Pace(f"slack:{team}:{where.channel_id}:{method}", PER_CHANNEL)
    budget, burst = WORKSPACE_METHODS[method]
    return Pace(f"slack:{team}:{method}", budget, burst)
