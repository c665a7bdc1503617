"""The core's front door: adapters hand it `Request`s; it decides what happens.

`Bot.handle` returns quickly (adapters have acknowledged the platform already); the
work runs in the background under the `TaskRunner`, which reports failures to the user.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Protocol

from . import messages, metrics
from .errors import AdapterError, UserFacingError
from .logs import request_context
from .metrics import CountingOutbound
from .model import Destination, MessageRef, Request
from .ports import Outbound
from .tasks import TaskRunner

log = logging.getLogger(__name__)


class StopAsker(Protocol):
    """Passes a Stop press on to the other processes (see `bot.shared.stops`)."""

    async def ask(self, stop_id: str, user_id: str) -> str | None: ...


class CommandHandler(Protocol):
    """Runs one kind of request to completion (the Codex reply, the image task)."""

    async def run(self, request: Request, out: Outbound) -> None: ...


@dataclass
class StopSwitch:
    """A running reply that its requester may stop."""

    owner_id: str
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def press(self) -> None:
        self.stopped.set()


class Bot:
    def __init__(self, *, runner: TaskRunner) -> None:
        self.runner = runner
        self._outbound: dict[str, Outbound] = {}
        self._handlers: dict[str, CommandHandler] = {}
        self._stops: dict[str, StopSwitch] = {}
        # With several processes the reply may run elsewhere: presses unknown here go on.
        self.stop_relay: StopAsker | None = None
        # Set once the process is asked to stop (SIGTERM): replies in flight watch it next
        # to their Stop switch and end with a final edit while the adapters can still post.
        self.shutting_down = asyncio.Event()

    # -- wiring -----------------------------------------------------------------
    def register_outbound(self, platform: str, out: Outbound) -> None:
        """Adapters register so the core can deliver later (e.g. an image after a restart)."""
        self._outbound[platform] = CountingOutbound(platform, out)  # type: ignore[assignment]

    def outbound_for(self, platform: str) -> Outbound | None:
        return self._outbound.get(platform)

    def platforms(self) -> list[str]:
        """The platforms this process can post to."""
        return sorted(self._outbound)

    def register_handler(self, command: str, handler: CommandHandler) -> None:
        self._handlers[command] = handler

    # -- requests ---------------------------------------------------------------
    async def handle(self, request: Request) -> asyncio.Task | None:
        """Start work on a request and return at once, with the task doing the work."""
        out = self._outbound[request.where.platform]
        metrics.REQUESTS.labels(command=request.command, platform=request.where.platform).inc()
        handler = self._handlers.get(request.command)
        if handler is None:
            await reply_once(out, request.where, request.placeholder, messages.NOT_AVAILABLE.format(command=request.command))
            return None

        async def report(exc: BaseException) -> None:
            await reply_once(out, request.where, request.placeholder, user_message(exc))

        with request_context(request):  # the task inherits it: its log lines name the request
            log.info("%s request from user %s", request.command, request.user.id)
            return self.runner.spawn(
                handler.run(request, out), name=f"{request.command}:{request.where.key()}", on_error=report
            )

    def begin_shutdown(self) -> None:
        """End every reply in flight now (each says it was cut short by a restart)."""
        self.shutting_down.set()

    # -- stop buttons -----------------------------------------------------------
    def new_stop_switch(self, owner_id: str) -> tuple[str, StopSwitch]:
        stop_id = secrets.token_urlsafe(12)
        switch = StopSwitch(owner_id)
        self._stops[stop_id] = switch
        return stop_id, switch

    def release_stop_switch(self, stop_id: str) -> None:
        self._stops.pop(stop_id, None)

    def stop(self, stop_id: str, user_id: str) -> str:
        """A Stop button was pressed. Returns what to tell the presser (adapters show it privately)."""
        switch = self._stops.get(stop_id)
        if switch is None:
            return messages.STOP_NOTHING_RUNNING
        if switch.owner_id != user_id:
            return messages.STOP_NOT_YOURS
        switch.press()
        return messages.STOP_DONE

    async def stop_anywhere(self, stop_id: str, user_id: str) -> str:
        """A Stop button was pressed in this process; the reply may run in another one."""
        answer = self.stop(stop_id, user_id)
        if answer == messages.STOP_NOTHING_RUNNING and self.stop_relay is not None:
            return await self.stop_relay.ask(stop_id, user_id) or answer
        return answer


def user_message(exc: BaseException) -> str:
    """What to tell the user about a failure: its own words if it has some, else an apology.

    Errors raised inside a task group arrive wrapped in an exception group; the first one
    with something to say wins."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            text = user_message(inner)
            if text != messages.INTERNAL_ERROR:
                return text
        return messages.INTERNAL_ERROR
    if isinstance(exc, UserFacingError):
        return exc.message
    if isinstance(exc, AdapterError) and exc.user_message:
        return exc.user_message
    return messages.INTERNAL_ERROR


async def reply_once(out: Outbound, where: Destination, placeholder: MessageRef | None, text: str) -> MessageRef:
    """Say one thing: in the placeholder when there is one, else as a new message."""
    if placeholder is not None and out.capabilities.can_edit:
        await out.edit(placeholder, text)
        return placeholder
    return await out.post(where, text)
