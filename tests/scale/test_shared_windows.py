"""Shared windows in a real Redis: two processes' pacers (here two `WritePacer`s, each as
a process has it) together stay inside one scope's budget, and the window script is
atomic under concurrency."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.ports import Pace
from bot.render.pacing import WritePacer
from bot.shared import connect
from bot.shared.windows import SharedWindows
from tests.servers import redis_prefix, redis_url_or_skip


@pytest.fixture
async def windows():
    url = redis_url_or_skip()
    async with redis_prefix(url) as prefix:
        client = connect(url)
        yield SharedWindows(client, prefix)
        await client.aclose()


def most_within(times: list[float], span: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < span) for i, start in enumerate(times))


async def test_two_pacers_sharing_a_scope_stay_inside_its_budget_together(windows):
    pace = Pace("slack:T1:chat.update", (2, 1.0))
    pacers = [WritePacer(shared=windows), WritePacer(shared=windows)]
    written: list[float] = []

    async def write(pacer: WritePacer) -> None:
        await pacer.take(pace)
        written.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(write(pacers[n % 2]) for n in range(6)))
    # Each pacer alone would allow 2 per second, 4 per second together; shared, 2.
    assert most_within(written, 0.9) == 2
    assert max(written) - started >= 1.9


async def test_the_last_slot_goes_to_exactly_one_of_many_concurrent_callers(windows):
    results = await asyncio.gather(*(windows.try_take("kie:create:k", [(5, 10.0)]) for _ in range(40)))
    assert sum(1 for wait in results if wait == 0) == 5
    assert all(0 < wait <= 10.0 for wait in results if wait)


async def test_a_write_must_fit_every_window_of_its_scope(windows):
    limits = [(10, 60.0), (2, 1.0)]  # a per-minute tier with a burst cap
    assert await windows.try_take("slack:T1:conversations.replies", limits) == 0
    assert await windows.try_take("slack:T1:conversations.replies", limits) == 0
    assert 0 < await windows.try_take("slack:T1:conversations.replies", limits) <= 1.0


async def test_a_held_slot_used_by_one_process_counts_for_the_others(windows):
    # A native stream's start slot is held in its process when the reply begins and used
    # at the first delta; the other processes must see that call in the shared window.
    pace = Pace("slack:T1:chat.startStream", (2, 60.0))
    mine = WritePacer(shared=windows)
    held = mine.reserve(pace)
    assert held is not None
    held.use()
    await mine.count_shared(pace)
    assert await windows.try_take(pace.scope, [pace.budget]) == 0  # the second of two
    assert await windows.try_take(pace.scope, [pace.budget]) > 0  # none left, for anyone
