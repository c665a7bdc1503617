"""Many `/codex` streams at once in a few Discord channels, at Discord's real pace.

    python bench/bench_discord.py                      # the three scenarios below
    python bench/bench_discord.py --streams 20 --channels 2 --model token

Runs the Discord adapter through discord.py's HTTP layer against the fake Discord API
and the fake KIE. Every stream starts at once (the worst case for shared budgets) and
streams `--deltas` deltas `--interval` seconds apart (~380 characters in all). Models:

- `token`: writes through an interaction's token are limited per token; channel message
  writes share the channel's 5 per 5 s (Discord's observed behaviour).
- `shared`: the stricter model: token writes also count against the channel's window.

Prints, per scenario: replies exactly right, 429s received, first text after the
interaction and the lag from the upstream's last delta to the final text (p50/p99/max).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import discord  # noqa: E402

from adapters.discord import DiscordAdapter  # noqa: E402
from bench.figures import spread  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes import discord_payloads as p  # noqa: E402
from tests.fakes.discord_api import FakeDiscordApi  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, FakeKie, Gate, completed, text_delta  # noqa: E402

FOOTER = "\n\n_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"
SCENARIOS = [(20, 2, "token"), (200, 10, "token"), (20, 2, "shared")]


async def bench(streams: int, channels: int, model: str, deltas: int, interval: float) -> None:
    kie, api = FakeKie(), FakeDiscordApi(bucket=(5, 5.0), webhook_model=model)
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
        words = [[f"s{n}w{i:02d}-text " for i in range(deltas)] for n in range(streams)]  # ~10 chars each
        for n, stream_gates in enumerate(gates):
            steps: list = []
            for i, gate in enumerate(stream_gates):
                steps += [gate, text_delta(words[n][i], i + 1)]
            kie.codex_replies.append(CodexScript(steps + [completed(), DONE]))

        payloads, asked = [], {}
        for n in range(streams):
            channel = p.text_channel(900000000000010000 + n % channels)
            # Each stream is another person: a busy channel, not one person's queue
            # (LIMIT_USER_CONCURRENT allows 2 replies per person at once).
            invoker = p.USER_ID + 1 + n
            payload = api.register_interaction(p.slash_command("codex", {"prompt": f"stream {n}"}, channel=channel, invoker=invoker))
            payloads.append(payload)
            asked[payload["token"]] = time.monotonic()
            await adapter.client.tree._call(discord.Interaction(data=payload, state=adapter.client._connection))

        last_delta: dict[str, float] = {}

        async def upstream(n: int) -> None:
            for gate in gates[n]:
                await asyncio.sleep(interval)
                gate.open()
            last_delta[payloads[n]["token"]] = time.monotonic()

        await asyncio.gather(*(upstream(n) for n in range(streams)))
        await core.drain()

        exact, firsts, lags = 0, [], []
        for n, payload in enumerate(payloads):
            edits = api.of("PATCH", f"/webhooks/{p.APP_ID}/{payload['token']}/messages/@original")
            shown = api.text_of(api.interactions[payload["token"]].message_id)
            exact += shown == "".join(words[n]) + FOOTER
            firsts.append(edits[0].at - asked[payload["token"]])
            lags.append(edits[-1].at - last_delta[payload["token"]])
        too_many = [c for c in api.calls if c.status == 429]
        print(f"{streams} streams in {channels} channels, model {model!r}: {exact}/{streams} exact, {len(too_many)} 429s")
        print(f"  first text after the interaction: {spread(firsts)}")
        print(f"  last delta -> final text:         {spread(lags)}")
        await adapter.stop()
        await core.close()
    await api.stop()
    await kie.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--model", choices=["token", "shared"], default="token")
    parser.add_argument("--deltas", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)  # 429s are counted and printed below
    logging.getLogger("adapters").setLevel(logging.ERROR)
    scenarios = [(args.streams, args.channels, args.model)] if args.streams else SCENARIOS
    for streams, channels, model in scenarios:
        asyncio.run(bench(streams, channels, model, args.deltas, args.interval))


if __name__ == "__main__":
    main()
