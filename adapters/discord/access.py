"""Who may use the bot where: the optional allowlists (DISCORD_ALLOWED_*).

- Guilds and channels limit *where*; a thread counts as its parent channel too.
- Users and roles limit *who*: a person passes when listed by id or when they have one of
  the listed roles. With neither list set, everyone passes.
- Direct messages have no server, channel list or roles: when any allowlist is set, only
  users listed in DISCORD_ALLOWED_USERS may talk to the bot there.

Each list that is set must be satisfied; an empty list means "no restriction".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import discord

from bot.config import Settings

from . import messages


@dataclass(frozen=True)
class Allowlists:
    guilds: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Allowlists:
        return cls(
            guilds=settings.discord_allowed_guilds,
            channels=settings.discord_allowed_channels,
            roles=settings.discord_allowed_roles,
            users=settings.discord_allowed_users,
        )

    @property
    def active(self) -> bool:
        return bool(self.guilds or self.channels or self.roles or self.users)

    def refusal(
        self,
        *,
        guild_id: int | None,
        channel_ids: Iterable[int | str | None],
        user_id: int,
        role_ids: Iterable[int] = (),
    ) -> str | None:
        """The sentence to refuse with, or None when the request is allowed."""
        user = str(user_id)
        if guild_id is None:
            if self.active and user not in self.users:
                return messages.REFUSED_DM
            return None
        if self.guilds and str(guild_id) not in self.guilds:
            return messages.REFUSED_GUILD
        if self.channels and not any(str(c) in self.channels for c in channel_ids if c is not None):
            return messages.REFUSED_CHANNEL
        if (self.users or self.roles) and user not in self.users and not any(str(r) in self.roles for r in role_ids):
            return messages.REFUSED_USER
        return None


def role_ids(user: discord.abc.User) -> list[int]:
    """The role ids of a guild member as Discord sent them with the event.

    `Member.roles` resolves ids through the guild cache and is empty when the guild is not
    cached (an interaction from a server the gateway has not described yet); the ids in the
    event payload are always there.
    """
    return [int(r) for r in getattr(user, "_roles", ())]
