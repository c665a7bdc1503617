"""Discord's conversation links follow the conversations' retention: a link goes only
once its conversation has no turn left, so a thread still in use keeps working."""

from __future__ import annotations

import time

DAY = 24 * 3600


async def test_links_of_forgotten_conversations_are_pruned(h):
    old = time.time() - 40 * DAY
    async with h.core.store.transaction() as tx:
        await tx.executemany(
            "INSERT INTO discord_conversation_links (discord_id, conversation, parent_id, created) VALUES (?, ?, NULL, ?)",
            [("1", "discord:thread:1", old), ("2", "discord:thread:2", old), ("3", "discord:thread:3", time.time())],
        )
        await tx.execute(
            "INSERT INTO conversation_turns (conversation, role, content, created) VALUES ('discord:thread:2', 'user', '[]', ?)",
            time.time(),
        )

    deleted = await h.core.retention.prune_once()

    assert deleted["Discord conversation links"] == 1
    assert await h.adapter.links.lookup(1) is None
    assert (await h.adapter.links.lookup(2)).conversation == "discord:thread:2"  # its thread is still talking
    assert (await h.adapter.links.lookup(3)).conversation == "discord:thread:3"
