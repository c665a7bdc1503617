"""Fixtures for the Slack adapter: a fake Slack Web API, the core wired to it and to the
fake KIE, the adapter started in HTTP mode on the core's web server, and a client that
sends Slack-signed requests to `/slack/events` the way Slack does."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackAdapter
from adapters.slack.app import web_client
from adapters.slack.outbound import SlackOutbound
from bot.model import Destination
from bot.runtime import Core
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER, CHANNEL, TEAM, FakeSlack  # noqa: F401  (CHANNEL: tests import it from here)

SECRET = "test-signing-secret"

# One numbering for every sender: event ids must differ between the senders of several
# bot processes, as Slack's do.
_DELIVERY_IDS = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> dict:
        return json.loads(self.body) if self.body else {}


class SlackSender:
    """Sends what Slack sends: signed form bodies for commands and actions, signed JSON
    envelopes for events."""

    def __init__(self, url: str, fake: FakeSlack, secret: str = SECRET) -> None:
        self.url = url
        self.fake = fake
        self.secret = secret
        self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self._http.close()

    async def send(self, body: str, content_type: str, *, headers: dict | None = None, timestamp: int | None = None, signature: str | None = None) -> Reply:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or SignatureVerifier(self.secret).generate_signature(timestamp=ts, body=body)
        all_headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, **(headers or {})}
        async with self._http.post(self.url, data=body.encode(), headers=all_headers) as response:
            return Reply(response.status, await response.text())

    def command_body(
        self, text: str, *, command: str = "/codex", user: str = "U1", channel: str = CHANNEL, trigger_id: str | None = None
    ) -> str:
        """A slash command's form body; each gets its own trigger_id unless one is given
        (the same trigger_id twice is one command delivered twice)."""
        return urllib.parse.urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "team_domain": "fake",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": "ada",
                "command": command,
                "text": text,
                "api_app_id": "A0APP",
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(),
                "trigger_id": trigger_id or f"13345224609.738474920.{uuid.uuid4().hex}",  # one per invocation, as Slack's
            }
        )

    async def command(self, text: str, **kwargs) -> Reply:
        return await self.send(self.command_body(text, **kwargs), "application/x-www-form-urlencoded")

    def envelope(self, event: dict, *, event_id: str | None = None, team: str | None = TEAM) -> dict:
        number = next(_DELIVERY_IDS)
        body = {
            "token": "legacy-verification-token",
            "api_app_id": "A0APP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{number:06d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        }
        if team is not None:
            body["team_id"] = team
        return body

    async def event(self, envelope: dict, *, retry: int = 0) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return await self.send(json.dumps(envelope), "application/json", headers=headers)

    def mention(self, text: str, *, user: str = "U1", channel: str = CHANNEL, thread_ts: str | None = None, files=None, team: str | None = TEAM) -> dict:
        ts = self.fake.user_message(channel, text, user=user, thread_ts=thread_ts)
        event = {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
        if team is not None:
            event["team"] = team
        if thread_ts:
            event["thread_ts"] = thread_ts
        if files:
            event["files"] = files
        return event

    async def action(self, stop_id: str, *, user: str, channel: str = CHANNEL, message_ts: str = "1.0", ephemeral: bool = False) -> Reply:
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "someone", "team_id": TEAM},
            "api_app_id": "A0APP",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": ephemeral},
            "trigger_id": "1.2.3",
            "team": {"id": TEAM, "domain": "fake"},
            "channel": {"id": channel, "name": "general"},
            "response_url": self.fake.response_url(),
            "actions": [
                {"action_id": "stop_reply", "block_id": f"stop:{stop_id}", "value": stop_id, "type": "button", "action_ts": "1.1"}
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.send(body, "application/x-www-form-urlencoded")


@pytest.fixture
def slack_settings(kie, slack, settings_for):
    def make(**overrides):
        values = dict(slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url)
        values.update(overrides)
        return settings_for(kie, **values)

    return make


@dataclass
class SlackBot:
    core: Core
    adapter: SlackAdapter
    send: SlackSender

    async def settle(self, received: int) -> None:
        """Wait until the adapter has seen `received` payloads and all their work is done."""
        async with asyncio.timeout(10):
            await self.adapter.inbound.wait_received(received)
            await self.core.drain()


@pytest.fixture
async def make_bot(slack, slack_settings):
    made: list[SlackBot] = []

    async def make(**overrides) -> SlackBot:
        core = await Core.create(slack_settings(**overrides))
        adapter = SlackAdapter(core)
        await adapter.start()
        for extension in core.extensions:  # the image service, as `python -m bot run` starts it
            await extension.start()
        await core.web.start()
        sender = SlackSender(f"http://127.0.0.1:{core.web.bound_port}/slack/events", slack)
        made.append(SlackBot(core, adapter, sender))
        return made[-1]

    yield make
    for one in made:
        await one.send.close()
        await one.adapter.stop()
        await one.core.close()


@pytest.fixture
async def bot(make_bot) -> SlackBot:
    return await make_bot()


@pytest.fixture
def out(slack, slack_settings) -> SlackOutbound:
    """The adapter's outbound side alone, on the fake Slack."""
    return SlackOutbound(web_client(slack_settings()))


def thread(slack: FakeSlack, text: str = "hello") -> Destination:
    """A thread under a person's message in CHANNEL, as replies live in."""
    parent = slack.user_message(CHANNEL, text)
    return Destination(platform="slack", channel_id=CHANNEL, thread_id=parent, team_id=TEAM)
