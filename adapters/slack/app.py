"""Wiring: the Web API client, the Bolt `AsyncApp` and its listeners, the HTTP route.

The client retries 429s after `Retry-After` (`AsyncRateLimitErrorRetryHandler`), on
top of the connection-error retries slack_sdk does by default. In Socket Mode Bolt
skips signature checks (Slack authenticated the WebSocket); in HTTP mode every request
to `/slack/events` must carry a valid `X-Slack-Signature` for `SLACK_SIGNING_SECRET`,
checked by `verify.RequestCheck` before Bolt sees it (Bolt's own check is off: it logs
rejected bodies and fails on a malformed timestamp).
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler, AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Bot
from bot.config import Settings
from bot.metrics import RATE_LIMITED

from .config import SlackConfig
from .controls import STOP_ACTION, on_stop
from .inbound import SlackInbound
from .translate import COMMANDS
from .verify import RequestCheck

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def web_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[
            CountRateLimits(),
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


class CountRateLimits(AsyncRetryHandler):
    """Counts each 429 for /metrics (by Web API method); never retries by itself."""

    async def _can_retry_async(self, *, state, request, response=None, error=None) -> bool:
        if response is not None and response.status_code == 429:
            method = urlparse(request.url).path.rsplit("/", 1)[-1]
            RATE_LIMITED.labels(platform="slack", route=method).inc()
        return False


def bolt_app(
    settings: Settings,
    client: AsyncWebClient,
    inbound: SlackInbound,
    bot: Bot,
    config: SlackConfig | None = None,
    assistant: AsyncAssistant | None = None,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        request_verification_enabled=False,  # `http_handler` checks signatures itself
        logger=logging.getLogger("slack_bolt"),
    )

    async def command(ack, body, respond):
        await inbound.on_command(ack, body, respond)

    for name in COMMANDS:
        app.command(f"/{name}")(command)

    if assistant is not None:
        app.use(assistant)  # assistant threads (and threaded DMs) go through it

    if config is not None:

        @app.command("/config")
        async def configure(ack, body):
            await inbound.count()
            await config.on_command(ack, body)

    @app.event("app_mention")
    async def mention(body, event):
        await inbound.on_mention(body, event)

    @app.event("message")
    async def message(body, event):
        await inbound.on_message(body, event)

    @app.action(STOP_ACTION)
    async def stop(ack, body, respond):
        await inbound.count()
        await on_stop(bot, ack, body, respond)

    @app.error
    async def failed(error, body):
        # Bolt calls this for listener failures; they are logged and never stop the bot.
        log.error("Slack listener failed for a %s payload", (body or {}).get("type", "?"), exc_info=error)

    return app


def share_auth_test(app: AsyncApp, auth) -> None:
    """Give Bolt the `auth.test` answer the adapter got at start.

    Bolt's single-workspace authorization calls `auth.test` on the first request and
    caches the answer, but with no lock: a burst of requests on a cold start makes one
    call each, draws 429s (auth.test has a rate tier too) and acks with Bolt's error text.
    Seeded, no request ever calls it.
    """
    for middleware in app._async_middleware_list:
        if isinstance(middleware, AsyncSingleTeamAuthorization):
            middleware.auth_test_result = auth


def http_handler(app: AsyncApp, check: RequestCheck):
    """The aiohttp route for HTTP mode: the signature and timestamp are checked first."""

    async def handle(request: web.Request) -> web.Response:
        if not check.accepts(request.headers, await request.read()):
            return web.json_response({"error": "invalid request"}, status=401)
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return handle
