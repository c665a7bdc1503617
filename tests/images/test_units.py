"""Pure pieces of the image pipeline: status dialects, signatures, schedule, limiters,
the atomic claim."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.images.creation import CreationQueue
from bot.images.magic import sniff
from bot.images.options import RATIOS, image_options
from bot.images.ratelimit import RateLimiter
from bot.images.records import DELIVERING, RUNNING, ImageTasks
from bot.images.schedule import PollSchedule
from bot.images.status import callback_hint, callback_task_id, fouro_status, job_status
from bot.images.webhook import signature_for, verify_signature
from bot.model import Destination
from tests.fakes.kie_images import png

# -- status dialects ---------------------------------------------------------------------


def test_jobs_status_reads_result_json_as_a_string():
    data = {"state": "success", "resultJson": json.dumps({"resultUrls": ["https://x/1.png", "https://x/2.png"]})}
    status = job_status(data)
    assert (status.state, status.urls) == ("success", ("https://x/1.png", "https://x/2.png"))


@pytest.mark.parametrize("state", ["waiting", "queuing", "generating"])
def test_jobs_pending_states(state):
    assert job_status({"state": state}).state == "pending"


def test_jobs_failure_keeps_code_and_message():
    status = job_status({"state": "fail", "failCode": "422", "failMsg": "bad prompt", "resultJson": ""})
    assert (status.state, status.error, status.error_code) == ("fail", "bad prompt", "422")


@pytest.mark.parametrize("key", ["resultUrls", "result_urls"])
def test_4o_success_accepts_both_url_spellings(key):
    status = fouro_status({"successFlag": 1, "status": "SUCCESS", "response": {key: ["https://x/a.png"]}})
    assert (status.state, status.urls) == ("success", ("https://x/a.png",))


@pytest.mark.parametrize(
    "data",
    [
        {"successFlag": 2, "status": "GENERATE_FAILED", "errorMessage": "boom"},
        {"successFlag": 3, "errorMessage": "boom"},
        {"status": "CREATE_TASK_FAILED", "errorMessage": "boom"},
    ],
)
def test_4o_failures(data):
    status = fouro_status(data)
    assert (status.state, status.error) == ("fail", "boom")


def test_4o_progress_is_a_fraction_string():
    assert fouro_status({"successFlag": 0, "status": "GENERATING", "progress": "0.45"}).progress == 0.45
    assert fouro_status({"successFlag": 0, "progress": "garbage"}).progress is None


def test_callback_shapes_jobs_and_4o():
    jobs = {"code": 200, "data": {"taskId": "t1", "state": "success", "resultJson": '{"resultUrls":["https://a/b.png"]}'}}
    fouro_ok = {"code": 200, "msg": "success", "data": {"taskId": "t2", "info": {"result_urls": ["https://a/c.png"]}}}
    fouro_bad = {"code": 400, "msg": "flagged", "data": {"taskId": "t3", "info": None}}
    assert callback_hint(jobs).urls == ("https://a/b.png",)
    assert callback_hint(fouro_ok).urls == ("https://a/c.png",)
    assert (callback_hint(fouro_bad).state, callback_hint(fouro_bad).error) == ("fail", "flagged")
    assert [callback_task_id(b) for b in (jobs, fouro_ok, {"data": {"task_id": "t4"}}, {"taskId": "t5"}, [])] == [
        "t1", "t2", "t4", "t5", ""
    ]


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers()), st.dictionaries(st.text(), st.text())))
def test_status_parsers_never_raise_on_garbage(value):
    for parse in (job_status, fouro_status, callback_hint):
        assert parse(value).state in ("pending", "success", "fail")
    callback_task_id(value)


# -- signatures --------------------------------------------------------------------------


def test_signature_matches_kie_recipe():
    # base64(HMAC-SHA256(key, taskId + "." + timestamp)), computed independently.
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"k", b"task_1.1700000000", hashlib.sha256).digest()).decode()
    assert signature_for("k", "task_1", "1700000000") == expected


@pytest.mark.parametrize(
    ("task_id", "stamp", "signature", "ok"),
    [
        ("task_1", "1000", None, True),
        ("task_2", "1000", None, False),  # signed for another task
        ("task_1", "1000", "not base64!", False),
        ("task_1", "1000", "", False),
        ("task_1", None, None, False),
        ("task_1", "1400", None, False),  # outside the clock window
        ("task_1", "abc", None, False),
        ("", "1000", None, False),
    ],
)
def test_verify_signature(task_id, stamp, signature, ok):
    good = signature_for("key", "task_1", "1000")
    given_signature = good if signature is None else signature
    assert verify_signature("key", task_id, stamp, given_signature, now=1100, max_skew=300) is ok


# -- options -------------------------------------------------------------------------------


@given(st.text(max_size=10))
def test_only_kie_ratios_are_accepted(ratio):
    if ratio.strip().lower() in RATIOS or not ratio.strip():
        return
    with pytest.raises(UsageError):
        image_options({"ratio": ratio}, "a fox", 0)


def test_defaults():
    options = image_options({}, "a fox", 0)
    assert (options.engine, options.ratio, options.quality) == ("gpt-image-1.5", "1:1", "medium")
    assert image_options({"engine": "4o"}, "a fox", 5).quality is None


def test_magic_bytes():
    assert sniff(png()) == "image/png"
    assert sniff(b"\xff\xd8\xff\xdb") == "image/jpeg"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"<html>") is None
    assert sniff(b"") is None


# -- schedule ---------------------------------------------------------------------------------


def test_default_schedule_follows_kie_advice():
    s = PollSchedule()
    assert 2 <= s.delay(0) <= 3 and 2 <= s.delay(29) <= 3
    assert 5 <= s.delay(30) <= 10 and 5 <= s.delay(119) <= 10
    assert 15 <= s.delay(120) <= 30 and 15 <= s.delay(800) <= 30
    assert s.delay(895) == 5  # the last wait ends exactly at the give-up time
    assert 10 * 60 <= s.give_up <= 15 * 60
    assert s.queries_until(30) == 12 and s.queries_until(60) == 16


# -- limiters (lower bounds only: a slow machine can only make gaps longer) ---------------------


async def test_creation_queue_never_grants_more_than_the_limit_per_window():
    queue = CreationQueue(limit=3, window=0.2)
    told: list[int] = []
    granted: list[float] = []

    async def one() -> None:
        async def on_queued(place: int) -> None:
            told.append(place)

        await queue.acquire(on_queued)
        granted.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(8)))
    granted.sort()
    assert all(granted[i + 3] - granted[i] >= 0.2 - 1e-3 for i in range(len(granted) - 3))
    assert sorted(told) == [1, 2, 3, 4, 5]


async def test_a_cancelled_waiter_leaves_the_queue():
    queue = CreationQueue(limit=1, window=60)
    await queue.acquire()
    waiter = asyncio.ensure_future(queue.acquire())
    await asyncio.sleep(0)
    assert queue.waiting == 1
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert queue.waiting == 0
    queue.close()


async def test_rate_limiter_spaces_queries_evenly():
    limiter = RateLimiter(5, 0.2)
    times: list[float] = []

    async def query() -> None:
        await limiter.acquire()
        times.append(time.monotonic())

    await asyncio.gather(*(query() for _ in range(12)))
    times.sort()
    assert all(b - a >= 0.2 / 5 - 1e-3 for a, b in zip(times, times[1:]))


async def test_a_lone_query_is_not_delayed():
    limiter = RateLimiter(10, 0.1)
    await limiter.acquire()
    await asyncio.sleep(0.02)  # longer than the 10 ms spacing
    started = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - started < 0.01


# -- the atomic claim ----------------------------------------------------------------------------


async def test_exactly_one_of_many_concurrent_claims_wins(any_store):
    tasks = ImageTasks(any_store)
    task = await tasks.add(
        where=Destination(platform="p", channel_id="c"), progress_key="m1", user_id="u", prompt="x",
        engine="4o", body={},
    )
    await tasks.move(task.id, ["queued"], RUNNING)
    results = await asyncio.gather(*(tasks.move(task.id, [RUNNING], DELIVERING) for _ in range(20)))
    assert results.count(True) == 1
    assert (await tasks.get(task.id)).state == DELIVERING
