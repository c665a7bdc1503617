"""Slack payloads to the core's neutral `Request` (pure functions, no I/O).

- Slash commands: `/codex` and `/image` with flags as text. Slash commands carry no
  message, so the adapter posts a visible one first and the reply goes in its thread;
  that thread is the conversation, so mentioning the bot there continues it.
- `app_mention` in a channel: the reply goes in the mention's thread, and the thread
  is the conversation (`slack:<team>:<channel>:<thread_ts>`).
- `message.im`: one conversation per DM thread (a top-level DM starts a new thread).
- Files are private on Slack: each becomes an `Attachment` whose `fetch` downloads it
  with the bot token (`url=None`, since KIE cannot fetch it).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.model import Attachment, Destination, Request, User

from .mrkdwn import to_plain

PLATFORM = "slack"
COMMANDS = ("codex", "image", "usage")

Fetcher = Callable[[str], Awaitable[bytes]]


def conversation_key(team: str, channel: str, thread_ts: str) -> str:
    return f"slack:{team}:{channel}:{thread_ts}"


@dataclass(frozen=True)
class SlashCommand:
    name: str  # "codex" or "image"
    text: str  # what followed the command, as plain text
    user_id: str
    user_name: str
    channel_id: str
    team_id: str
    response_url: str | None


def slash_command(body: Mapping[str, str]) -> SlashCommand:
    return SlashCommand(
        name=str(body.get("command", "")).lstrip("/"),
        text=to_plain(str(body.get("text", ""))),
        user_id=str(body.get("user_id", "")),
        user_name=str(body.get("user_name", "")),
        channel_id=str(body.get("channel_id", "")),
        team_id=str(body.get("team_id") or body.get("enterprise_id") or ""),
        response_url=body.get("response_url"),
    )


def usage_request(command: SlashCommand) -> Request:
    """`/usage [all]`, answered privately in the command's ack (it only reads the database)."""
    where = Destination(platform=PLATFORM, channel_id=command.channel_id, team_id=command.team_id or None)
    return Request(
        command="usage", prompt=command.text.strip(), user=User(id=command.user_id, name=command.user_name), where=where
    )


def wants_all(command: SlashCommand) -> bool:
    return command.text.strip().lower() == "all"


def command_request(command: SlashCommand, options: dict[str, object], prompt: str, thread_ts: str) -> Request:
    """The request once the visible command message (`thread_ts`) is posted."""
    where = Destination(platform=PLATFORM, channel_id=command.channel_id, thread_id=thread_ts, team_id=command.team_id)
    return Request(
        command=command.name,  # type: ignore[arg-type]
        prompt=prompt,
        user=User(id=command.user_id, name=command.user_name),
        where=where,
        options=options,
        # A /codex thread is a conversation: a mention in it continues with memory.
        conversation_key=(
            conversation_key(command.team_id, command.channel_id, thread_ts) if command.name == "codex" else None
        ),
    )


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    return text.strip()


def event_team(body: Mapping, event: Mapping) -> str:
    return str(event.get("team") or body.get("team_id") or (body.get("enterprise_id") or ""))


def attachments(files: list[Mapping] | None, fetch: Fetcher) -> tuple[Attachment, ...]:
    found = []
    for file in files or ():
        url = file.get("url_private_download") or file.get("url_private")
        if not url or file.get("mode") == "tombstone":
            continue
        found.append(
            Attachment(
                name=str(file.get("name") or file.get("title") or "file"),
                content_type=file.get("mimetype"),
                size=file.get("size"),
                fetch=lambda url=url: fetch(url),
                url=None,
            )
        )
    return tuple(found)


def chat_request(body: Mapping, event: Mapping, *, bot_user_id: str | None, fetch: Fetcher) -> Request:
    """An `app_mention` or a DM, as a chat turn in the conversation of its thread."""
    team = event_team(body, event)
    channel = str(event["channel"])
    thread_ts = str(event.get("thread_ts") or event["ts"])
    return Request(
        command="chat",
        prompt=to_plain(strip_bot_mention(str(event.get("text") or ""), bot_user_id)),
        user=User(id=str(event.get("user", ""))),
        where=Destination(platform=PLATFORM, channel_id=channel, thread_id=thread_ts, team_id=team or None),
        attachments=attachments(event.get("files"), fetch),
        conversation_key=conversation_key(team, channel, thread_ts),
    )


def is_user_dm(event: Mapping) -> bool:
    """A DM a person wrote (not an edit, a deletion, a join, or a bot's own message)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("bot_id")
        and event.get("subtype") in (None, "file_share")
        and bool(event.get("user"))
    )
