"""The stream renderer every adapter shares: turns text deltas into posts and edits.

- The first text appears as soon as the first delta arrives (in the placeholder, if any).
- Later edits carry the latest full text, no more often than the adapter allows: deltas
  that arrive while an edit waits for its turn are coalesced into it. One loop sends, so
  at most one edit per message is ever in flight.
- Text beyond the adapter's limit continues in a new message, cut at a line or word
  boundary with code fences closed and reopened (see `split`).
- The last edit goes out as soon as the stream is closed; it also removes the controls.

Run it next to the producer: `run()` in a task group, `push()` deltas, then `close()`.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import AdapterError
from ..model import Destination, MessageRef
from ..ports import Controls, Outbound
from .pacing import EditPacer
from .split import split_text, take_piece

log = logging.getLogger(__name__)

CURSOR = " ▌"


class StreamRenderer:
    def __init__(
        self,
        out: Outbound,
        where: Destination,
        *,
        pacer: EditPacer,
        placeholder: MessageRef | None = None,
        controls: Controls | None = None,
    ) -> None:
        self._out = out
        self._caps = out.capabilities
        self._where = where
        self._pacer = pacer
        self._scope = out.pace_scope(where)
        self._controls = controls
        self._current = placeholder if self._caps.can_edit else None
        self._shown = ""  # what the current message shows now ("" = nothing of ours yet)
        self._text = ""
        self._start = 0  # where the current message begins in `_text`
        self._prefix = ""  # a code fence reopened at the top of the current message
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()
        self._done = asyncio.Event()
        self.messages: list[MessageRef] = [placeholder] if self._current is not None else []
        self.edits = 0
        self.posts = 0
        self.last_shown: tuple[MessageRef, str] | None = None  # the latest message and its text

    @property
    def text(self) -> str:
        return self._text

    def push(self, delta: str) -> None:
        if self._closing:
            raise RuntimeError("push() after close()")
        if delta:
            self._text += delta
            self._wake.set()

    def close(self, suffix: str = "") -> None:
        """No more deltas. `suffix` (notes, footer) is appended to the final text."""
        if suffix:
            self._text += suffix
        self._closing = True
        self._closed.set()
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if not self._caps.can_edit:
                    if self._closing:
                        await self._post_whole()
                        return
                    continue
                await self._flush()
                if self._closing and not self._wake.is_set():
                    return
        finally:
            if self._current is not None:
                self._pacer.forget(self._current.key)
            self._done.set()

    async def wait(self) -> None:
        await self._done.wait()

    # -- internals -----------------------------------------------------------------
    async def _flush(self) -> None:
        if self._current is not None and self._shown and not self._closing:
            # Keep to the per-message interval, but the final edit never waits for it:
            # closing cuts the wait short.
            delay = self._pacer.message_delay(self._current.key, self._caps.min_edit_interval)
            if delay > 0:
                try:
                    await asyncio.wait_for(self._closed.wait(), delay)
                except TimeoutError:
                    pass
        limit = self._caps.max_chars
        cursor = "" if self._closing or not self._caps.cursor else CURSOR
        while len(self._prefix) + len(self._text) - self._start + len(cursor) > limit:
            piece = take_piece(self._prefix, self._text[self._start :], limit - len(cursor))
            await self._show(piece.text, controls=None)
            self._start += piece.consumed
            self._prefix = piece.reopen
            if self._current is not None:
                self._pacer.forget(self._current.key)
            self._current, self._shown = None, ""
        body = self._prefix + self._text[self._start :]
        if not body:
            return
        closing = self._closing
        text = body if closing else body + cursor
        if text != self._shown:
            await self._show(text, controls=None if closing else self._controls)

    async def _show(self, text: str, *, controls: Controls | None) -> None:
        budget = self._caps.shared_edit_budget
        if self._current is None:
            await self._pacer.book(self._scope, budget)
            self._current = await self._out.post(self._where, text, controls=controls)
            self._pacer.book_now(self._current.key)
            self.messages.append(self._current)
            self.posts += 1
        else:
            await self._pacer.book(self._scope, budget, self._current.key, urgent=self._closing and controls is None)
            try:
                await self._out.edit(self._current, text, controls=controls)
            except AdapterError as exc:
                if self._closing or controls is None:
                    raise  # a final text that cannot be shown must be reported
                # An in-progress edit that failed is not fatal: the next one carries its text.
                log.warning("an in-progress edit failed (%s); the next edit will catch up", exc)
                return
            self.edits += 1
        self._shown = text
        self.last_shown = (self._current, text)

    async def _post_whole(self) -> None:
        for piece in split_text(self._text, self._caps.max_chars):
            await self._pacer.book(self._scope, self._caps.shared_edit_budget)
            self.messages.append(await self._out.post(self._where, piece))
            self.posts += 1
