"""The permissions the bot needs and the invite URL that grants them."""

from __future__ import annotations

import discord

# View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Attach
# Files, Read Message History: what the bot uses, and nothing more (README, Discord).
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    attach_files=True,
    read_message_history=True,
)
SCOPES = ("bot", "applications.commands")


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)
