"""Several processes: `python bench/bench_scale_out.py` (needs PostgreSQL and Redis).

1. Store call latency, SQLite next to PostgreSQL: an event-dedupe claim (insert), an image
   task read and an image task claim (conditional update), 2000 of each, one at a time;
   p50/p99 and the p99 PostgreSQL adds.
2. Redis window check: 2000 atomic check-and-adds (`SharedWindows.try_take`), p50/p99.
3. Image tasks delivered per second, end to end, with 1, 2 and 4 bot processes
   (`python -m bot run`, Slack in HTTP mode) on one PostgreSQL and Redis, against the
   fake KIE and the fake Slack: /image commands spread over the processes, KIE's
   callbacks spread over them by a round-robin balancer (`PUBLIC_BASE_URL`). From the
   first command to the last image posted; every image must be posted exactly once.

Servers: TEST_DATABASE_URL and TEST_REDIS_URL (default: the local ones `.ci/run` uses).
Each run works in its own schema and key prefix and removes them afterwards.
Run one part: `python bench/bench_scale_out.py store` (or `redis`, `images`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import pct  # noqa: E402
from bot.dedupe import Dedupe  # noqa: E402
from bot.images.records import DELIVERING, RUNNING, ImageTasks  # noqa: E402
from bot.model import Destination  # noqa: E402
from bot.shared import connect  # noqa: E402
from bot.shared.windows import SharedWindows  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.bot_process import env_for, launch  # noqa: E402
from tests.fakes.kie import FakeKie, Gate  # noqa: E402
from tests.fakes.kie_images import ImageJob  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM, FakeSlack  # noqa: E402
from tests.fakes.loopback import serve  # noqa: E402
from tests.servers import postgres_schema, redis_prefix  # noqa: E402
from tests.slack.conftest import SECRET, SlackSender  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CALLS = 2000
TASKS = 200
CHANNELS = 50  # Slack allows about one post per second per channel: spread the images
TEAMS = 20  # and its method tiers are per workspace
WHERE = Destination(platform="bench", channel_id="c")


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.2f} ms, p99 {pct(values, 99) * 1000:.2f} ms"


async def timed(call, n: int = CALLS) -> list[float]:
    took = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        took.append(time.perf_counter() - started)
    return took


async def store_calls(store: Store) -> dict[str, list[float]]:
    dedupe = Dedupe(store)
    tasks = ImageTasks(store)
    made = [await tasks.add(where=WHERE, progress_key=None, user_id="u", prompt="p", engine="gpt", body={})
            for _ in range(CALLS)]
    for task in made:
        await tasks.move(task.id, ["queued"], RUNNING)
    return {
        "dedupe claim (insert)": await timed(lambda i: dedupe.first_time(f"ev-{i}")),
        "image task read": await timed(lambda i: tasks.get(made[i].id)),
        "image task claim (update)": await timed(lambda i: tasks.move(made[i].id, [RUNNING], DELIVERING)),
    }


async def bench_store() -> None:
    print("1. Store calls, one at a time (2000 each)")
    with tempfile.TemporaryDirectory() as folder:
        sqlite = await Store.open(f"{folder}/bench.sqlite3")
        try:
            lite = await store_calls(sqlite)
        finally:
            await sqlite.close()
    async with postgres_schema(DATABASE_URL) as url:
        postgres = await Store.open(url)
        try:
            pg = await store_calls(postgres)
        finally:
            await postgres.close()
    for name in lite:
        added = (pct(pg[name], 99) - pct(lite[name], 99)) * 1000
        print(f"   {name:28} SQLite {ms(lite[name])};  PostgreSQL {ms(pg[name])};  p99 added {added:+.2f} ms")


async def bench_redis() -> None:
    print("2. Redis window check (atomic check-and-add), one at a time (2000)")
    async with redis_prefix(REDIS_URL) as prefix:
        client = connect(REDIS_URL)
        try:
            windows = SharedWindows(client, prefix)
            took = await timed(lambda i: windows.try_take("bench", [(1_000_000, 10.0)]))
            burst = await timed(lambda i: windows.try_take("bench:tier", [(100, 60.0), (5, 1.0)]))
        finally:
            await client.aclose()
    print(f"   one window: {ms(took)};  two windows (tier + burst cap, often full): {ms(burst)}")


class Balancer:
    """Round-robin in front of the processes' web servers, as Heroku's router would be."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self._next = itertools.count()
        self._http: aiohttp.ClientSession | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._forward)
        self.url = ""
        self._runner = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        self._runner, port = await serve(self.app)
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._http is not None
        await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        backend = self.backends[next(self._next) % len(self.backends)]
        async with self._http.request(
            request.method, backend + request.path_qs, data=await request.read(), headers=request.headers
        ) as answer:
            return web.Response(status=answer.status, body=await answer.read(), content_type=answer.content_type)


async def deliver(processes: int) -> tuple[float, int]:
    """Images per second with `processes` bot processes; and the images posted."""
    kie, slack, balancer = FakeKie(), FakeSlack(), Balancer()
    await kie.start()
    await slack.start()
    await balancer.start()
    kie.images.create_limit = (10**6, 10.0)
    kie.images.query_limit = (10**6, 1.0)
    slack.tiers = False  # the bot paces itself; the fake need not check it here
    channels = [f"C{n:03d}" for n in range(CHANNELS)]
    slack.members.update(channels)
    gates = [Gate() for _ in range(TASKS)]
    kie.images.jobs.extend(ImageJob(finish=gate) for gate in gates)
    nodes, senders = [], []
    with tempfile.TemporaryDirectory() as folder:
        async with postgres_schema(DATABASE_URL) as url, redis_prefix(REDIS_URL) as prefix:
            try:
                for n in range(processes):
                    home = Path(folder) / f"p{n}"
                    home.mkdir()
                    env = env_for(
                        kie, home, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
                        SLACK_NATIVE_STREAMING="false", DATABASE_URL=url, REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=prefix,
                        PUBLIC_BASE_URL=balancer.url, IMAGE_CREATE_LIMIT="100000", IMAGE_STATUS_LIMIT="1000",
                        IMAGE_POLL_FAST_S="5",
                    )
                    nodes.append(await launch(env, ROOT, "run"))
                balancer.backends = [await _port_of(node) for node in nodes]
                senders = [SlackSender(f"{backend}/slack/events", slack) for backend in balancer.backends]

                async def finish_each() -> None:
                    # KIE finishes each task 0.3 s after it was created; its callback follows.
                    for n in range(TASKS):
                        await kie.images.wait_for(lambda k, n=n: len(k.create_times) > n, timeout=120)
                        asyncio.get_running_loop().call_later(0.3, gates[n].open)

                finishing = asyncio.ensure_future(finish_each())
                started = time.monotonic()
                for n in range(TASKS):
                    body = senders[n % processes].command_body(
                        f"picture {n}", command="/image", user=f"U{n:03d}", channel=channels[n % CHANNELS]
                    ).replace(f"team_id={TEAM}", f"team_id=T{n % TEAMS:03d}")
                    await senders[n % processes].send(body, "application/x-www-form-urlencoded")
                await slack.wait_for(lambda s: sum(1 for m in s.bot_messages() if m.files) >= TASKS, timeout=300)
                took = time.monotonic() - started
                finishing.cancel()
                posted = sum(1 for m in slack.bot_messages() if m.files)
            finally:
                for sender in senders:
                    await sender.close()
                for node in nodes:
                    node.terminate()
                for node in nodes:
                    try:
                        await node.exit_code(timeout=20)
                    except TimeoutError:
                        await node.kill()
                await balancer.stop()
                await slack.stop()
                await kie.stop()
    return TASKS / took, posted


async def _port_of(node) -> str:
    match = await node.wait_for("stderr", r"web server on port (\d+)", timeout=60)
    return f"http://127.0.0.1:{match[1]}"


async def bench_images() -> None:
    print(f"3. Image tasks delivered end to end ({TASKS} tasks, callbacks spread by a round-robin balancer)")
    for processes in (1, 2, 4):
        rate, posted = await deliver(processes)
        print(f"   {processes} process(es): {rate:5.1f} tasks/s; {posted} images posted for {TASKS} tasks")


async def main(parts: list[str]) -> None:
    logging.basicConfig(level=logging.ERROR)
    print(f"{os.cpu_count()} CPU cores on this machine")
    for name, part in (("store", bench_store), ("redis", bench_redis), ("images", bench_images)):
        if not parts or name in parts:
            await part()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
