"""Socket Mode: with SLACK_APP_TOKEN the adapter connects over a WebSocket (from
`apps.connections.open` on the fake) instead of mounting the HTTP route."""

from __future__ import annotations

import urllib.parse

import aiohttp

from tests.fakes.kie import reply
from tests.fakes.slack_api import APP_TOKEN

from .conftest import CHANNEL


async def test_socket_mode_receives_events_and_commands_and_acks_them(make_bot, slack, kie):
    kie.codex_replies.extend([reply("Over the socket."), reply("Command reply.")])
    bot = await make_bot(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    assert bot.adapter.socket_mode
    await slack.wait_for(lambda s: s.sockets)

    event = bot.send.mention("<@UBOT> hello")
    envelope = bot.send.envelope(event, event_id="Ev0SOCKET")
    await slack.socket_send("env-1", "events_api", envelope)
    await slack.socket_send("env-2", "events_api", envelope, retry_attempt=1)  # Slack's retry
    await bot.settle(2)
    await slack.wait_for(lambda s: {a["envelope_id"] for a in s.socket_acks} >= {"env-1", "env-2"})
    [answer] = [m for m in slack.bot_messages(CHANNEL, thread_ts=event["ts"])]
    assert answer.shown.startswith("Over the socket.")

    command = dict(urllib.parse.parse_qsl(bot.send.command_body("--web-search why?")))
    await slack.socket_send("env-3", "slash_commands", command)
    await bot.settle(3)
    await slack.wait_for(lambda s: "env-3" in {a["envelope_id"] for a in s.socket_acks})
    assert kie.codex_bodies[-1]["tools"] == [{"type": "web_search"}]
    assert len(kie.codex_bodies) == 2

    # No HTTP route in Socket Mode.
    async with aiohttp.ClientSession() as http:
        async with http.post(bot.send.url, data=b"{}") as response:
            assert response.status in (404, 405)


async def test_socket_mode_is_ready_while_the_socket_is_open(make_bot, slack):
    bot = await make_bot(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    await slack.wait_for(lambda s: s.sockets)
    assert await bot.adapter.connection.up() is True
    await bot.adapter.stop()
    assert await bot.adapter.connection.up() is False
