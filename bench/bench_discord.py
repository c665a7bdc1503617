"""Many concurrent `/codex` streams in a few Discord channels, at Discord's real pace.

    python bench/bench_discord.py [--streams 12] [--channels 3] [--deltas 30] [--interval 0.2] [--stagger 0]

Runs the Discord adapter through discord.py's HTTP layer against the fake Discord API
(which enforces 5 message writes per 5 s per channel and answers excess with 429s) and
the fake KIE (which streams each reply one delta per `--interval` seconds; with
`--stagger S` stream n starts n*S seconds after the first, else all run in lockstep, the
worst case for the shared per-channel budget). Prints the
429s received (target: zero), edits per stream, and the lag between the upstream's last
delta and the final edit of that reply.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import discord  # noqa: E402

from adapters.discord import DiscordAdapter  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes import discord_payloads as p  # noqa: E402
from tests.fakes.discord_api import FakeDiscordApi  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, FakeKie, Gate, completed, text_delta  # noqa: E402


def _spread(values: list[float], unit: str = "") -> str:
    return f"min {min(values):.2f}{unit}, median {statistics.median(values):.2f}{unit}, max {max(values):.2f}{unit}"


async def bench(streams: int, channels: int, deltas: int, interval: float, stagger: float) -> None:
    kie, api = FakeKie(), FakeDiscordApi(bucket=(5, 5.0))
    await kie.start()
    await api.start()
    discord.http.Route.BASE = api.api_base
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            kie_api_key=API_KEY, kie_base_url=kie.url, kie_upload_base_url=kie.url, discord_token=p.BOT_TOKEN,
            bot_db_path=f"{tmp}/bot.sqlite3", bot_image_dir=f"{tmp}/images", port=0, _env_file=None,
        )
        core = await Core.create(settings)
        adapter = DiscordAdapter(core)
        await adapter.login()
        api.interaction_deadline = 60.0  # the bench starts many commands at once on a shared CPU
        gates = [[Gate() for _ in range(deltas)] for _ in range(streams)]
        for stream_gates in gates:
            steps: list = []
            for i, gate in enumerate(stream_gates):
                steps += [gate, text_delta(f"word{i} ", i + 1)]
            kie.codex_replies.append(CodexScript(steps + [completed(), DONE]))

        started = time.monotonic()
        payloads = []
        for n in range(streams):
            channel = p.text_channel(900000000000010000 + n % channels)
            payload = api.register_interaction(p.slash_command("codex", {"prompt": f"stream {n}"}, channel=channel))
            payloads.append(payload)
            await adapter.client.tree._call(discord.Interaction(data=payload, state=adapter.client._connection))

        last_delta: dict[str, float] = {}

        async def upstream(n: int) -> None:
            await asyncio.sleep(n * stagger)
            for gate in gates[n]:
                await asyncio.sleep(interval)
                gate.open()
            last_delta[payloads[n]["token"]] = time.monotonic()

        await asyncio.gather(*(upstream(n) for n in range(streams)))
        await core.drain()
        elapsed = time.monotonic() - started

        edits, lags = [], []
        for payload in payloads:
            calls = api.of("PATCH", f"/webhooks/{p.APP_ID}/{payload['token']}/messages/@original")
            edits.append(len(calls))
            lags.append(calls[-1].at - last_delta[payload["token"]])
        too_many = [c for c in api.calls if c.status == 429]
        print(f"streams: {streams} in {channels} channels, {deltas} deltas each every {interval:.2f}s, stagger {stagger:.2f}s")
        print(f"429s received: {len(too_many)}")
        print(f"edits per stream: {_spread([float(e) for e in edits])}")
        print(f"lag from last upstream delta to final edit: {_spread(lags, 's')}")
        print(f"wall time: {elapsed:.1f}s")
        await adapter.stop()
        await core.close()
    await api.stop()
    await kie.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=12)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--deltas", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--stagger", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)  # 429s are counted and printed below
    asyncio.run(bench(args.streams, args.channels, args.deltas, args.interval, args.stagger))


if __name__ == "__main__":
    main()
