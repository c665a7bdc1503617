"""Conversation memory: the turns of each conversation, stored so they survive a restart.

KIE keeps no server-side state, so every turn resends the history. The history is
trimmed from the oldest turns to a character budget. No single turn may take more than a
quarter of it: a longer one (a pasted log, an inlined file) is shortened, with a note
saying so, rather than pushing every other turn out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

from .store import Store

Role = Literal["user", "assistant"]

# A quarter each: the newest question and its answer always fit, with room for more.
TURN_SHARE = 4
# The smallest stored turn: `[{"type": "input_text", "text": ""}]`.
MIN_TURN_CHARS = len(json.dumps([{"type": "input_text", "text": ""}]))
SHORTENED_NOTE = "[… shortened: {dropped:,} more characters of this message were left out of the history]"


@dataclass(frozen=True)
class Turn:
    role: Role
    content: list[dict]  # Responses API content parts (input_text, input_image, ...)

    def size(self) -> int:
        return len(json.dumps(self.content, ensure_ascii=False))

    def shortened(self, limit: int) -> Turn:
        """This turn cut to at most `limit` characters (as sized), ending with a note that says so."""
        if self.size() <= limit:
            return self
        room = limit - len(SHORTENED_NOTE) - 64
        while True:
            turn = self._cut(max(room, 0))
            if turn.size() <= limit or room <= 0:
                return turn
            room -= turn.size() - limit  # JSON escapes made the text longer than it looked

    def _cut(self, room: int) -> Turn:
        kept: list[dict] = []
        dropped = 0
        for part in self.content:
            text = part.get("text")
            if not isinstance(text, str):
                continue  # an image or file reference: its URL has expired by now anyway
            keep = text[:room]
            room -= len(keep)
            dropped += len(text) - len(keep)
            if keep:
                kept.append({**part, "text": keep})
        kind = "output_text" if self.role == "assistant" else "input_text"
        kept.append({"type": kind, "text": SHORTENED_NOTE.format(dropped=dropped)})
        return Turn(self.role, kept)


class Conversations:
    def __init__(self, store: Store, *, budget_chars: int) -> None:
        self._store = store
        self._budget = budget_chars

    async def start(self) -> None:
        """Nothing to prepare: the table comes with the store's migrations."""

    async def history(self, key: str) -> list[Turn]:
        """The stored turns that fit the budget, oldest first."""
        kept: list[Turn] = []
        used = 0
        turn_limit = self._budget // TURN_SHARE
        # Newest first, and no more rows than could ever fit the budget (each turn takes
        # at least MIN_TURN_CHARS): a long thread costs no more than a short one.
        rows = await self._store.fetchall(
            "SELECT role, content FROM conversation_turns WHERE conversation = ? ORDER BY seq DESC LIMIT ?",
            key, self._budget // MIN_TURN_CHARS + 1,
        )
        for row in rows:
            turn = Turn(row["role"], json.loads(row["content"])).shortened(turn_limit)
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
        async with self._store.transaction() as tx:
            await tx.executemany(
                "INSERT INTO conversation_turns (conversation, role, content, created) VALUES (?, ?, ?, ?)",
                [(key, t.role, json.dumps(t.content, ensure_ascii=False), time.time()) for t in turns],
            )

    async def exists(self, key: str) -> bool:
        return await self._store.fetchone(
            "SELECT 1 FROM conversation_turns WHERE conversation = ? LIMIT 1", key
        ) is not None

    async def prune(self, before: float) -> int:
        """Forget turns stored before `before`. Returns how many went."""
        return await self._store.execute("DELETE FROM conversation_turns WHERE created < ?", before)

    async def forget(self, key: str) -> None:
        """Start the conversation over (the console's /reset)."""
        await self._store.execute("DELETE FROM conversation_turns WHERE conversation = ?", key)
