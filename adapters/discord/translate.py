"""Discord objects → the core's neutral `Request` pieces. No I/O happens here."""

from __future__ import annotations

import re

import discord

from bot.model import Attachment, Destination, MessageRef, Request, User

from .refs import destination_for


def user_of(author: discord.abc.User, permissions: discord.Permissions | None = None) -> User:
    """`permissions`: the interaction's (sent by Discord); for a message, the member's own."""
    if permissions is None:
        try:
            permissions = getattr(author, "guild_permissions", None)
        except AttributeError:  # a member whose server is not cached
            permissions = None
    admin = bool(permissions is not None and permissions.manage_guild)
    return User(id=str(author.id), name=getattr(author, "display_name", None) or author.name, admin=admin)


def interaction_user(interaction: discord.Interaction) -> User:
    """Manage Server in a server makes an admin (the `/config` admins); DMs have none."""
    permissions = interaction.permissions if interaction.guild_id else discord.Permissions.none()
    return user_of(interaction.user, permissions)


def guild_id_of(source: discord.Interaction | discord.Message) -> int | None:
    """The server id, also when the server is not in discord.py's cache."""
    if isinstance(source, discord.Interaction):
        return source.guild_id
    if source.guild is not None:
        return source.guild.id
    return getattr(source.channel, "guild_id", None)


def interaction_destination(interaction: discord.Interaction) -> Destination:
    channel = interaction.channel
    if channel is None:  # Discord always sends the channel; discord.py keeps the id
        channel = discord.Object(id=interaction.channel_id or 0)
    return destination_for(channel, interaction.guild_id)


def attachment_of(item: discord.Attachment) -> Attachment:
    """A Discord attachment for the core: the CDN URL (KIE can fetch it) and a download."""
    return Attachment(name=item.filename, content_type=item.content_type, size=item.size, url=item.url, fetch=item.read)


def codex_request(
    interaction: discord.Interaction,
    *,
    prompt: str,
    model: str | None,
    effort: str | None,
    web_search: bool | None,
    placeholder: MessageRef,
    conversation_key: str,
) -> Request:
    options: dict[str, object] = {}
    if model:
        options["model"] = model
    if effort:
        options["effort"] = effort
    if web_search is not None:
        options["web_search"] = web_search
    return Request(
        command="codex",
        prompt=prompt,
        user=interaction_user(interaction),
        where=interaction_destination(interaction),
        options=options,
        conversation_key=conversation_key,
        placeholder=placeholder,
    )


def image_request(
    interaction: discord.Interaction,
    *,
    prompt: str,
    ratio: str | None,
    quality: str | None,
    engine: str | None,
    reference: discord.Attachment | None,
    placeholder: MessageRef,
) -> Request:
    options = {name: value for name, value in (("ratio", ratio), ("quality", quality), ("engine", engine)) if value}
    return Request(
        command="image",
        prompt=prompt,
        user=interaction_user(interaction),
        where=interaction_destination(interaction),
        options=options,
        attachments=(attachment_of(reference),) if reference is not None else (),
        placeholder=placeholder,
    )


def usage_request(interaction: discord.Interaction, *, scope: str | None) -> Request:
    return Request(
        command="usage",
        prompt="",
        user=interaction_user(interaction),
        where=interaction_destination(interaction),
        options={"scope": scope} if scope else {},
    )


def mention_text(message: discord.Message, me: discord.abc.User) -> str:
    """The message's text with the bot's own mention removed and other mentions readable."""
    text = re.sub(rf"<@!?{me.id}>", "", message.content)
    for user in message.mentions:
        if user.id != me.id:
            text = re.sub(rf"<@!?{user.id}>", "@" + getattr(user, "display_name", user.name), text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def chat_request(
    message: discord.Message,
    *,
    prompt: str,
    where: Destination,
    conversation_key: str,
    placeholder: MessageRef,
) -> Request:
    return Request(
        command="chat",
        prompt=prompt,
        user=user_of(message.author),
        where=where,
        attachments=tuple(attachment_of(a) for a in message.attachments),
        conversation_key=conversation_key,
        placeholder=placeholder,
    )
