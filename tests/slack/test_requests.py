"""What reaches `/slack/events` unsigned, and where the bot token may go."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web

from adapters.slack.files import SlackFiles
from bot.errors import AdapterError
from tests.fakes.loopback import serve
from tests.fakes.slack_api import BOT_TOKEN


async def test_a_badly_signed_request_is_refused_counted_and_not_logged(bot, slack, kie, caplog):
    caplog.set_level(logging.DEBUG)
    body = bot.send.command_body("my secret plan for world domination")
    for _ in range(3):
        reply = await bot.send.send(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
        assert reply.status == 401
    assert bot.adapter.requests.rejected == 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "world domination" not in logged and "world+domination" not in logged
    assert not slack.bot_messages() and not kie.codex_bodies


async def test_a_non_numeric_timestamp_is_a_401_and_one_log_line(bot, slack, caplog):
    caplog.set_level(logging.INFO)
    body = bot.send.command_body("hello")
    reply = await bot.send.send(body, "application/x-www-form-urlencoded", headers={"X-Slack-Request-Timestamp": "soon"})
    assert reply.status == 401
    refused = [r for r in caplog.records if "refused a Slack request" in r.getMessage()]
    assert len(refused) == 1
    assert not any(r.exc_info for r in caplog.records)
    assert bot.adapter.requests.rejected == 1


class ElsewhereHost:
    """A server that is not Slack and records what it was sent."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self._serve)

    async def _serve(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        return web.Response(body=b"\x89PNG stolen", content_type="image/png")


@pytest.fixture
async def elsewhere():
    host = ElsewhereHost()
    runner, port = await serve(host.app)
    host.url = f"http://127.0.0.1:{port}"
    yield host
    await runner.cleanup()


async def test_the_bot_token_goes_only_to_slack_file_hosts(slack, elsewhere):
    async with aiohttp.ClientSession() as http:
        files = SlackFiles(http, BOT_TOKEN, api_url=slack.api_url)
        assert await files.download(slack.private_file("a.png", b"\x89PNG ok")) == b"\x89PNG ok"
        with pytest.raises(AdapterError, match="not a Slack file host"):
            await files.download(f"{elsewhere.url}/files-pri/T1/a.png")
        # A Slack-hosted link that redirects elsewhere: the token does not follow it.
        with pytest.raises(AdapterError, match="not a Slack file host"):
            await files.download(slack.redirect(f"{elsewhere.url}/files-pri/T1/b.png"))
    assert elsewhere.authorizations == []
    assert files.may_send_token("https://files.slack.com/files-pri/T1-F1/a.png")
    assert not files.may_send_token("http://files.slack.com/files-pri/T1-F1/a.png")
    assert not files.may_send_token("https://files.slack.com.evil.example/a.png")
