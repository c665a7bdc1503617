"""Conversation memory: the turns of each conversation, stored so they survive a restart.

KIE keeps no server-side state, so every turn resends the history. The history is
trimmed from the oldest turns to a character budget; the newest user turn always stays.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_turns (
    conversation TEXT NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversation_turns_by_key ON conversation_turns (conversation, seq);
"""

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    content: list[dict]  # Responses API content parts (input_text, input_image, ...)

    def size(self) -> int:
        return len(json.dumps(self.content, ensure_ascii=False))


class Conversations:
    def __init__(self, store: Store, *, budget_chars: int) -> None:
        self._store = store
        self._budget = budget_chars

    async def start(self) -> None:
        await self._store.ensure_schema(SCHEMA)

    async def history(self, key: str) -> list[Turn]:
        """The stored turns that fit the budget, oldest first."""
        kept: list[Turn] = []
        used = 0
        # Newest first, and stop reading once the budget is spent: a long thread costs
        # no more per turn than a short one.
        async with self._store.db.execute(
            "SELECT role, content FROM conversation_turns WHERE conversation = ? ORDER BY seq DESC",
            (key,),
        ) as cursor:
            async for row in cursor:
                turn = Turn(row["role"], json.loads(row["content"]))
                used += turn.size()
                if used > self._budget:
                    break
                kept.append(turn)
        kept.reverse()
        # A history must not open with an assistant turn whose question was trimmed away.
        while kept and kept[0].role == "assistant":
            kept.pop(0)
        return kept

    async def append(self, key: str, *turns: Turn) -> None:
        async with self._store.transaction() as db:
            await db.executemany(
                "INSERT INTO conversation_turns (conversation, role, content, created) VALUES (?, ?, ?, ?)",
                [(key, t.role, json.dumps(t.content, ensure_ascii=False), time.time()) for t in turns],
            )

    async def exists(self, key: str) -> bool:
        async with self._store.db.execute(
            "SELECT 1 FROM conversation_turns WHERE conversation = ? LIMIT 1", (key,)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def forget(self, key: str) -> None:
        """Start the conversation over (the console's /reset)."""
        async with self._store.transaction() as db:
            await db.execute("DELETE FROM conversation_turns WHERE conversation = ?", (key,))
