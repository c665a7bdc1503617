"""Which conversation a Discord thread or bot message belongs to.

When someone replies to one of the bot's messages, or writes in a thread the bot
started, the adapter looks the message or thread id up here to continue the right
conversation. For threads it also keeps the parent channel, which the allowlists need
and which a message event does not carry. The table lives in the shared store, so links
survive a restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store import Store


@dataclass(frozen=True)
class Link:
    conversation: str
    parent_id: str | None = None  # set for threads: the channel the thread is in


class ConversationLinks:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def start(self) -> None:
        """Nothing to prepare: the table comes with the store's migrations."""

    async def link(self, discord_id: int, conversation: str, *, parent_id: str | None = None) -> None:
        await self._store.execute(
            "INSERT INTO discord_conversation_links (discord_id, conversation, parent_id, created) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (discord_id) DO UPDATE SET conversation = excluded.conversation, "
            "parent_id = excluded.parent_id, created = excluded.created",
            str(discord_id), conversation, parent_id, time.time(),
        )

    async def lookup(self, discord_id: int) -> Link | None:
        row = await self._store.fetchone(
            "SELECT conversation, parent_id FROM discord_conversation_links WHERE discord_id = ?", str(discord_id)
        )
        return Link(row["conversation"], row["parent_id"]) if row else None

    async def prune(self, before: float) -> int:
        """Forget links made before `before` whose conversation has no turn left (the
        conversation retention deleted them): a thread still in use keeps its link."""
        return await self._store.execute(
            "DELETE FROM discord_conversation_links WHERE created < ? AND NOT EXISTS "
            "(SELECT 1 FROM conversation_turns t WHERE t.conversation = discord_conversation_links.conversation)",
            before,
        )
