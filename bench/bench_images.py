"""Image pipeline figures: `python bench/bench_images.py`

1. Callback latency: from the moment KIE's callback is sent to the moment the image is
   handed to the adapter (`post_images`), with the confirmation query and the download
   included. Measured one at a time, and for a burst of 20 callbacks at once (the shared
   status limiter, 8 queries/s by default, spaces the confirmations).
2. Status queries per task: how many `recordInfo` queries the poller spends on tasks
   that take 10 s to 5 min, on KIE's schedule (run with every time scaled down by
   SCALE, so the run takes seconds), against the schedule's own prediction, and how late
   after completion the poll delivers (in unscaled seconds).

3. Callback flood: another user's image delivery (callback sent -> image handed over)
   alone, and while 300 success-claiming callbacks hit one still-generating task.
4. Exactly once across a crash right after the post, 10 rounds each: the console as a
   real subprocess killed with SIGKILL the moment it prints the saved path; Discord
   (discord.py against the fake Discord API) and Slack (slack_sdk against the fake Slack)
   in process, "killed" at the worst instant: after the platform accepted the post and
   before the task was recorded done. Counts the duplicates a restart produces.

Everything runs on loopback against the fake KIE used by the tests.
Run one part: `python bench/bench_images.py flood` (or `crash`, `latency`, `queries`).
"""

from __future__ import annotations

import asyncio
import logging
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
from bot.ports import Capabilities, ImageFile, Pace  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes.kie import API_KEY, FakeKie, Gate  # noqa: E402
from tests.fakes.kie_images import ImageJob  # noqa: E402
from tests.fakes.outbound import die_after_posting  # noqa: E402

WHERE = Destination(platform="bench", channel_id="c")
SCALE = 0.02  # 1 s of KIE time = 20 ms here
DURATIONS = (10, 20, 45, 60, 90, 180, 300)  # seconds a task takes at KIE


class TimingOutbound:
    """Records when each caption's images were handed over."""

    capabilities = Capabilities(max_chars=2000, min_edit_interval=0.0)

    def __init__(self) -> None:
        self.posted: dict[str, float] = {}
        self.arrived = asyncio.Condition()

    def write_pace(self, where: Destination, ref: MessageRef | None = None) -> Pace:
        return Pace("bench", None)

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


async def flood(n: int = 300) -> tuple[float, float, int]:
    """(other image's delay alone, during the flood, status queries the flood cost)."""
    delays = []
    for flooding in (False, True):
        kie = FakeKie()
        await kie.start()
        with tempfile.TemporaryDirectory() as folder:
            core, out = await start_core(kie, folder, web=True, image_poll_fast_s=600, image_poll_medium_s=600,
                                         image_poll_slow_s=600)
            try:
                other_gate = Gate()
                kie.images.jobs.extend([ImageJob(finish=Gate(), callback="none"), ImageJob(finish=other_gate)])
                flooded_task = await core.bot.handle(request("flooded"))
                await kie.images.wait_for(lambda f: len(f.tasks) == 1)
                other_task = await core.bot.handle(request("other"))
                await kie.images.wait_for(lambda f: len(f.tasks) == 2)
                await asyncio.sleep(0.2)  # both running
                flooded_id, other_id = list(kie.images.tasks)
                claim = {"code": 200, "msg": "success", "data": {"taskId": flooded_id, "state": "success",
                                                                  "resultJson": '{"resultUrls": []}'}}
                storm = [kie.images.send_callback(flooded_id, body=claim) for _ in range(n)] if flooding else []
                other_gate.open()  # KIE finishes the other user's image and calls back
                await asyncio.gather(*storm)
                posted = await out.wait("other")
                delays.append(posted - kie.images.callback_sent_at[other_id])
                flood_queries = kie.images.queries_for(flooded_id)
                await other_task
                flooded_task.cancel()  # still "generating" at KIE; its poll is 10 minutes away
            finally:
                await core.close()
                await kie.stop()
    return delays[0], delays[1], flood_queries


async def console_crash_rounds(rounds: int = 10) -> tuple[int, int]:
    """(rounds in which the restart had to deliver again, duplicate files in all rounds)."""
    from tests.console_process import bot_env, start_bot

    redelivered = duplicates = 0
    for _ in range(rounds):
        kie = FakeKie()
        await kie.start()
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            saved = tmp / "saved"
            env = bot_env(kie, tmp, BOT_IMAGE_DIR=str(saved), IMAGE_POLL_FAST_S="0.01", IMAGE_STATUS_LIMIT="1000",
                          LOG_LEVEL="WARNING")
            try:
                first = await start_bot(env, tmp, "console")
                first.stdin.write(b"/image a fox\n")
                await first.stdin.drain()
                async with asyncio.timeout(30):
                    while not (await first.stdout.readline()).decode().startswith(str(saved)):
                        pass
                first.kill()  # SIGKILL the moment the path is printed
                await first.wait()
                second = await start_bot(env, tmp, "console")
                stdout, _ = await asyncio.wait_for(second.communicate(b""), 30)
                redelivered += str(saved) in stdout.decode()
                duplicates += len([p for p in saved.iterdir() if not p.name.startswith(".")]) - 1
            finally:
                await kie.stop()
    return redelivered, duplicates


async def _crash_round(kie: FakeKie, folder: str, connect, where: Destination, **overrides) -> None:
    """One task; the first core dies right after the post; a second core on the same database resumes it."""
    fast = dict(image_poll_fast_s=0.01, image_status_limit=1000, **overrides)
    first = await Core.create(settings(kie, folder, **fast))
    first_close = await connect(first)
    posted = die_after_posting(first.bot.outbound_for(where.platform))
    first.images.stop_grace = 0.01
    await first.images.start()
    await first.bot.handle(Request(command="image", prompt="a fox", user=User(id="u"), where=where))
    await asyncio.wait_for(posted.wait(), 30)
    await first.stop_services()
    await first.runner.cancel_all()  # dead: nothing after the post ran
    await first_close()
    await first.close()
    second = await Core.create(settings(kie, folder, **fast))
    second_close = await connect(second)
    await second.images.start()
    await asyncio.wait_for(second.drain(), 30)
    await second_close()
    await second.close()


async def discord_crash_rounds(rounds: int = 10) -> int:
    import discord

    from adapters.discord import DiscordAdapter
    from tests.fakes import discord_payloads as p
    from tests.fakes.discord_api import FakeDiscordApi

    duplicates = 0
    for _ in range(rounds):
        kie, api = FakeKie(), FakeDiscordApi()
        await kie.start()
        await api.start()
        discord.http.Route.BASE = api.api_base

        async def connect(core: Core):
            adapter = DiscordAdapter(core)
            await adapter.login()
            return adapter.stop

        with tempfile.TemporaryDirectory() as folder:
            where = Destination(platform="discord", channel_id=str(p.CHANNEL_ID))
            await _crash_round(kie, folder, connect, where, discord_token=p.BOT_TOKEN)
        duplicates += len([m for m in api.messages.values() if m.data.get("attachments")]) - 1
        await api.stop()
        await kie.stop()
    return duplicates


async def slack_crash_rounds(rounds: int = 10) -> int:
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.outbound import SlackOutbound
    from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

    duplicates = 0
    for _ in range(rounds):
        kie, slack = FakeKie(), FakeSlack()
        await kie.start()
        await slack.start()
        slack.members.add("C1")
        thread = slack.user_message("C1", "/image a fox")

        async def connect(core: Core):
            core.bot.register_outbound("slack", SlackOutbound(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)))

            async def close() -> None:
                return None

            return close

        with tempfile.TemporaryDirectory() as folder:
            where = Destination(platform="slack", channel_id="C1", thread_id=thread)
            await _crash_round(kie, folder, connect, where)
        duplicates += len([m for m in slack.bot_messages("C1") if m.files]) - 1
        await slack.stop()
        await kie.stop()
    return duplicates


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the crash rounds log their (expected) cut-short deliveries
    part = sys.argv[1] if len(sys.argv) > 1 else "all"
    if part in ("all", "flood"):
        alone, during, queries = await flood()
        print("Another user's image (callback -> handed to the adapter), status limiter 8/s:")
        print(f"  alone: {alone * 1000:.0f} ms; during 300 success-claiming callbacks on one token: "
              f"{during * 1000:.0f} ms (+{(during - alone) * 1000:.0f} ms); the flood cost {queries} status queries")
        print()
    if part in ("all", "crash"):
        redelivered, dup = await console_crash_rounds()
        print("Crash right after the post, 10 rounds each:")
        print(f"  console (real SIGKILL when the path is printed): restart delivered again in {redelivered}/10, "
              f"duplicate files: {dup}")
        print(f"  Discord (killed after the post, before it was recorded): duplicates: {await discord_crash_rounds()}")
        print(f"  Slack   (killed after the post, before it was recorded): duplicates: {await slack_crash_rounds()}")
        print()
    if part in ("all", "latency"):
        await latency_report()
    if part in ("all", "queries"):
        await queries_report()


async def latency_report() -> None:
    print("Callback arrival -> image handed to the adapter (confirm query + download + post)")
    print(f"  50 callbacks, 150 ms apart:     {ms(await callback_latency(50, burst=False))}")
    print(f"  burst of 20 callbacks at once:  {ms(await callback_latency(20, burst=True))}"
          "  (confirmations share the 8 queries/s limiter)")
    print()


async def queries_report() -> None:
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
