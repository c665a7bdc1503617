"""Measure the Codex path's own cost against the fake KIE on loopback.

    python bench/bench_codex.py

1. SSE parsing on one core: events per second through `SSEParser` alone, and through the
   whole per-event path (parse + JSON + `interpret`), fed in 4 KiB chunks; next to it,
   openai-python's `SSEDecoder` on the same chunks, and both on long-line streams (1 MiB
   and 8 MiB `data:` lines). The comparison needs openai-python, which is not a
   dependency of the bot: `pip install openai` (the column is skipped without it).
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
from bot.render.pacing import WritePacer  # noqa: E402
from bot.render.stream import StreamRenderer  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, Delay, FakeKie, completed, text_delta  # noqa: E402
from tests.fakes.outbound import RecordingOutbound  # noqa: E402

EVENTS = 200_000
CHUNK = 4096


RUNS = 3  # best of, to see through the noise of a shared machine
LONG_LINES = ((1 << 20, 16), (8 << 20, 2))  # (line size, lines): 16 MiB of stream each


def openai_decoder():
    """openai-python's SSE decoder, or None when it is not installed (it is bench-only)."""
    try:
        from openai._streaming import SSEDecoder
    except ImportError:
        return None
    return SSEDecoder


def best_time(parse, chunks: list[bytes]) -> tuple[float, int]:
    """The fastest of RUNS parses of `chunks`, and the number of events found."""
    best, count = float("inf"), 0
    for _ in range(RUNS):
        start = time.perf_counter()
        count = parse(chunks)
        best = min(best, time.perf_counter() - start)
    return best, count


def ours(chunks: list[bytes]) -> int:
    parser = SSEParser()
    return sum(len(parser.feed(chunk)) for chunk in chunks)


def theirs(chunks: list[bytes]) -> int:
    return sum(1 for _ in openai_decoder()().iter_bytes(iter(chunks)))


def in_chunks(wire: bytes) -> list[bytes]:
    return [wire[i : i + CHUNK] for i in range(0, len(wire), CHUNK)]


def bench_long_lines() -> None:
    print(f"long-line streams ({CHUNK} B chunks, best of {RUNS}):")
    for size, lines in LONG_LINES:
        wire = (b"data: " + b"x" * size + b"\n\n") * lines
        chunks = in_chunks(wire)
        took, count = best_time(ours, chunks)
        assert count == lines
        row = f"  {size >> 20} MiB lines x {lines}: ours {took / lines * 1000:7.1f} ms/line ({len(wire) / took / 1e6:,.0f} MB/s)"
        if openai_decoder() is not None:
            took_openai, _ = best_time(theirs, chunks)
            row += f"; openai-python {took_openai / lines * 1000:5.1f} ms/line (ours {took_openai / took:.1f}x faster)"
        print(row)


def bench_parser() -> None:
    wire = b"".join(text_delta(f"tok{i % 97} ", i) for i in range(EVENTS)) + completed() + DONE
    chunks = in_chunks(wire)

    parse_only, count = best_time(ours, chunks)

    start = time.perf_counter()
    parser = SSEParser()
    deltas = 0
    for chunk in chunks:
        for event in parser.feed(chunk):
            if event.data != "[DONE]" and isinstance(interpret(json.loads(event.data)), TextDelta):
                deltas += 1
    full = time.perf_counter() - start

    print(f"SSE events in stream:              {count:,} ({len(wire) / 1e6:.1f} MB in {CHUNK} B chunks)")
    print(f"parse only (best of {RUNS}):            {count / parse_only:,.0f} events/s")
    if openai_decoder() is None:
        print("openai-python SSEDecoder, same:    skipped (pip install openai to compare; bench-only)")
    else:
        took, theirs_count = best_time(theirs, chunks)
        assert theirs_count == count
        print(f"openai-python SSEDecoder, same:    {count / took:,.0f} events/s (ours {took / parse_only:.1f}x faster)")
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
        renderer = StreamRenderer(out, Destination(platform="fake", channel_id="c"), pacer=WritePacer())
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
    bench_long_lines()
    print("delta -> edit handed to the adapter:")
    print("  no pacing (bot overhead):       ", describe(await bench_latency(0.0, 400, 0.002)))
    print("  1 s edit interval (Discord-like):", describe(await bench_latency(1.0, 150, 0.02)))


if __name__ == "__main__":
    asyncio.run(main())
