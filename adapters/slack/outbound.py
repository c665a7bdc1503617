"""Slack's outbound side: one Web API call per `Outbound` / `NativeStreaming` method.

- Posts and edits carry the model's Markdown in a `markdown` block (Slack renders it;
  nothing is hand-converted), with an escaped, shortened `text` for notifications, and
  the Stop button as an `actions` block.
- Native streams use `chat.startStream` / `appendStream` / `stopStream` with
  `markdown_text`, and `recipient_user_id` / `recipient_team_id` outside DMs. Any Slack
  error on a stream call becomes `StreamRefused`; the core then finishes with edits.
  A streaming message cannot carry buttons, so the Stop button goes to the requester
  as an ephemeral message in the thread.
- `MessageRef.key` is `"<channel>:<ts>"`, enough to edit the message after a restart.
- Policy (pacing, splitting, fallback) is the core's; the limits are declared here and in
  `limits` (per method and tier). Calls the adapter makes on its own (the visible header
  of a command, the private Stop hint, the thinking status) wait for, or skip without,
  a slot of the same shared pacer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import AdapterError, StreamRefused
from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, ImageFile, Pace
from bot.render.pacing import WritePacer

from . import limits, messages
from .controls import stop_blocks
from .delivered import already_posted, marked_name
from .mrkdwn import escape, truncate
from .neutralise import StreamNeutraliser, neutralise

log = logging.getLogger(__name__)

PLATFORM = "slack"
MARKDOWN_LIMIT = 12_000  # per markdown block and per `markdown_text` call
NOTIFICATION_CHARS = 300  # the `text` fallback only feeds notifications and screen readers
# Refusals that mean "streaming is not available to this app in this workspace" (as
# opposed to one stream expiring or one call being malformed): once seen, later replies
# in that workspace go straight to post-and-edit instead of spending a Tier 2 call.
WORKSPACE_REFUSALS = frozenset(
    {"feature_disabled", "feature_not_enabled", "not_allowed_token_type", "unknown_method", "missing_scope", "not_supported"}
)


def slack_capabilities(*, native_stream: bool = True) -> Capabilities:
    return Capabilities(
        max_chars=MARKDOWN_LIMIT,
        can_edit=True,
        min_edit_interval=1.5,
        # Shared budgets are per method (see `limits` and `SlackOutbound.write_pace`).
        max_file_bytes=50 * 1024 * 1024,
        native_stream=native_stream,
        cursor=True,
        stream_interval=1.0,
    )


def message_key(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_key(key: str) -> tuple[str, str]:
    channel, _, ts = key.partition(":")
    return channel, ts


def is_dm(channel: str) -> bool:
    return channel.startswith("D")


def slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or "unknown_error") if exc.response is not None else "unknown_error"


def as_adapter_error(method: str, exc: SlackApiError, *, bot_name: str = "the bot") -> AdapterError:
    code = slack_error(exc)
    hint = messages.ERROR_HINTS.get(code)
    return AdapterError(f"Slack {method} failed: {code}", user_message=hint.format(name=bot_name) if hint else None)


class SlackStream:
    """One `chat.startStream` message."""

    def __init__(self, client: AsyncWebClient, channel: str, ts: str) -> None:
        self._client = client
        self._channel = channel
        self.ts = ts
        self.ref = MessageRef(platform=PLATFORM, key=message_key(channel, ts))
        self.safe = StreamNeutraliser()

    async def append(self, text: str) -> None:
        text = self.safe.feed(text)
        if not text:
            return  # all of it may be the start of a mention: sent with the next piece
        try:
            await self._client.chat_appendStream(channel=self._channel, ts=self.ts, markdown_text=text)
        except SlackApiError as exc:
            raise StreamRefused(slack_error(exc)) from None

    async def stop(self, *, text: str = "", controls: Controls | None = None) -> None:
        try:
            await self._client.chat_stopStream(channel=self._channel, ts=self.ts, markdown_text=self.safe.flush(text) or None)
        except SlackApiError as exc:
            raise StreamRefused(slack_error(exc)) from None


class SlackOutbound:
    def __init__(
        self, client: AsyncWebClient, *, pacer: WritePacer | None = None, capabilities: Capabilities | None = None
    ) -> None:
        self._client = client
        self._pacer = pacer or WritePacer()
        self.capabilities = capabilities or slack_capabilities()
        self.bot_name = "the bot"  # set from auth.test when the adapter starts
        self._no_streams: dict[str, str] = {}  # team -> the refusal that turned streams off

    def write_pace(self, where: Destination, ref: MessageRef | None = None) -> Pace:
        """Posts draw on the channel's chat.postMessage budget, edits on the workspace's
        chat.update (Tier 3)."""
        return limits.pace("chat.postMessage" if ref is None else "chat.update", where)

    def stream_pace(self, where: Destination, call: str) -> Pace:
        return limits.pace(limits.STREAM_CALLS[call], where)

    def can_stream(self, where: Destination) -> bool:
        """Whether a native stream may be tried here (a thread, a workspace that allows it)."""
        return where.thread_id is not None and (where.team_id or "-") not in self._no_streams

    # -- messages -------------------------------------------------------------------
    @staticmethod
    def _content(text: str, controls: Controls | None) -> dict:
        body = neutralise(text) or " "
        blocks: list[dict] = [{"type": "markdown", "text": body}]
        if controls is not None and controls.stop_id:
            blocks.extend(stop_blocks(controls.stop_id))
        return {"text": escape(truncate(body, NOTIFICATION_CHARS)), "blocks": blocks}

    async def post(self, where: Destination, text: str, *, controls: Controls | None = None) -> MessageRef:
        try:
            response = await self._client.chat_postMessage(
                channel=where.channel_id,
                thread_ts=where.thread_id,
                unfurl_links=False,
                unfurl_media=False,
                **self._content(text, controls),
            )
        except SlackApiError as exc:
            raise as_adapter_error("chat.postMessage", exc, bot_name=self.bot_name) from None
        return MessageRef(platform=PLATFORM, key=message_key(where.channel_id, response["ts"]))

    async def post_mrkdwn(self, where: Destination, text: str) -> MessageRef:
        """A plain mrkdwn message the adapter wrote itself (`text` must be escaped already);
        it waits for its turn in the channel's budget."""
        await self._pacer.take(self.write_pace(where, None))
        try:
            response = await self._client.chat_postMessage(
                channel=where.channel_id, thread_ts=where.thread_id, text=text, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            raise as_adapter_error("chat.postMessage", exc, bot_name=self.bot_name) from None
        return MessageRef(platform=PLATFORM, key=message_key(where.channel_id, response["ts"]))

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        channel, ts = split_key(ref.key)
        try:
            await self._client.chat_update(channel=channel, ts=ts, **self._content(text, controls))
        except SlackApiError as exc:
            raise as_adapter_error("chat.update", exc, bot_name=self.bot_name) from None

    async def ephemeral(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None, blocks=None, team: str | None = None
    ) -> None:
        """A message only `user` sees (`text` must be escaped already). Failures are logged."""
        pace = limits.pace("chat.postEphemeral", Destination(platform=PLATFORM, channel_id=channel, team_id=team))
        await self._pacer.take(pace)
        try:
            await self._client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=blocks)
        except SlackApiError as exc:
            log.warning("chat.postEphemeral in %s failed: %s", channel, slack_error(exc))

    async def post_images(
        self, where: Destination, files: Sequence[ImageFile], caption: str, *, key: str | None = None
    ) -> MessageRef:
        if key:
            # A redelivery after a crash first looks for its own upload (Tier 3).
            await self._pacer.take(limits.pace("conversations.replies", where))
        if key and await already_posted(self._client, where.channel_id, where.thread_id, key):
            return MessageRef(platform=PLATFORM, key=f"{where.channel_id}:files:")
        names = [marked_name(key, f.filename) if key else f.filename for f in files]
        uploads = [{"content": f.data, "filename": name, "title": f.filename} for f, name in zip(files, names)]
        # Each file asks for an upload URL, then one call completes them (Tier 4 each).
        for _ in uploads:
            await self._pacer.take(limits.pace("files.getUploadURLExternal", where))
        await self._pacer.take(limits.pace("files.completeUploadExternal", where))
        try:
            response = await self._client.files_upload_v2(
                file_uploads=uploads,
                channel=where.channel_id,
                thread_ts=where.thread_id,
                initial_comment=escape(neutralise(caption)) if caption else None,
            )
        except SlackApiError as exc:
            raise as_adapter_error("files.completeUploadExternal", exc, bot_name=self.bot_name) from None
        ids = ",".join(str(f.get("id")) for f in response.get("files") or [])
        # Slack shares files asynchronously and returns no message ts; the key names the
        # files, and `edit` cannot apply to it.
        return MessageRef(platform=PLATFORM, key=f"{where.channel_id}:files:{ids}")

    async def status(self, where: Destination, text: str) -> None:
        if where.thread_id is None:
            return  # the thinking status lives on a thread
        if not self._pacer.try_take(limits.pace("assistant.threads.setStatus", where)):
            # A status is a courtesy: when the channel's budget is spent, replies go first
            # (Slack clears a status itself when the reply is posted, or after 2 minutes).
            log.debug("skipped a thinking status in %s: no budget left", where.channel_id)
            return
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=where.channel_id, thread_ts=where.thread_id, status=text
            )
        except SlackApiError as exc:
            # A status is a courtesy; a reply must not fail for it.
            log.info("assistant.threads.setStatus in %s failed: %s", where.channel_id, slack_error(exc))

    # -- native streaming -------------------------------------------------------------
    async def start_stream(
        self,
        where: Destination,
        *,
        controls: Controls | None = None,
        text: str = "",
        recipient: str | None = None,
    ) -> SlackStream:
        if where.thread_id is None:
            raise StreamRefused("no_thread")  # Slack streams only as a reply in a thread
        team = where.team_id or "-"
        if team in self._no_streams:
            raise StreamRefused(self._no_streams[team])
        recipients: dict[str, str] = {}
        if not is_dm(where.channel_id):
            if recipient:
                recipients["recipient_user_id"] = recipient
            if where.team_id:
                recipients["recipient_team_id"] = where.team_id
        safe = StreamNeutraliser()
        try:
            response = await self._client.chat_startStream(
                channel=where.channel_id, thread_ts=where.thread_id, markdown_text=safe.feed(text) or None, **recipients
            )
        except SlackApiError as exc:
            code = slack_error(exc)
            if code in WORKSPACE_REFUSALS:
                log.warning("Slack refused native streaming in %s (%s); using edits from now on", team, code)
                self._no_streams[team] = code
            raise StreamRefused(code) from None
        stream = SlackStream(self._client, where.channel_id, response["ts"])
        stream.safe = safe
        if controls is not None and controls.stop_id and recipient:
            await self.ephemeral(
                where.channel_id,
                recipient,
                escape(messages.STOP_HINT),
                thread_ts=where.thread_id,
                blocks=stop_blocks(controls.stop_id, hint=messages.STOP_HINT),
                team=where.team_id,
            )
        return stream

