"""Message references: a durable key ("<channel id>:<message id>") plus a live handle.

The key alone is enough to edit the message through the bot token, after a restart or
after the interaction token expired. The handle, kept only in memory, remembers the
interaction (so edits use its token while it lives) and follows the reply if it had to
be re-posted as a new message.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.model import Destination, MessageRef

PLATFORM = "discord"


@dataclass
class LiveMessage:
    channel_id: int
    message_id: int
    interaction: discord.Interaction | None = None


def message_key(channel_id: int, message_id: int) -> str:
    return f"{channel_id}:{message_id}"


def parse_key(key: str) -> tuple[int, int]:
    channel_id, _, message_id = key.partition(":")
    return int(channel_id), int(message_id)


def make_ref(channel_id: int, message_id: int, interaction: discord.Interaction | None = None) -> MessageRef:
    return MessageRef(
        platform=PLATFORM,
        key=message_key(channel_id, message_id),
        handle=LiveMessage(channel_id, message_id, interaction),
    )


def live(ref: MessageRef) -> LiveMessage:
    """The live handle of `ref`, rebuilt from its key when it has none (after a restart)."""
    if isinstance(ref.handle, LiveMessage):
        return ref.handle
    return LiveMessage(*parse_key(ref.key))


def target_channel(where: Destination) -> int:
    """The Discord channel to send to: a thread is a channel of its own."""
    return int(where.thread_id or where.channel_id)


def destination_for(channel: object, guild_id: int | None) -> Destination:
    """The neutral destination of a Discord channel (threads keep their parent as `channel_id`)."""
    channel_id = getattr(channel, "id")
    parent_id = getattr(channel, "parent_id", None)
    team = str(guild_id) if guild_id else None
    if isinstance(channel, discord.Thread) and parent_id:
        return Destination(platform=PLATFORM, channel_id=str(parent_id), thread_id=str(channel_id), team_id=team)
    return Destination(platform=PLATFORM, channel_id=str(channel_id), team_id=team)
