"""The neutral request every adapter produces, and the references the core hands back.

Nothing here knows about Discord or Slack. Adapters build a `Request` from a platform
event; the core never looks inside a `MessageRef` except to hand it back to the adapter
that made it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

CommandName = Literal["codex", "image", "chat", "usage"]


@dataclass(frozen=True, kw_only=True)
class Destination:
    """Where replies go: a platform, a channel, and optionally a thread in it.

    It round-trips through `key()` / `from_key()`, so a durable image task can be
    delivered after a restart.
    """

    platform: str
    channel_id: str
    thread_id: str | None = None
    team_id: str | None = None

    def key(self) -> str:
        return "|".join((self.platform, self.channel_id, self.thread_id or "", self.team_id or ""))

    @classmethod
    def from_key(cls, key: str) -> Destination:
        platform, channel_id, thread_id, team_id = key.split("|")
        return cls(
            platform=platform,
            channel_id=channel_id,
            thread_id=thread_id or None,
            team_id=team_id or None,
        )


@dataclass(frozen=True, kw_only=True)
class User:
    id: str
    name: str = ""
    # The platform says this person administers the place (Discord: Manage Server); the
    # core also counts BOT_ADMIN_USERS. Admins may see `/usage all` and skip the budgets.
    admin: bool = False


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file the user attached. `fetch` downloads it (with the platform's credentials)."""

    name: str
    content_type: str | None
    size: int | None
    fetch: Callable[[], Awaitable[bytes]] = field(compare=False, repr=False)
    url: str | None = None  # set only when the URL is public and stable


@dataclass(frozen=True, kw_only=True)
class MessageRef:
    """An adapter's handle on a message it posted. Opaque to the core.

    `key` is a string the adapter can turn back into a message after a restart;
    `handle` is whatever live object the adapter prefers to keep (never persisted).
    """

    platform: str
    key: str
    handle: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Request:
    """One thing a user asked for, in platform-neutral terms.

    - `command`: "codex" and "image" are slash commands; "chat" is a mention or a
      message in a conversation the bot is part of.
    - `options`: raw option values as the platform gave them (strings or booleans);
      the core validates them.
    - `conversation_key`: set for chat turns; turns with the same key share memory.
    - `placeholder`: a message the adapter already shows for this request (Discord's
      deferred response, Slack's visible "working" message). The reply edits it first.
    """

    command: CommandName
    prompt: str
    user: User
    where: Destination
    options: Mapping[str, object] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    conversation_key: str | None = None
    placeholder: MessageRef | None = None
