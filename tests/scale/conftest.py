"""Several real bot processes (`python -m bot run`, Slack in HTTP mode) sharing a real
PostgreSQL schema (and a Redis prefix when a test asks), against the fake KIE and the
fake Slack. Each process listens on its own port; a test sends each Slack delivery or
KIE callback to the process it chooses, the way a load balancer might."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bot_process import BotProcess, env_for, launch
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.servers import database_url_or_skip, postgres_schema, redis_prefix, redis_url_or_skip
from tests.slack.conftest import SECRET, SlackSender

ROOT = Path(__file__).resolve().parents[2]
# Polls so rare that within a test only a callback, or an adopted task's first check, delivers.
NO_POLLING = dict(IMAGE_POLL_FAST_S="300", IMAGE_POLL_MEDIUM_S="300", IMAGE_POLL_SLOW_S="300")
FAST_POLLING = dict(IMAGE_POLL_FAST_S="0.2", IMAGE_POLL_MEDIUM_S="0.2", IMAGE_POLL_SLOW_S="0.2")


@pytest.fixture
async def database_url():
    async with postgres_schema(database_url_or_skip()) as url:
        yield url


@pytest.fixture
async def redis_env():
    url = redis_url_or_skip()
    async with redis_prefix(url) as prefix:
        yield {"REDIS_URL": url, "REDIS_KEY_PREFIX": prefix}


@dataclass
class Node:
    process: BotProcess
    port: int
    send: SlackSender

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    def __init__(self, kie, slack: FakeSlack, tmp_path: Path, database_url: str) -> None:
        self._kie = kie
        self._slack = slack
        self._tmp = tmp_path
        self._database_url = database_url
        self.nodes: list[Node] = []

    async def start(self, count: int, **env: str) -> list[Node]:
        """Start `count` processes at once; return when each serves HTTP."""
        return list(await asyncio.gather(*(self._start_one(n, env) for n in range(count))))

    async def _start_one(self, n: int, extra: dict[str, str]) -> Node:
        folder = self._tmp / f"p{len(self.nodes)}-{n}"
        folder.mkdir()
        env = env_for(
            self._kie, folder,
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=self._slack.api_url,
            SLACK_NATIVE_STREAMING="false", DATABASE_URL=self._database_url, **extra,
        )
        process = await launch(env, ROOT, "run")
        match = await process.wait_for("stderr", r"web server on port (\d+)", timeout=30)
        port = int(match[1])
        node = Node(process, port, SlackSender(f"http://127.0.0.1:{port}/slack/events", self._slack))
        self.nodes.append(node)
        return node

    async def close(self) -> None:
        for node in self.nodes:
            await node.send.close()
            if node.process.process.returncode is None:
                node.process.terminate()
                try:
                    await node.process.exit_code(timeout=15)
                except TimeoutError:
                    pass
            await node.process.kill()


@pytest.fixture
async def cluster(kie, slack, tmp_path, database_url):
    made = Cluster(kie, slack, tmp_path, database_url)
    yield made
    await made.close()
