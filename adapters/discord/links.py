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

SCHEMA = """
CREATE TABLE IF NOT EXISTS discord_conversation_links (
    discord_id TEXT PRIMARY KEY,
    conversation TEXT NOT NULL,
    parent_id TEXT,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Link:
    conversation: str
    parent_id: str | None = None  # set for threads: the channel the thread is in


class ConversationLinks:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def start(self) -> None:
        await self._store.ensure_schema(SCHEMA)

    async def link(self, discord_id: int, conversation: str, *, parent_id: str | None = None) -> None:
        async with self._store.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO discord_conversation_links (discord_id, conversation, parent_id, created) "
                "VALUES (?, ?, ?, ?)",
                (str(discord_id), conversation, parent_id, time.time()),
            )

    async def lookup(self, discord_id: int) -> Link | None:
        async with self._store.db.execute(
            "SELECT conversation, parent_id FROM discord_conversation_links WHERE discord_id = ?", (str(discord_id),)
        ) as cursor:
            row = await cursor.fetchone()
        return Link(row["conversation"], row["parent_id"]) if row else None

    async def prune(self, before: float) -> int:
        """Forget links made before `before` whose conversation has no turn left (the
        conversation retention deleted them): a thread still in use keeps its link."""
        async with self._store.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM discord_conversation_links WHERE created < ? AND NOT EXISTS "
                "(SELECT 1 FROM conversation_turns t WHERE t.conversation = discord_conversation_links.conversation)",
                (before,),
            )
            return cursor.rowcount
