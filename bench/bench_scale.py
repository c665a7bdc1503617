"""1000 Codex streams at once through one bot process, against the fake KIE in another.

    python bench/bench_scale.py [--streams 1000] [--deltas 40] [--interval 0.05]

The fake KIE runs in a child process (so its memory is not counted), serving every
stream `--deltas` deltas `--interval` seconds apart. The bot side uses the core's own
HTTP session (`Core.create`: the connection pool the Codex client really has) and one
renderer per stream, each in a channel of its own at Discord's pace (an edit per message
every 1.5 s). Printed: replies exactly right, the bot process's peak RSS, and the delay
the bot adds from a delta's arrival to the edit that carries it, for the deltas that
arrive when the pace allows an edit at once (p50/p99/max).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import spread  # noqa: E402
from bot.codex.client import CodexClient  # noqa: E402
from bot.codex.events import TextDelta  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.model import Destination  # noqa: E402
from bot.ports import Capabilities  # noqa: E402
from bot.render.stream import CURSOR, StreamRenderer  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, Delay, FakeKie, completed, text_delta  # noqa: E402
from tests.fakes.outbound import RecordingOutbound  # noqa: E402


EDIT_INTERVAL = 1.5  # Discord's per-message pace (adapters/discord/outbound.py)


def words(deltas: int) -> list[str]:
    return [f"w{i:02d}-abcdef " for i in range(deltas)]


async def serve_kie(streams: int, deltas: int, interval: float) -> None:
    kie = FakeKie()
    for _ in range(streams):
        steps: list = []
        for i, word in enumerate(words(deltas)):
            steps += [text_delta(word, i + 1), Delay(interval)]
        kie.codex_replies.append(CodexScript([*steps, completed(), DONE]))
    await kie.start()
    print(kie.url, flush=True)
    await asyncio.Event().wait()


async def one_stream(client: CodexClient, out: RecordingOutbound, pacer, n: int) -> tuple[str, list[float]]:
    renderer = StreamRenderer(out, Destination(platform="fake", channel_id=f"c{n}"), pacer=pacer)
    arrivals: list[tuple[int, float]] = []  # deltas that arrived when an edit could go at once
    async with asyncio.TaskGroup() as group:
        group.create_task(renderer.run())
        async for event in client.stream({"model": "gpt-5.1-codex", "input": "go", "stream": True}):
            if isinstance(event, TextDelta):
                shown = renderer.messages[-1].key if renderer.messages else None
                free = shown is None or pacer.message_delay(shown, EDIT_INTERVAL) == 0
                renderer.push(event.text)
                if free:
                    arrivals.append((len(renderer.text), time.monotonic()))
        renderer.close()
    [ref] = renderer.messages
    sent = [(len(c.text.removesuffix(CURSOR)), c.at) for c in out.calls_by_key[ref.key]]
    delays = [next(at for shown, at in sent if shown >= length) - arrived for length, arrived in arrivals]
    return out.texts[ref.key], delays


class KeyedOutbound(RecordingOutbound):
    """RecordingOutbound that also indexes calls per message (1000 streams, ~40k calls)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.calls_by_key: dict[str, list] = {}

    async def _record(self, call) -> None:
        call.at = time.monotonic()
        self.calls_by_key.setdefault(call.key, []).append(call)


async def bench(streams: int, deltas: int, interval: float) -> None:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-kie", "--streams", str(streams), "--deltas", str(deltas), "--interval", str(interval)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        url = child.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                kie_api_key=API_KEY, kie_base_url=url, kie_upload_base_url=url,
                bot_db_path=f"{tmp}/bot.sqlite3", bot_image_dir=f"{tmp}/images", port=0, _env_file=None,
            )
            core = await Core.create(settings)
            client = CodexClient(core.http, url=settings.codex_url, api_key=settings.codex_key)
            out = KeyedOutbound(capabilities=Capabilities(max_chars=100_000, min_edit_interval=EDIT_INTERVAL))
            started = time.monotonic()
            results = await asyncio.gather(
                *(one_stream(client, out, core.pacer, n) for n in range(streams)), return_exceptions=True
            )
            elapsed = time.monotonic() - started
            await core.close()
    finally:
        child.terminate()
        child.wait()
    expected = "".join(words(deltas))
    exact = sum(1 for r in results if not isinstance(r, BaseException) and r[0] == expected)
    failures = [r for r in results if isinstance(r, BaseException)]
    delays = [d * 1000 for r in results if not isinstance(r, BaseException) for d in r[1]]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{streams} concurrent streams: {exact}/{streams} exact in {elapsed:.1f}s, peak RSS {rss_mib:.0f} MiB"
          + (f", first failure: {failures[0]!r}" if failures else ""))
    print(f"  delta arrival -> edit carrying it, when the pace allows: {spread(delays, ' ms')} over {len(delays):,} deltas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--deltas", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--serve-kie", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.serve_kie:
        asyncio.run(serve_kie(args.streams, args.deltas, args.interval))
    else:
        asyncio.run(bench(args.streams, args.deltas, args.interval))


if __name__ == "__main__":
    main()
