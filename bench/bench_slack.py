"""Many /codex commands at once in one Slack workspace, against a fake Slack that enforces
every method's rate tier, and the fake KIE.

    python bench/bench_slack.py                 # the three scenarios below
    python bench/bench_slack.py --streams 50 --mode native --warm

The fake Slack (tests/fakes/slack_api.py) applies Slack's per-minute floors per method
per workspace (Tier 2 20, Tier 3 50, Tier 4 100 a minute, `auth.test` included) with a
strict burst cap of a quarter of that within 10 s, and `chat.postMessage` about one a
second per channel (bursts of five). Commands arrive all at once from 10 channels of the
workspace; each reply streams 40 deltas 50 ms apart. Printed per scenario: replies shown
exactly once with the exact text, the slowest ack, 429s, and the lag from the upstream's
last delta to the reply's final text on Slack (p50/p99/max).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack import SlackAdapter  # noqa: E402
from bench.figures import spread  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import Core  # noqa: E402
from tests.fakes.kie import API_KEY, DONE, CodexScript, Delay, FakeKie, Gate, completed, text_delta  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack  # noqa: E402
from tests.slack.conftest import SECRET, SlackSender  # noqa: E402

CHANNELS = [f"C0BENCH{n:02d}" for n in range(10)]
FOOTER = "\n\n_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"
SCENARIOS = [("native", 50, True), ("native", 100, False), ("refused", 50, True)]


class Mark(asyncio.Event):
    """A gate that is always open and notes when the fake KIE reached it."""

    def __init__(self, token: str, marks: dict[str, float]) -> None:
        super().__init__()
        self.set()
        self._token, self._marks = token, marks

    async def wait(self) -> bool:
        self._marks[self._token] = time.monotonic()
        return True


def words(token: str, deltas: int) -> list[str]:
    return [f"**{token}** "] + [f"word{i:02d}-{token[-3:]} " for i in range(deltas - 1)]


def script(token: str, deltas: int, interval: float, marks: dict[str, float]) -> CodexScript:
    steps: list = []
    for i, word in enumerate(words(token, deltas)):
        steps += [Delay(interval), text_delta(word, i + 1)] if i else [text_delta(word, 1)]
    steps += [Gate(Mark(token, marks)), completed(), DONE]
    return CodexScript(steps)


async def run(mode: str, streams: int, warm: bool, deltas: int, interval: float) -> None:
    kie, slack = FakeKie(), FakeSlack()
    await kie.start()
    await slack.start()
    slack.members.update(CHANNELS)
    if mode == "refused":
        slack.refuse_streams = "feature_disabled"
    marks: dict[str, float] = {}
    tokens = [f"stream-{i:03d}" for i in range(streams)]
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
        received = 0

        async def command(n: int, prompt: str, channel: str) -> float:
            body = sender.command_body(prompt, channel=channel, user=f"U{n}")
            body = body.replace("trigger_id=13345224609", f"trigger_id=7{n:05d}")
            started = time.monotonic()
            ack = await sender.send(body, "application/x-www-form-urlencoded")
            assert ack.status == 200 and ack.body == "", ack
            return time.monotonic() - started

        try:
            if warm:  # one command first, so the burst meets a warm process
                kie.codex_replies.append(script("warm-up-000", deltas, interval, {}))
                await command(99999, "warm up", CHANNELS[0])
                received += 1
                await adapter.inbound.wait_received(received)
                await core.drain()
            before = len(slack.log)
            for token in tokens:
                kie.codex_replies.append(script(token, deltas, interval, marks))
            acks = await asyncio.gather(
                *(command(n, f"question {t}", CHANNELS[n % len(CHANNELS)]) for n, t in enumerate(tokens))
            )
            received += streams
            await adapter.inbound.wait_received(received)
            await core.drain()
        finally:
            await sender.close()
            await adapter.stop()
            await core.close()
    log = slack.log[before:]
    await kie.stop()
    await slack.stop()

    # KIE answers in the order requests reach it, so a reply is matched to its script by
    # the token it starts with; every header must carry exactly one reply.
    replies_by_token: dict[str, list] = {t: [] for t in tokens}
    one_reply_each = True
    for channel in CHANNELS:
        for header in (m for m in slack.bot_messages(channel) if m.thread_ts is None and "question" in m.text):
            replies = slack.bot_messages(channel, thread_ts=header.ts)
            one_reply_each &= len(replies) == 1
            for reply in replies:
                token = reply.shown.split("**")[1] if reply.shown.startswith("**") else ""
                replies_by_token.setdefault(token, []).append(reply)
    exact = 0
    shown_at: dict[str, float] = {}
    for token in tokens:
        replies = replies_by_token[token]
        exact += [m.shown for m in replies] == ["".join(words(token, deltas)) + FOOTER]
        keys = {(m.channel, m.ts) for m in replies}
        for at, method, params, result in log:
            if result.get("ok") and (params.get("channel"), result.get("ts") or params.get("ts")) in keys:
                shown_at[token] = max(shown_at.get(token, 0.0), at)
    exact = exact if one_reply_each else 0
    lags = [shown_at[t] - marks[t] for t in tokens if t in shown_at and t in marks]
    starts = sum(1 for _, method, _, result in log if method == "chat.startStream" and result.get("ok"))
    label = f"{mode}, {streams} at once, {'after a warm-up' if warm else 'cold start'}"
    print(f"{label}: {exact}/{streams} exactly once, slowest ack {max(acks):.2f}s, {slack.rate_limited} 429s "
          f"{dict(slack.rate_limited_by_method) or ''}, auth.test calls {slack.count('auth.test')}, native streams {starts}")
    print(f"  last delta -> final text: {spread(lags)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int)
    parser.add_argument("--mode", choices=["native", "refused"], default="native")
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--deltas", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the figures only
    scenarios = [(args.mode, args.streams, args.warm)] if args.streams else SCENARIOS
    for mode, streams, warm in scenarios:
        asyncio.run(run(mode, streams, warm, args.deltas, args.interval))


if __name__ == "__main__":
    main()
