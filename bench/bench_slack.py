"""Concurrent /codex streams in one Slack workspace, against the fake Slack and fake KIE.

    python bench/bench_slack.py [--streams 8] [--seconds 6] [--mode native|fallback|both]

The fake Slack enforces Slack's published per-workspace tiers (chat.update Tier 3
50/min, chat.appendStream Tier 4 100/min, chat.startStream / stopStream Tier 2 20/min,
chat.postMessage ~1/s per channel) and answers 429 + Retry-After past them. Each fake
Codex reply writes small deltas for `--seconds`. Printed per mode:

- 429s received (target: zero; the core's pacer should keep every stream under the tiers),
- Web API calls per stream, by method,
- final-text lag: from the moment KIE sent a stream's last text to the moment Slack
  showed that reply's final text (median and worst).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack import SlackAdapter  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, Delay, FakeKie, Gate, completed, text_delta  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack  # noqa: E402
from tests.slack.conftest import CHANNEL, SECRET, SlackSender  # noqa: E402

TIERS = {
    "chat.update": (50, 60.0),
    "chat.appendStream": (100, 60.0),
    "chat.startStream": (20, 60.0),
    "chat.stopStream": (20, 60.0),
    "chat.postMessage": (60, 60.0),
    "assistant.threads.setStatus": (60, 60.0),
}


class Mark(asyncio.Event):
    """A gate that is always open and notes when the fake KIE reached it."""

    def __init__(self, token: str, marks: dict[str, float]) -> None:
        super().__init__()
        self.set()
        self._token, self._marks = token, marks

    async def wait(self) -> bool:
        self._marks[self._token] = time.monotonic()
        return True


def script(token: str, seconds: float, marks: dict[str, float]) -> CodexScript:
    steps: list = [text_delta(f"**{token}** ", 0)]
    deltas = int(seconds / 0.05)
    for i in range(deltas):
        steps += [Delay(0.05), text_delta(f"word{i:03d} " + ("\n" if i % 12 == 11 else ""), i + 1)]
    steps += [Gate(Mark(token, marks)), completed(), DONE]
    return CodexScript(steps)


async def run(mode: str, streams: int, seconds: float) -> None:
    kie, slack = FakeKie(), FakeSlack()
    await kie.start()
    await slack.start()
    slack.members.add(CHANNEL)
    slack.limits.update(TIERS)
    if mode == "fallback":
        slack.refuse_streams = "feature_disabled"
    marks: dict[str, float] = {}
    tokens = [f"stream-{i:02d}" for i in range(streams)]
    for token in tokens:
        kie.codex_replies.append(script(token, seconds, marks))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            kie_api_key=API_KEY, kie_base_url=kie.url, kie_upload_base_url=kie.url,
            bot_db_path=f"{tmp}/bot.sqlite3", bot_image_dir=f"{tmp}/images", port=0, web_host="127.0.0.1",
            slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url, _env_file=None,
        )
        core = await Core.create(settings)
        adapter = SlackAdapter(core)
        await adapter.start()
        await core.web.start()
        sender = SlackSender(f"http://127.0.0.1:{core.web.bound_port}/slack/events", slack)
        started = time.monotonic()
        before = len(slack.log)
        try:
            await asyncio.gather(*(sender.command(f"question {i}", user=f"U{i}") for i in range(streams)))
            await adapter.inbound.wait_received(streams)
            await core.drain()
        finally:
            await sender.close()
            await adapter.stop()
            await core.close()
    elapsed = time.monotonic() - started
    log = slack.log[before:]
    await kie.stop()
    await slack.stop()

    # The moment each reply's final text was shown: the last successful call that
    # touched a message carrying the stream's token.
    shown_at: dict[str, float] = {}
    for at, method, params, result in log:
        if not result.get("ok"):
            continue
        key = (params.get("channel"), result.get("ts") or params.get("ts"))
        message = slack.messages.get(key)
        if message is None:
            continue
        for token in tokens:
            if f"**{token}**" in message.shown:
                shown_at[token] = max(shown_at.get(token, 0.0), at)
    lags = [shown_at[t] - marks[t] for t in tokens if t in shown_at and t in marks]
    methods = Counter(method for _, method, _, _ in log)
    headers = streams  # one visible command message per stream, not part of the reply
    methods["chat.postMessage"] -= headers
    print(f"\n== {mode}: {streams} concurrent streams, {seconds:g} s of deltas each, one workspace ==")
    print(f"wall time                 {elapsed:6.2f} s")
    print(f"429s received             {slack.rate_limited:6d}   (target 0)")
    print(f"Web API calls per stream  {sum(v for v in methods.values() if v > 0) / streams:6.1f}")
    for method, n in sorted(methods.items()):
        if n > 0:
            print(f"  {method:26s}{n / streams:6.1f}")
    if lags:
        print(f"final-text lag            median {statistics.median(lags) * 1000:6.0f} ms, worst {max(lags) * 1000:6.0f} ms")
    print(f"replies complete          {len(lags)}/{streams}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--mode", choices=["native", "fallback", "both"], default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the figures only (fallback mode logs each refusal)
    modes = ["native", "fallback"] if args.mode == "both" else [args.mode]
    for mode in modes:
        asyncio.run(run(mode, args.streams, args.seconds))


if __name__ == "__main__":
    main()
