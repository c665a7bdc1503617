"""The Slack adapter: `/codex`, `/image`, mentions and DMs on slack-bolt (async).

`create(core)` builds it; `start()` registers the outbound side with the core and
connects: Socket Mode when `SLACK_APP_TOKEN` is set, else HTTP mode on the core's web
server at `/slack/events`. See README (section Slack) and `slack-app-manifest.yaml`.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.dedupe import Dedupe
from bot.runtime import Core

from .app import EVENTS_PATH, bolt_app, http_handler, share_auth_test, web_client
from .assistant import make_assistant
from .config import SlackConfig
from .files import SlackFiles
from .inbound import SlackInbound
from .outbound import PLATFORM, SlackOutbound, slack_capabilities
from .verify import RequestCheck

log = logging.getLogger(__name__)


class SlackAdapter:
    name = PLATFORM

    def __init__(self, core: Core) -> None:
        settings = core.settings
        if settings.slack_bot_token is None:
            raise ValueError("the Slack adapter needs SLACK_BOT_TOKEN")
        self._core = core
        self.client = web_client(settings)
        self.out = SlackOutbound(
            self.client, pacer=core.pacer, capabilities=slack_capabilities(native_stream=settings.slack_native_streaming)
        )
        self.dedupe = Dedupe(core.store)
        files = SlackFiles(core.http, settings.slack_bot_token.get_secret_value(), api_url=settings.slack_api_url)
        self.inbound = SlackInbound(core, self.out, files, self.dedupe)
        config = SlackConfig(core, self.client)
        self.inbound.is_admin = config.is_admin  # `/usage all` is for the `/config` admins
        self.app = bolt_app(
            settings, self.client, self.inbound, core.bot,
            config=config,
            assistant=make_assistant(self.inbound, self.client, core.conversations),
        )
        self.socket_mode = settings.slack_app_token is not None
        self._socket: AsyncSocketModeHandler | None = None
        self.requests: RequestCheck | None = None  # HTTP mode: signature checks and the refused count
        self.connection = SlackConnection(self)

    async def start(self) -> None:
        await self.dedupe.start()
        await self._identify()
        self._core.bot.register_outbound(PLATFORM, self.out)
        settings = self._core.settings
        if self.socket_mode:
            assert settings.slack_app_token is not None
            self._socket = AsyncSocketModeHandler(self.app, settings.slack_app_token.get_secret_value())
            await self._socket.connect_async()
            log.info("Slack: connected in Socket Mode")
        else:
            assert settings.slack_signing_secret is not None
            self.requests = RequestCheck(settings.slack_signing_secret.get_secret_value())
            self._core.web.add_route("POST", EVENTS_PATH, http_handler(self.app, self.requests))
            log.info("Slack: HTTP mode, Request URL path %s", EVENTS_PATH)

    async def _identify(self) -> None:
        """Learn the bot's user id (to strip its mention from prompts) and name."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            # A bad token is fatal and the operator must hear it (the token is not shown).
            raise RuntimeError(f"Slack rejected SLACK_BOT_TOKEN: {exc.response.get('error')}") from None
        self.inbound.bot_user_id = auth.get("user_id")
        self.connection.identified = True
        self.out.bot_name = auth.get("user") or self.out.bot_name
        share_auth_test(self.app, auth)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None


class SlackConnection:
    """For /readyz: Socket Mode is up while its WebSocket is; HTTP mode once the token checked out."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self._adapter = adapter
        self.identified = False

    async def up(self) -> bool:
        if not self.identified:
            return False
        socket = self._adapter._socket
        if not self._adapter.socket_mode:
            return True
        return socket is not None and await socket.client.is_connected()


def create(core: Core) -> SlackAdapter:
    return SlackAdapter(core)
