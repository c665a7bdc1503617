"""`/config` on Slack: an admin's per-channel settings (system prompt, model, effort).

Slack cannot hide a slash command from some members, so the bot refuses everyone but the
users in SLACK_ADMIN_USERS and the workspace's admins and owners (`users.info`, which
needs the `users:read` scope). The answer is private (the command's ack).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UsageError
from bot.runtime import Core

from .mrkdwn import escape
from .outbound import PLATFORM

log = logging.getLogger(__name__)

NOT_ADMIN = "Only workspace admins (or the users in the bot's SLACK_ADMIN_USERS) can change its settings."


class SlackConfig:
    def __init__(self, core: Core, client: AsyncWebClient) -> None:
        self._core = core
        self._client = client

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self._core.settings.slack_admin_users:
            return True
        try:
            user = (await self._client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:  # e.g. missing_scope: users:read was not granted
            log.warning("could not look up whether %s is an admin: %s", user_id, exc)
            return False
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    async def on_command(self, ack, body: Mapping) -> None:
        if not await self.is_admin(body.get("user_id", "")):
            await ack(text=escape(NOT_ADMIN))
            return
        channels = self._core.channels
        assert channels is not None
        try:
            text = await channels.command(PLATFORM, body.get("channel_id", ""), body.get("text", ""))
        except UsageError as exc:
            text = exc.message
        await ack(text=escape(text))
