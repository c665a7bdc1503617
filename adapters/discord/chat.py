"""Mentions, replies, threads and DMs: which messages start or continue a conversation.

- `@bot question` in a channel: a thread is created from that message and the answer
  goes there; the thread is the conversation (`discord:thread:<id>`).
- A message in a thread that is a bot conversation continues it without a mention
  (Discord only shows the bot its text with the message content intent).
- A reply to one of the bot's messages continues that message's conversation, answered
  in place as a reply.
- A DM channel is one conversation (`discord:dm:<channel id>`).
- Messages from bots (the bot itself included) are ignored; `@everyone` is not a mention
  of the bot (`bot.user in message.mentions`, not `mentioned_in`).

Each turn gets a visible "thinking" placeholder that the streamed answer replaces; its id
is linked to the conversation so a reply to it continues the same conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import discord

from bot.model import Destination, MessageRef
from bot.runtime import Core

from . import messages, translate
from .access import Allowlists, role_ids
from .errors import discord_errors
from .links import ConversationLinks, Link
from .outbound import DiscordOutbound
from .refs import PLATFORM, destination_for, live, make_ref, target_channel

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES = 1440
USER_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)
QUOTE_CHARS = 1500


@dataclass
class Turn:
    """Where a chat turn is answered, and which conversation it belongs to."""

    where: Destination
    key: str
    addressed: bool  # the user spoke to the bot (mention, reply, DM), so it should answer even a refusal
    reply_to: discord.Message | None = None  # answer as a Discord reply to this message
    new_thread_from: discord.Message | None = None
    context: str = ""  # the bot message being replied to, when the conversation has no history


class MessageRouter:
    def __init__(self, core: Core, client: discord.Client, out: DiscordOutbound, *, allow: Allowlists, links: ConversationLinks) -> None:
        self._core = core
        self._client = client
        self._out = out
        self._allow = allow
        self._links = links

    async def on_message(self, message: discord.Message) -> None:
        me = self._client.user
        if me is None or message.author.bot or message.type not in USER_MESSAGE_TYPES:
            return  # other bots, and system notices (pins, joins) that carry no text
        turn = await self._route(message, me)
        if turn is None:
            return
        refusal = self._allow.refusal(
            guild_id=translate.guild_id_of(message),
            channel_ids=(turn.where.channel_id, turn.where.thread_id),
            user_id=message.author.id,
            role_ids=role_ids(message.author),
        )
        if refusal is not None:
            if turn.addressed:
                await self._answer(message, refusal)
            return
        prompt = translate.mention_text(message, me)
        if not prompt and not message.attachments:
            if not self._client.intents.message_content and not message.content:
                await self._answer(message, messages.CANNOT_READ)
            elif turn.addressed and me in message.mentions:
                await self._answer(message, messages.EMPTY_MENTION.format(mention=me.mention))
            return
        if turn.new_thread_from is not None:
            turn = await self._open_thread(turn, prompt, me)
        if turn.context:
            prompt = f"{turn.context}\n\n{prompt}"
        placeholder = await self._placeholder(turn)
        await self._links.link(live(placeholder).message_id, turn.key)
        request = translate.chat_request(message, prompt=prompt, where=turn.where, conversation_key=turn.key, placeholder=placeholder)
        await self._core.bot.handle(request)

    # -- routing ----------------------------------------------------------------------
    async def _route(self, message: discord.Message, me: discord.ClientUser) -> Turn | None:
        channel = message.channel
        guild_id = translate.guild_id_of(message)
        if guild_id is None:
            where = Destination(platform=PLATFORM, channel_id=str(channel.id))
            return Turn(where, f"discord:dm:{channel.id}", addressed=True)
        mentioned = me in message.mentions
        replied = _replied_bot_message(message, me)
        addressed = mentioned or replied is not None
        # A thread the bot started, or one where a conversation with it already runs.
        thread = await self._links.lookup(channel.id)
        thread_key = thread.conversation if thread else f"discord:thread:{channel.id}"
        in_bot_thread = thread is not None or await self._core.conversations.exists(thread_key)
        if in_bot_thread or (isinstance(channel, discord.Thread) and addressed):
            return Turn(_thread_destination(channel, guild_id, thread), thread_key, addressed=addressed)
        where = destination_for(channel, guild_id)
        if replied is not None:
            link = await self._links.lookup(replied.id)
            key = link.conversation if link else f"discord:message:{replied.id}"
            context = "" if await self._core.conversations.exists(key) else _quote(replied.content)
            return Turn(where, key, addressed=True, reply_to=message, context=context)
        if mentioned:
            return Turn(where, f"discord:message:{message.id}", addressed=True, reply_to=message, new_thread_from=message)
        return None

    async def _open_thread(self, turn: Turn, prompt: str, me: discord.ClientUser) -> Turn:
        """Start a thread from the mention; if Discord refuses, answer in place instead."""
        source = turn.new_thread_from
        assert source is not None
        name = (prompt.splitlines()[0] if prompt else "")[:90] or messages.THREAD_NAME.format(bot=me.display_name)
        try:
            data = await self._client.http.start_thread_with_message(
                source.channel.id, source.id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            log.warning("could not start a thread from message %s (HTTP %s, code %s); answering in the channel", source.id, exc.status, exc.code)
            return turn
        thread_id = int(data["id"])
        key = f"discord:thread:{thread_id}"
        await self._links.link(thread_id, key, parent_id=turn.where.channel_id)
        where = Destination(platform=PLATFORM, channel_id=turn.where.channel_id, thread_id=str(thread_id), team_id=turn.where.team_id)
        return Turn(where, key, addressed=True)

    # -- sending ----------------------------------------------------------------------
    async def _placeholder(self, turn: Turn) -> MessageRef:
        # The placeholder is a message in the channel like any other: it takes its turn.
        await self._core.pacer.take(self._out.write_pace(turn.where, None))
        channel = self._client.get_partial_messageable(target_channel(turn.where))
        with discord_errors("answer"):
            sent = await channel.send(messages.THINKING, reference=_reference(turn.reply_to))
        return make_ref(sent.channel.id, sent.id)

    async def _answer(self, message: discord.Message, text: str) -> None:
        """A short answer to `message` (a refusal or a hint); failures are only logged."""
        try:
            await message.channel.send(text, reference=_reference(message))
        except discord.HTTPException as exc:
            log.warning("could not answer message %s (HTTP %s, code %s)", message.id, exc.status, exc.code)


def _thread_destination(channel: discord.abc.Messageable, guild_id: int, link: Link | None) -> Destination:
    parent = getattr(channel, "parent_id", None) or (link.parent_id if link else None)
    if parent is None:  # a thread we know nothing about: it is its own channel
        return Destination(platform=PLATFORM, channel_id=str(channel.id), team_id=str(guild_id))
    return Destination(platform=PLATFORM, channel_id=str(parent), thread_id=str(channel.id), team_id=str(guild_id))


def _replied_bot_message(message: discord.Message, me: discord.ClientUser) -> discord.Message | None:
    ref = message.reference
    resolved = ref.resolved if ref is not None else None
    if isinstance(resolved, discord.Message) and resolved.author.id == me.id:
        return resolved
    return None


def _reference(message: discord.Message | None) -> discord.MessageReference | None:
    if message is None:
        return None
    return discord.MessageReference(message_id=message.id, channel_id=message.channel.id, fail_if_not_exists=False)


def _quote(text: str) -> str:
    if not text:
        return ""
    clipped = text[:QUOTE_CHARS] + ("…" if len(text) > QUOTE_CHARS else "")
    return "(Replying to your earlier message:)\n" + "\n".join("> " + line for line in clipped.splitlines())
