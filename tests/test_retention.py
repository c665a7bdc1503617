"""Retention: old conversation turns and finished image tasks are deleted in the
background; recent turns and unfinished tasks stay."""

from __future__ import annotations

import asyncio
import time

from bot.conversations import Turn
from bot.images import records
from bot.images.records import ImageTasks
from bot.model import Destination
from bot.runtime import Core

DAY = 24 * 3600
WHERE = Destination(platform="console", channel_id="terminal")


async def add_turn(core: Core, key: str, text: str, *, age_days: float) -> None:
    await core.store.execute(
        "INSERT INTO conversation_turns (conversation, role, content, created) VALUES (?, 'user', ?, ?)",
        key, f'[{{"type": "input_text", "text": "{text}"}}]', time.time() - age_days * DAY,
    )


async def add_task(core: Core, state: str, *, age_days: float) -> str:
    then = time.time() - age_days * DAY
    tasks = ImageTasks(core.store, clock=lambda: then)
    task = await tasks.add(where=WHERE, progress_key=None, user_id="u", prompt=state, engine="4o", body={})
    if state != records.QUEUED:
        assert await tasks.move(task.id, [records.QUEUED], state)
    return task.id


async def test_old_turns_and_finished_tasks_go_while_recent_and_pending_ones_stay(core):
    await add_turn(core, "old", "forgotten", age_days=31)
    await add_turn(core, "mixed", "forgotten too", age_days=40)
    await add_turn(core, "mixed", "remembered", age_days=29)
    old_done = await add_task(core, records.DONE, age_days=8)
    old_failed = await add_task(core, records.FAILED, age_days=8)
    old_gave_up = await add_task(core, records.GAVE_UP, age_days=8)
    recent_done = await add_task(core, records.DONE, age_days=6)
    old_pending = [await add_task(core, state, age_days=30) for state in (records.QUEUED, records.RUNNING, records.DELIVERING)]

    await core.retention.start()  # as `python -m bot` starts it, with the other services
    await asyncio.wait_for(core.retention.passed.wait(), 5)

    assert await core.conversations.history("old") == []
    assert await core.conversations.history("mixed") == [Turn("user", [{"type": "input_text", "text": "remembered"}])]
    assert [await core.images.tasks.get(i) for i in (old_done, old_failed, old_gave_up)] == [None, None, None]
    assert await core.images.tasks.get(recent_done) is not None
    assert [(await core.images.tasks.get(i)).state for i in old_pending] == ["queued", "running", "delivering"]

    await asyncio.wait_for(core.retention.stop(), 1)  # stops at once, not after the next hourly pass


async def test_zero_days_keeps_everything(kie, settings_for):
    core = await Core.create(settings_for(kie, retention_conversation_days=0, retention_finished_task_days=0))
    try:
        await add_turn(core, "old", "kept", age_days=3650)
        done = await add_task(core, records.DONE, age_days=3650)
        assert await core.retention.prune_once() == {}
        assert await core.conversations.exists("old")
        assert await core.images.tasks.get(done) is not None
    finally:
        await core.close()
