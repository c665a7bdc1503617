"""Realistic Discord payloads (API v10) for the fake server and the tests.

Shapes follow discord-api-docs: users, messages, channels, and INTERACTION_CREATE data
for slash commands and button presses, as discord.py's own tests build them.
"""

from __future__ import annotations

import datetime
import itertools

import discord

APP_ID = 900000000000000001
BOT_ID = APP_ID  # a bot user has its application's id
GUILD_ID = 900000000000000100
CHANNEL_ID = 900000000000000200
USER_ID = 900000000000000300
OTHER_USER_ID = 900000000000000301
BOT_TOKEN = "fake-bot-token.XYZ"

_counter = itertools.count(1)


def snowflake(at: datetime.datetime | None = None) -> int:
    """A fresh, unique snowflake for `at` (now by default): discord.py reads times from ids."""
    base = discord.utils.time_snowflake(at or discord.utils.utcnow())
    return base + next(_counter) % 4096


def now_iso() -> str:
    return discord.utils.utcnow().isoformat()


def user(user_id: int = USER_ID, name: str = "alice", *, bot: bool = False) -> dict:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name.capitalize(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


BOT_USER = user(BOT_ID, "kiebot", bot=True)


def member(user_id: int = USER_ID, name: str = "alice", roles: tuple[int, ...] = ()) -> dict:
    return {
        "user": user(user_id, name),
        "roles": [str(r) for r in roles],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "permissions": "2248473465835073",
    }


def text_channel(channel_id: int = CHANNEL_ID, guild_id: int = GUILD_ID) -> dict:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": "general",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def thread_channel(thread_id: int, parent_id: int = CHANNEL_ID, guild_id: int = GUILD_ID, name: str = "chat") -> dict:
    return {
        "id": str(thread_id),
        "type": 11,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(BOT_ID),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": now_iso(),
            "locked": False,
            "create_timestamp": now_iso(),
        },
    }


def message(
    *,
    message_id: int | None = None,
    channel_id: int = CHANNEL_ID,
    guild_id: int | None = GUILD_ID,
    author: dict | None = None,
    content: str = "",
    mentions: list[dict] | None = None,
    attachments: list[dict] | None = None,
    components: list[dict] | None = None,
    referenced: dict | None = None,
    mention_everyone: bool = False,
    message_type: int = 0,
) -> dict:
    data = {
        "id": str(message_id or snowflake()),
        "channel_id": str(channel_id),
        "author": author or user(),
        "content": content,
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": mention_everyone,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": [],
        "pinned": False,
        "type": message_type if referenced is None else 19,
        "flags": 0,
        "components": components or [],
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        if author is None or not author.get("bot"):
            data["member"] = {k: v for k, v in member().items() if k != "user"}
    if referenced is not None:
        data["message_reference"] = {
            "type": 0,
            "message_id": referenced["id"],
            "channel_id": referenced["channel_id"],
            "guild_id": str(guild_id) if guild_id else None,
        }
        data["referenced_message"] = referenced
    return data


def attachment(url: str, *, filename: str = "cat.png", content_type: str = "image/png", size: int = 1234) -> dict:
    return {
        "id": str(snowflake()),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
        "width": 64,
        "height": 64,
    }


def _option(name: str, value: object) -> dict:
    kind = {bool: 5, str: 3, int: 4}[type(value)]
    return {"name": name, "type": kind, "value": value}


def slash_command(
    name: str,
    options: dict[str, object],
    *,
    command_id: int = 900000000000000900,
    channel: dict | None = None,
    guild_id: int | None = GUILD_ID,
    invoker: int = USER_ID,
    roles: tuple[int, ...] = (),
    created: datetime.datetime | None = None,
    attachments: dict[str, dict] | None = None,
) -> dict:
    """An INTERACTION_CREATE payload for `/name` with `options` (attachments by option name)."""
    opts = [_option(k, v) for k, v in options.items()]
    data: dict = {"id": str(command_id), "name": name, "type": 1, "options": opts}
    if attachments:
        data["resolved"] = {"attachments": {}}
        for option_name, item in attachments.items():
            opts.append({"name": option_name, "type": 11, "value": item["id"]})
            data["resolved"]["attachments"][item["id"]] = item
    return _interaction(2, data, channel=channel, guild_id=guild_id, invoker=invoker, roles=roles, created=created)


def button_press(custom_id: str, message_data: dict, *, invoker: int = USER_ID, guild_id: int | None = GUILD_ID) -> dict:
    data = {"custom_id": custom_id, "component_type": 2}
    payload = _interaction(3, data, channel=None, guild_id=guild_id, invoker=invoker, roles=())
    payload["message"] = message_data
    return payload


def _interaction(kind, data, *, channel, guild_id, invoker, roles, created=None) -> dict:
    payload: dict = {
        "id": str(snowflake(created)),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"itoken-{next(_counter)}-secret",
        "version": 1,
        "data": data,
        "channel": channel or text_channel(guild_id=guild_id or GUILD_ID),
        "channel_id": (channel or {}).get("id", str(CHANNEL_ID)),
        "locale": "en-US",
        "app_permissions": "2248473465835073",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)} if guild_id else {"1": str(invoker)},
        "context": 0 if guild_id else 1,
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = "en-US"
        payload["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
        payload["member"] = member(invoker, "alice" if invoker == USER_ID else "bob", roles)
    else:
        payload["user"] = user(invoker)
    return payload
