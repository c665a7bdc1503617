"""The same store behaviour on SQLite and on PostgreSQL (`any_store` runs each test on
both; PostgreSQL when TEST_DATABASE_URL is set): dedupe, Discord links, channel
settings, the ledger's hold and settle, and image task leases."""

from __future__ import annotations

import asyncio
import time

from adapters.discord.links import ConversationLinks
from bot.channel_settings import ChannelSettings
from bot.config import Settings
from bot.dedupe import Dedupe
from bot.images.records import QUEUED, RUNNING, ImageTasks
from bot.model import Destination
from bot.usage.ledger import IMAGE, Entry, Ledger, Settlement, scopes_of

WHERE = Destination(platform="slack", channel_id="C1")


async def test_a_key_is_claimed_once_even_by_concurrent_callers(any_store):
    dedupe = Dedupe(any_store)
    claims = await asyncio.gather(*(dedupe.first_time("slack:Ev1") for _ in range(10)))
    assert claims.count(True) == 1
    assert await dedupe.first_time("slack:Ev2") is True


async def test_a_link_is_replaced_and_found(any_store):
    links = ConversationLinks(any_store)
    await links.link(42, "discord:thread:1", parent_id="7")
    await links.link(42, "discord:thread:2")
    found = await links.lookup(42)
    assert (found.conversation, found.parent_id) == ("discord:thread:2", None)
    assert await links.lookup(43) is None


async def test_channel_settings_are_set_one_field_at_a_time_and_reset(any_store):
    settings = Settings(kie_api_key="k", _env_file=None)
    channels = ChannelSettings(any_store, settings)
    await channels.command("slack", "C1", "effort high")
    await channels.command("slack", "C1", "instructions Answer in French.")
    config = await channels.get("slack", "C1")
    assert (config.effort, config.instructions, config.model) == ("high", "Answer in French.", None)
    await channels.reset("slack", "C1")
    assert (await channels.get("slack", "C1")).effort is None


async def test_a_held_spend_is_settled_once_and_counted(any_store):
    ledger = Ledger(any_store)
    scopes = scopes_of("slack", "T1", "C1", "U1")
    entry = Entry(IMAGE, "slack", "T1", "C1", "U1", "image", "gpt", 5000, scopes, time.time(), "2026-11-30")
    entry_id, refusal = await ledger.reserve(entry, lambda snapshot: None)
    assert refusal is None and entry_id is not None
    settled = await asyncio.gather(*(ledger.settle(entry_id, Settlement(4000), now=time.time()) for _ in range(5)))
    assert settled.count(True) == 1
    totals = await ledger.totals(scopes[0], "2026-11-30", "2026-11-30")
    assert (totals.millicredits, totals.images) == (4000, 1)


async def test_each_orphaned_task_is_adopted_by_exactly_one_process(any_store):
    tasks = ImageTasks(any_store)
    now = time.time()
    for n in range(6):
        task = await tasks.add(where=WHERE, progress_key=None, user_id="u", prompt=f"p{n}", engine="gpt", body={},
                               owner="dead", lease_until=now - 1)
        await tasks.move(task.id, [QUEUED], RUNNING)
    alive = await tasks.add(where=WHERE, progress_key=None, user_id="u", prompt="held", engine="gpt", body={},
                            owner="alive", lease_until=now + 60)
    taken = await asyncio.gather(*(
        tasks.adopt(f"survivor-{n}", lease_until=now + 30, expired_before=now, limit=2, platforms=["slack"])
        for n in range(4)
    ))
    ids = [task.id for batch in taken for task in batch]
    assert len(ids) == len(set(ids)) == 6  # every orphan once, none twice
    assert alive.id not in ids
    assert all(task.owner.startswith("survivor-") for batch in taken for task in batch)
    assert await tasks.renew("survivor-0", lease_until=now + 90) == len(taken[0])
    assert await tasks.adopt("late", lease_until=now + 30, expired_before=now, limit=10, platforms=["slack"]) == []
