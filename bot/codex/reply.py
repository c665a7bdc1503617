"""A `/codex` request or a chat turn, from the request to the last edit.

Builds the Responses request (history, attachments, options), streams the reply through
the renderer, honours the Stop button, and stores the turn in the conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import aiohttp

from .. import messages, metrics
from ..app import Bot, user_message
from ..channel_settings import ChannelConfig, ChannelSettings
from ..commands.codex_options import CodexOptions, codex_options
from ..config import Settings
from ..conversations import Conversations, Turn
from ..errors import UpstreamError, UsageError
from ..kie.uploads import KieUploader
from ..model import MessageRef, Request
from ..ports import Controls, Outbound
from ..render import make_renderer
from ..render.pacing import WritePacer
from ..render.split import take_piece
from ..render.stream import CURSOR
from ..usage.budget import Budget, Hold, reply_settlement
from .attachments import prepare_attachments
from .client import CodexClient
from .events import Completed, EndedEarly, ReasoningDelta, TextDelta, WebSearch

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 20_000
STATUS_THINKING = "is thinking…"
STATUS_SEARCHING = "is searching the web…"


@dataclass
class Outcome:
    completed: Completed | None = None
    error: UpstreamError | None = None
    stopped: bool = False
    ended_early: str | None = None  # the client's note when it cut the reply (length, time)
    restarting: bool = False  # the process is shutting down: the reply ends here


@dataclass
class Spend:
    """What the ledger needs to know about a reply once it ended."""

    sent: bool = False  # the request went to KIE
    input_chars: int = 0
    text: str = ""
    outcome: Outcome | None = None


class CodexReplies:
    def __init__(
        self,
        *,
        bot: Bot,
        client: CodexClient,
        conversations: Conversations,
        pacer: WritePacer,
        settings: Settings,
        http: aiohttp.ClientSession,
        channels: ChannelSettings | None = None,
        budget: Budget | None = None,
    ) -> None:
        self._bot = bot
        self._channels = channels
        self._budget = budget
        self._client = client
        self._conversations = conversations
        self._pacer = pacer
        self._settings = settings
        self._uploader = KieUploader(http, base_url=settings.kie_upload_base_url, api_key=settings.kie_api_key)
        self._slots = asyncio.Semaphore(settings.codex_max_concurrent)

    async def run(self, request: Request, out: Outbound) -> None:
        if self._slots.locked():
            await _say_queued(out, request)
        async with self._slots:
            with metrics.REPLIES_IN_FLIGHT.track_inprogress():
                await self._run(request, out)

    async def _run(self, request: Request, out: Outbound) -> None:
        channel = await self._channel_config(request)
        options = codex_options(
            request.options, self._settings, channel_model=channel.model, channel_effort=channel.effort
        )
        prompt = request.prompt.strip()
        if not prompt and not request.attachments:
            raise UsageError("Write a question after /codex, for example: /codex how do I reverse a list in Python?")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise UsageError(
                f"That prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}. "
                "Attach long text as a file instead."
            )
        # Before anything reaches KIE (attachments are uploaded to KIE too).
        hold = await self._budget.begin_reply(request, options.model) if self._budget else None
        spend = Spend()
        try:
            instructions = channel.instructions or self._settings.codex_instructions
            await self._answer(request, out, options, prompt, instructions, hold, spend)
        finally:
            if hold is not None:
                await self._settle(hold, spend)

    async def _settle(self, hold: Hold, spend: Spend) -> None:
        outcome = spend.outcome or Outcome()
        completed = outcome.completed
        usage = completed.usage if completed is not None else None
        note = (
            "stopped" if outcome.stopped else "restarting" if outcome.restarting
            else f"error: {outcome.error.message}" if outcome.error is not None
            else f"cut: {outcome.ended_early}" if outcome.ended_early
            else completed.incomplete_reason if completed is not None else None
        )
        failed_before_text = outcome.error is not None and not spend.text
        settlement = reply_settlement(
            hold.model,
            credits=completed.credits if completed is not None else None,
            tokens=(usage.input_tokens, usage.cached_tokens, usage.output_tokens, usage.reasoning_tokens)
            if usage is not None else (None, None, None, None),
            input_chars=spend.input_chars,
            output_chars=len(spend.text),
            reached_kie=spend.sent and spend.outcome is not None and not failed_before_text,
            note=note,
        )
        try:
            await self._budget.end_reply(hold, settlement)  # type: ignore[union-attr]
        except Exception:
            log.exception("could not record the cost of a reply")

    async def _answer(
        self,
        request: Request,
        out: Outbound,
        options: CodexOptions,
        prompt: str,
        instructions: str | None,
        hold: Hold | None,
        spend: Spend,
    ) -> None:
        await out.status(request.where, STATUS_THINKING)
        prepared = await prepare_attachments(request.attachments, self._uploader)
        user_parts = ([{"type": "input_text", "text": prompt}] if prompt else []) + prepared.parts
        history = await self._conversations.history(request.conversation_key) if request.conversation_key else []
        body = build_body(options, [*history, Turn("user", user_parts)], instructions=instructions)
        if hold is not None and hold.max_output_tokens is not None:
            # What the budget left buys this many output tokens; the reply may not run past it.
            body["max_output_tokens"] = hold.max_output_tokens
        spend.input_chars = len(json.dumps(body["input"], ensure_ascii=False))

        stop_id, switch = self._bot.new_stop_switch(request.user.id)
        renderer = make_renderer(
            out,
            request.where,
            pacer=self._pacer,
            placeholder=request.placeholder,
            controls=Controls(stop_id=stop_id),
            recipient=request.user.id,
        )
        reply = ""
        outcome = Outcome()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(renderer.run())
                spend.sent = True
                outcome = spend.outcome = await self._stream(body, renderer, out, request, switch.stopped)
                if outcome.restarting:
                    log.info("a reply was cut short by the shutdown after %d characters", len(renderer.text))
                reply = spend.text = renderer.text  # before the suffix (notes, footer) is added
                renderer.close(_suffix(reply, outcome, prepared.notes, options))
        except Exception as exc:
            if not renderer.text:
                raise  # nothing shown yet: the error can take the placeholder's place
            # Text is on screen: say what went wrong below it rather than over it.
            await self._report_below(out, request, exc, getattr(renderer, "last_shown", None))
            reply = reply or renderer.text
        finally:
            if spend.outcome is None:  # the stream failed: no suffix was added to the text
                spend.text = renderer.text
            self._bot.release_stop_switch(stop_id)
            await out.status(request.where, "")
        if request.conversation_key and (reply or outcome.restarting):
            # A reply cut short by a restart is kept too, so the conversation continues after it.
            await self._remember(request.conversation_key, user_parts, _reply_only(reply, outcome))

    async def _channel_config(self, request: Request) -> ChannelConfig:
        if self._channels is None:
            return ChannelConfig()
        return await self._channels.get(request.where.platform, request.where.channel_id)

    async def _report_below(
        self, out: Outbound, request: Request, exc: BaseException, last_shown: tuple[MessageRef, str] | None
    ) -> None:
        """Say why the reply stopped: in a new message, or, when the platform refuses new
        messages, at the end of the last one shown (trimmed to make room)."""
        log.warning("a reply failed after text was shown: %r", exc)
        note = user_message(exc)
        try:
            await out.post(request.where, note)
            return
        except Exception as post_failure:
            log.warning("could not post the failure note: %r", post_failure)
        if last_shown is None:
            return
        ref, text = last_shown
        room = out.capabilities.max_chars - len(note) - 2
        kept = take_piece("", text.removesuffix(CURSOR), room).text if len(text) > room else text.removesuffix(CURSOR)
        try:
            await out.edit(ref, f"{kept}\n\n{note}")
        except Exception:
            log.exception("could not tell the user that the reply failed")

    async def _stream(self, body: dict, renderer, out: Outbound, request: Request, stopped: asyncio.Event) -> Outcome:
        outcome = Outcome()
        shown_status = STATUS_THINKING

        async def pump() -> None:
            nonlocal shown_status
            stopwatch = metrics.Stopwatch()
            try:
                async for event in self._client.stream(body):
                    stopwatch.event()
                    if isinstance(event, TextDelta):
                        renderer.push(event.text)
                    elif isinstance(event, Completed):
                        outcome.completed = event
                        if event.credits:
                            metrics.CREDITS.labels(service="codex").inc(event.credits)
                    elif isinstance(event, EndedEarly):
                        outcome.ended_early = event.note
                    elif isinstance(event, WebSearch) and event.status != "completed" and shown_status != STATUS_SEARCHING:
                        shown_status = STATUS_SEARCHING
                        await out.status(request.where, STATUS_SEARCHING)
                    elif isinstance(event, ReasoningDelta) and shown_status != STATUS_THINKING and not renderer.text:
                        shown_status = STATUS_THINKING
                        await out.status(request.where, STATUS_THINKING)
                stopwatch.done()
            except UpstreamError as exc:
                metrics.record_error(exc)
                outcome.error = exc
            except Exception as exc:
                # Our own bug must not cost the user the text already shown.
                log.exception("the Codex reply failed")
                metrics.record_error(exc)
                outcome.error = UpstreamError(messages.INTERNAL_ERROR)

        shutdown = self._bot.shutting_down
        if shutdown.is_set():
            outcome.restarting = True
            return outcome
        pumping = asyncio.ensure_future(pump())
        # The Stop button and the process's shutdown both end the upstream stream; the
        # renderer then closes normally, so the message gets its final edit either way.
        waiters = {asyncio.ensure_future(stopped.wait()), asyncio.ensure_future(shutdown.wait())}
        try:
            await asyncio.wait({pumping, *waiters}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            if not pumping.done():
                outcome.restarting = shutdown.is_set() and not stopped.is_set()
                outcome.stopped = not outcome.restarting
                pumping.cancel()
            await asyncio.gather(pumping, *waiters, return_exceptions=True)
        if not pumping.cancelled() and pumping.exception() is not None:
            raise pumping.exception()
        return outcome

    async def _remember(self, key: str, user_parts: list[dict], reply: str) -> None:
        # Images in old turns are replaced by a mention: their URLs expire, and a dead
        # URL in the history would break every later turn.
        stored = [
            part if part["type"] == "input_text" else {"type": "input_text", "text": "[an attachment was shared here]"}
            for part in user_parts
        ]
        await self._conversations.append(
            key, Turn("user", stored), Turn("assistant", [{"type": "output_text", "text": reply}])
        )


async def _say_queued(out: Outbound, request: Request) -> None:
    """Tell the user their question waits for a free stream (CODEX_MAX_CONCURRENT)."""
    if request.placeholder is not None and out.capabilities.can_edit:
        await out.edit(request.placeholder, messages.CODEX_QUEUED)
    else:
        await out.status(request.where, messages.STATUS_QUEUED)


def build_body(options: CodexOptions, turns: list[Turn], *, instructions: str | None = None) -> dict:
    body: dict = {
        "model": options.model,
        "stream": True,
        "input": [_message(turn) for turn in turns],
        "reasoning": {"effort": options.effort},
    }
    if instructions:
        body["instructions"] = instructions  # the system prompt, resent each turn (KIE keeps no state)
    if options.web_search:
        body["tools"] = [{"type": "web_search"}]
    return body


def _message(turn: Turn) -> dict:
    if turn.role == "assistant":
        # Assistant history goes back as plain text, the form every Responses endpoint accepts.
        return {"role": "assistant", "content": "".join(p.get("text", "") for p in turn.content)}
    return {"role": "user", "content": turn.content}


def _reply_only(text: str, outcome: Outcome) -> str:
    """What the model said, marked when it was cut short, as the history will show it."""
    if outcome.stopped:
        return f"{text}\n\n{messages.REPLY_STOPPED}"
    if outcome.restarting:
        return f"{text}\n\n{messages.REPLY_RESTARTING}" if text else messages.REPLY_RESTARTING
    if outcome.error is not None:
        return f"{text}\n\n{messages.REPLY_INTERRUPTED.format(reason=outcome.error.message)}"
    return text


def _suffix(text: str, outcome: Outcome, notes: list[str], options: CodexOptions) -> str:
    lines: list[str] = []
    if outcome.stopped:
        lines.append(messages.REPLY_STOPPED)
    elif outcome.restarting:
        lines.append(messages.REPLY_RESTARTING)
    elif outcome.error is not None:
        if text:
            lines.append(messages.REPLY_INTERRUPTED.format(reason=outcome.error.message))
        else:
            lines.append(outcome.error.message)
    elif outcome.ended_early:
        lines.append(outcome.ended_early)
    elif not text:
        lines.append(messages.EMPTY_REPLY)
    lines.extend(f"_{note}_" for note in notes)
    footer = _footer(outcome.completed, options) if not outcome.error else ""
    if footer:
        lines.append(footer)
    if not lines:
        return ""
    return ("\n\n" if text else "") + "\n".join(lines)


def _footer(completed: Completed | None, options: CodexOptions) -> str:
    if completed is None:
        return ""
    parts = [options.model]
    usage = completed.usage
    if usage is not None:
        total = usage.total_tokens
        if total is None and usage.input_tokens is not None and usage.output_tokens is not None:
            total = usage.input_tokens + usage.output_tokens
        if total is not None:
            parts.append(f"{total:,} tokens")
    if completed.credits is not None:
        parts.append(f"{completed.credits:g} credits")
    if completed.incomplete_reason:
        parts.append(f"incomplete: {completed.incomplete_reason}")
    return "_" + " · ".join(parts) + "_"
