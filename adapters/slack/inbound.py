"""What the Slack adapter does with each inbound payload (Bolt listeners call these).

Commands are acknowledged before any I/O (Slack's 3 s rule); a bad flag or option
value (checked by the core's own rules), an empty prompt or a refused channel/user is
answered in that same ack, privately, before anything visible is posted. Each command
is claimed by its `trigger_id` (unique per invocation) and each event by its `event_id`
in the store first, so a replayed command or a retried event never runs twice. All work
after the ack goes through the core's `TaskRunner`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from bot.commands.flags import parse_flags, usage
from bot.commands.validate import check_options
from bot.dedupe import Dedupe
from bot.errors import AdapterError, UsageError
from bot.model import Destination
from bot.runtime import Core

from . import messages, translate
from .files import SlackFiles
from .mrkdwn import escape, truncate
from .outbound import PLATFORM, SlackOutbound, split_key

log = logging.getLogger(__name__)

HEADER_PROMPT_CHARS = 2_000
# User ids in the /usage report are marked, escaped with the text, then made mentions.
_MARK = "\u2063"
_MENTION = re.compile(f"{_MARK}([A-Z0-9]+){_MARK}")


class SlackInbound:
    def __init__(self, core: Core, out: SlackOutbound, files: SlackFiles, dedupe: Dedupe) -> None:
        self._core = core
        self._out = out
        self._files = files
        self._dedupe = dedupe
        self._settings = core.settings
        self.bot_user_id: str | None = None
        # Whether a user is one of the `/config` admins (SlackConfig.is_admin: asks Slack).
        self.is_admin: Callable[[str], Awaitable[bool]] | None = None
        # Payloads handled, for tests and logs: Bolt runs event listeners on its own
        # futures, so this is how one knows a delivery has reached the adapter. A payload
        # is counted once its work is acknowledged and handed to the runner, so "counted,
        # then the runner is idle" means its work is done.
        self.received = 0
        self._received = asyncio.Condition()

    async def count(self) -> None:
        self.received += 1
        async with self._received:
            self._received.notify_all()

    async def wait_received(self, n: int) -> None:
        async with self._received:
            await self._received.wait_for(lambda: self.received >= n)

    def refusal(self, channel: str, user: str) -> str | None:
        """Why this channel or user may not use the bot, or None."""
        allowed_channels = self._settings.slack_allowed_channels
        allowed_users = self._settings.slack_allowed_users
        if allowed_channels and channel not in allowed_channels and not channel.startswith("D"):
            return messages.NOT_ALLOWED_CHANNEL
        if allowed_users and user not in allowed_users:
            return messages.NOT_ALLOWED_USER
        return None

    # -- slash commands ---------------------------------------------------------------
    async def on_command(self, ack, body: Mapping, respond) -> None:
        try:
            await self._on_command(ack, body, respond)
        finally:
            await self.count()

    async def _on_command(self, ack, body: Mapping, respond) -> None:
        command = translate.slash_command(body)
        trigger = body.get("trigger_id")
        if trigger and not await self._dedupe.first_time(f"slack-command:{trigger}"):
            log.info("dropping a repeated /%s (same trigger_id)", command.name)
            await ack()
            return
        refused = self.refusal(command.channel_id, command.user_id)
        if refused is not None:
            await ack(text=escape(refused))
            return
        if command.name == "usage":
            await ack(text=await self._usage(command))
            return
        try:
            options, prompt = parse_flags(command.name, command.text)
            if prompt:
                check_options(command.name, options, prompt, self._settings)
        except UsageError as exc:
            await ack(text=escape(exc.message))
            return
        if not prompt:
            await ack(text=escape(messages.EMPTY_PROMPT.format(command=command.name, usage=usage(command.name))))
            return
        await ack()
        self._core.runner.spawn(
            self._run_command(command, options, prompt, respond), name=f"slack:/{command.name}:{command.channel_id}"
        )

    async def _usage(self, command: translate.SlashCommand) -> str:
        """The report, escaped for mrkdwn, with its user ids as Slack mentions."""
        report = self._core.usage
        assert report is not None
        request = translate.usage_request(command)
        if translate.wants_all(command) and self.is_admin is not None and await self.is_admin(command.user_id):
            request = dataclasses.replace(request, user=dataclasses.replace(request.user, admin=True))
        text = await report.answer(request, mention=lambda user_id: f"{_MARK}{user_id}{_MARK}")
        return _MENTION.sub(lambda m: f"<@{m.group(1)}>", escape(text))

    async def _run_command(self, command: translate.SlashCommand, options: dict, prompt: str, respond) -> None:
        flags = " ".join(f"--{k}" if v is True else f"--{k} {v}" for k, v in options.items() if not isinstance(v, list))
        header = messages.COMMAND_HEADER.format(
            user=command.user_id,
            command=command.name,
            options=f" `{escape(flags)}`" if flags else "",
            prompt=escape(truncate(prompt, HEADER_PROMPT_CHARS)),
        )
        where = Destination(platform=PLATFORM, channel_id=command.channel_id, team_id=command.team_id)
        try:
            posted = await self._out.post_mrkdwn(where, header)
        except AdapterError as exc:
            # Typically not_in_channel: the response_url still reaches the user privately.
            log.warning("could not post the /%s message: %s", command.name, exc)
            text = exc.user_message or messages.POST_FAILED.format(code=str(exc))
            await respond(text=escape(text), response_type="ephemeral")
            return
        _, thread_ts = split_key(posted.key)
        await self._core.bot.handle(translate.command_request(command, options, prompt, thread_ts))

    # -- events -----------------------------------------------------------------------
    async def on_mention(self, body: Mapping, event: Mapping) -> None:
        self._core.runner.spawn(self._run_chat(body, event), name=f"slack:mention:{event.get('channel')}")
        await self.count()

    async def on_message(self, body: Mapping, event: Mapping) -> None:
        if translate.is_user_dm(event):
            self._core.runner.spawn(self._run_chat(body, event), name=f"slack:dm:{event.get('channel')}")
        await self.count()

    def background(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        """Run listener work after Bolt's ack under the core's runner (so a drain waits for it)."""
        self._core.runner.spawn(work, name=name)

    async def run_chat(self, body: Mapping, event: Mapping) -> None:
        """A chat turn that arrived another way (an assistant thread)."""
        await self._run_chat(body, event)

    async def _run_chat(self, body: Mapping, event: Mapping) -> None:
        event_id = body.get("event_id")
        if event_id and not await self._dedupe.first_time(f"slack:{event_id}"):
            log.info("dropping a repeated delivery of %s", event_id)
            return
        request = translate.chat_request(body, event, bot_user_id=self.bot_user_id, fetch=self._files.download)
        refused = self.refusal(request.where.channel_id, request.user.id)
        if refused is not None:
            await self._out.ephemeral(request.where.channel_id, request.user.id, escape(refused), thread_ts=request.where.thread_id)
            return
        if not request.prompt and not request.attachments:
            text = escape(messages.EMPTY_MENTION.format(name=self._out.bot_name))
            await self._out.post_mrkdwn(request.where, text)
            return
        await self._core.bot.handle(request)
