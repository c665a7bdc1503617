"""Measure the Codex path's own cost against the fake KIE on loopback.

    python bench/bench_codex.py

1. SSE parsing on one core: events per second through `SSEParser` alone, and through the
   whole per-event path (parse + JSON + `interpret`), fed in 4 KiB chunks.
2. The delay the bot adds between a delta arriving from KIE and the edit carrying it being
   handed to the adapter, with no pacing (the bot's own overhead) and with a 1 s edit
   interval (what a Discord user sees).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bot.codex.client import CodexClient  # noqa: E402
from bot.codex.events import TextDelta, interpret  # noqa: E402
from bot.codex.sse import SSEParser  # noqa: E402
from bot.model import Destination  # noqa: E402
from bot.ports import Capabilities  # noqa: E402
from bot.render.pacing import EditPacer  # noqa: E402
from bot.render.stream import StreamRenderer  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, Delay, FakeKie, completed, text_delta  # noqa: E402
from tests.fakes.outbound import RecordingOutbound  # noqa: E402

EVENTS = 200_000
CHUNK = 4096


def bench_parser() -> None:
    wire = b"".join(text_delta(f"tok{i % 97} ", i) for i in range(EVENTS)) + completed() + DONE
    chunks = [wire[i : i + CHUNK] for i in range(0, len(wire), CHUNK)]

    start = time.perf_counter()
    parser = SSEParser()
    count = sum(len(parser.feed(chunk)) for chunk in chunks)
    parse_only = time.perf_counter() - start

    start = time.perf_counter()
    parser = SSEParser()
    deltas = 0
    for chunk in chunks:
        for event in parser.feed(chunk):
            if event.data != "[DONE]" and isinstance(interpret(json.loads(event.data)), TextDelta):
                deltas += 1
    full = time.perf_counter() - start

    print(f"SSE events in stream:              {count:,} ({len(wire) / 1e6:.1f} MB in {CHUNK} B chunks)")
    print(f"parse only:                        {count / parse_only:,.0f} events/s")
    print(f"parse + JSON + interpret:          {count / full:,.0f} events/s ({deltas:,} text deltas)")


async def bench_latency(interval: float, deltas: int, gap: float) -> list[float]:
    kie = FakeKie()
    await kie.start()
    steps = []
    for i in range(deltas):
        steps += [text_delta(f"word{i} ", i), Delay(gap)]
    kie.codex_replies.append(CodexScript([*steps, completed(), DONE]))
    out = RecordingOutbound(capabilities=Capabilities(max_chars=1_000_000, min_edit_interval=interval))
    arrivals: list[tuple[int, float]] = []  # (text length after the delta, arrival time)
    async with aiohttp.ClientSession() as http:
        client = CodexClient(http, url=kie.url + "/api/v1/responses", api_key=SecretStr(API_KEY))
        renderer = StreamRenderer(out, Destination(platform="fake", channel_id="c"), pacer=EditPacer())
        async with asyncio.TaskGroup() as group:
            group.create_task(renderer.run())
            async for event in client.stream({"model": "gpt-5.1-codex", "input": "go"}):
                if isinstance(event, TextDelta):
                    renderer.push(event.text)
                    arrivals.append((len(renderer.text), time.monotonic()))
            renderer.close()
    await kie.stop()
    sent = [(len(call.text.removesuffix(" ▌")), call.at) for call in out.of_kind("post", "edit")]
    delays = []
    for length, arrived in arrivals:
        carried_at = next(at for shown, at in sent if shown >= length)
        delays.append(carried_at - arrived)
    return delays


def describe(delays: list[float]) -> str:
    ms = sorted(d * 1000 for d in delays)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms, max {ms[-1]:.2f} ms over {len(ms)} deltas"


async def main() -> None:
    bench_parser()
    print("delta -> edit handed to the adapter:")
    print("  no pacing (bot overhead):       ", describe(await bench_latency(0.0, 400, 0.002)))
    print("  1 s edit interval (Discord-like):", describe(await bench_latency(1.0, 150, 0.02)))


if __name__ == "__main__":
    asyncio.run(main())
