"""Image pipeline figures: `python bench/bench_images.py`

1. Callback latency: from the moment KIE's callback is sent to the moment the image is
   handed to the adapter (`post_images`), with the confirmation query and the download
   included. Measured one at a time, and for a burst of 20 callbacks at once (the shared
   status limiter, 8 queries/s by default, spaces the confirmations).
2. Status queries per task: how many `recordInfo` queries the poller spends on tasks
   that take 10 s to 5 min, on KIE's schedule (run with every time scaled down by
   SCALE, so the run takes seconds), against the schedule's own prediction, and how late
   after completion the poll delivers (in unscaled seconds).

Everything runs on loopback against the fake KIE used by the tests.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings  # noqa: E402
from bot.images.schedule import PollSchedule  # noqa: E402
from bot.model import Destination, MessageRef, Request, User  # noqa: E402
from bot.ports import Capabilities, ImageFile  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes.kie import API_KEY, FakeKie, Gate  # noqa: E402
from tests.fakes.kie_images import ImageJob  # noqa: E402

WHERE = Destination(platform="bench", channel_id="c")
SCALE = 0.02  # 1 s of KIE time = 20 ms here
DURATIONS = (10, 20, 45, 60, 90, 180, 300)  # seconds a task takes at KIE


class TimingOutbound:
    """Records when each caption's images were handed over."""

    capabilities = Capabilities(max_chars=2000, min_edit_interval=0.0)

    def __init__(self) -> None:
        self.posted: dict[str, float] = {}
        self.arrived = asyncio.Condition()

    def pace_scope(self, where: Destination) -> str:
        return "bench"

    async def post(self, where, text, *, controls=None) -> MessageRef:
        return MessageRef(platform="bench", key="m")

    async def edit(self, ref, text, *, controls=None) -> None:
        return None

    async def post_images(self, where, files: Sequence[ImageFile], caption: str, *, key=None) -> MessageRef:
        self.posted[caption] = time.monotonic()
        async with self.arrived:
            self.arrived.notify_all()
        return MessageRef(platform="bench", key="img")

    async def status(self, where, text) -> None:
        return None

    async def wait(self, caption: str) -> float:
        async with asyncio.timeout(120), self.arrived:
            await self.arrived.wait_for(lambda: caption in self.posted)
        return self.posted[caption]


def settings(kie: FakeKie, folder: str, **overrides) -> Settings:
    values = dict(
        kie_api_key=API_KEY, kie_base_url=kie.url, kie_upload_base_url=kie.url, port=0, web_host="127.0.0.1",
        bot_db_path=f"{folder}/bot.sqlite3", bot_image_dir=f"{folder}/images", _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


async def start_core(kie: FakeKie, folder: str, *, web: bool, **overrides) -> tuple[Core, TimingOutbound]:
    core = await Core.create(settings(kie, folder, **overrides))
    out = TimingOutbound()
    core.bot.register_outbound("bench", out)
    if web:
        await core.web.start()
        core.images.public_base_url = f"http://127.0.0.1:{core.web.bound_port}"
    return core, out


def request(prompt: str) -> Request:
    return Request(command="image", prompt=prompt, user=User(id="u"), where=WHERE)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, round(0.95 * len(values)) - 1)]
    return f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"


async def callback_latency(n: int, *, burst: bool) -> list[float]:
    kie = FakeKie()
    await kie.start()
    with tempfile.TemporaryDirectory() as folder:
        # Polls never come due, so every image is delivered by its callback.
        # (The creation limit is lifted here: this measures delivery, not the queue.)
        kie.images.create_limit = (1000, 10.0)
        core, out = await start_core(kie, folder, web=True, image_poll_fast_s=600, image_poll_medium_s=600,
                                     image_poll_slow_s=600, image_create_limit=1000)
        try:
            gates = [Gate() for _ in range(n)]
            kie.images.jobs.extend(ImageJob(finish=g) for g in gates)
            tasks = [await core.bot.handle(request(f"p{i}")) for i in range(n)]
            await kie.images.wait_for(lambda f: len(f.tasks) == n)
            await asyncio.sleep(0.2)  # let every task reach "running"
            ids = list(kie.images.tasks)
            latencies = []
            if burst:
                for gate in gates:
                    gate.open()
                for i, task_id in enumerate(ids):
                    posted = await out.wait(f"p{i}")
                    latencies.append(posted - kie.images.callback_sent_at[task_id])
            else:
                for i, (gate, task_id) in enumerate(zip(gates, ids)):
                    await asyncio.sleep(0.15)  # callbacks a little apart, as KIE sends them
                    gate.open()
                    posted = await out.wait(f"p{i}")
                    latencies.append(posted - kie.images.callback_sent_at[task_id])
            await asyncio.gather(*tasks)
        finally:
            await core.close()
            await kie.stop()
    return latencies


async def queries_per_task(*, web: bool) -> list[tuple[int, int, float]]:
    """(duration, status queries, delivery delay after completion in KIE seconds) per task."""
    kie = FakeKie()
    await kie.start()
    schedule = PollSchedule()
    with tempfile.TemporaryDirectory() as folder:
        core, out = await start_core(
            kie, folder, web=web,
            image_poll_fast_s=schedule.fast * SCALE, image_poll_fast_until_s=schedule.fast_until * SCALE,
            image_poll_medium_s=schedule.medium * SCALE, image_poll_medium_until_s=schedule.medium_until * SCALE,
            image_poll_slow_s=schedule.slow * SCALE, image_give_up_s=schedule.give_up * SCALE,
            image_status_period_s=1.0 * SCALE,  # the 8-per-second limit, scaled like everything else
        )
        kie.images.query_limit = (10, 1.0 * SCALE)
        try:
            gates = [Gate() for _ in DURATIONS]
            kie.images.jobs.extend(ImageJob(finish=g) for g in gates)
            tasks = [await core.bot.handle(request(f"d{d}")) for d in DURATIONS]
            finished_at: dict[int, float] = {}

            async def finish(duration: int, gate: Gate) -> None:
                await asyncio.sleep(duration * SCALE)
                finished_at[duration] = time.monotonic()
                gate.open()

            await asyncio.gather(*(finish(d, g) for d, g in zip(DURATIONS, gates)), *tasks)
            ids = list(kie.images.tasks)
            rows = []
            for duration, task_id in zip(DURATIONS, ids):
                delay = (out.posted[f"d{duration}"] - finished_at[duration]) / SCALE
                rows.append((duration, kie.images.queries_for(task_id), delay))
        finally:
            await core.close()
            await kie.stop()
    return rows


async def main() -> None:
    print("Callback arrival -> image handed to the adapter (confirm query + download + post)")
    print(f"  50 callbacks, 150 ms apart:     {ms(await callback_latency(50, burst=False))}")
    print(f"  burst of 20 callbacks at once:  {ms(await callback_latency(20, burst=True))}"
          "  (confirmations share the 8 queries/s limiter)")
    print()
    schedule = PollSchedule()
    for web, label in ((False, "poll only (no PUBLIC_BASE_URL)"), (True, "callbacks + poll fallback")):
        rows = await queries_per_task(web=web)
        print(f"Status queries per task, KIE's schedule, {label} (time scaled x{SCALE}):")
        print("  task takes   queries   schedule predicts   delivered after completion")
        for duration, queries, delay in rows:
            print(f"  {duration:>7} s   {queries:>7}   {schedule.queries_until(duration):>17}   {delay:>10.1f} s")
        mean = statistics.mean(q for _, q, _ in rows)
        print(f"  mean {mean:.1f} queries per task; give-up after {schedule.give_up / 60:g} min costs at most "
              f"{schedule.queries_until(schedule.give_up)} queries")
        print()


if __name__ == "__main__":
    asyncio.run(main())
