"""The stream renderer every adapter shares: turns text deltas into posts and edits.

- The first text appears as soon as the first delta arrives (in the placeholder, if any).
- Later edits carry the latest full text, no more often than the adapter allows. The
  text of a write is taken when the pacer grants its slot, so deltas that arrive while
  it waits are coalesced into it and no write carries stale text; a write that waits
  when the reply closes becomes the final one. One loop sends, so at most one write per
  message is ever in flight.
- Text beyond the adapter's limit continues in a new message, cut at a line or word
  boundary with code fences closed and reopened (see `split`).
- The last edit goes out as soon as the stream is closed; it also removes the controls.
- `hold_s` (for a platform whose budget is exhausted) shows nothing until the reply
  closes or `hold_s` passes, so a short reply costs one post instead of a post and edits.

Run it next to the producer: `run()` in a task group, `push()` deltas, then `close()`.
"""

from __future__ import annotations

import asyncio
import logging

from dataclasses import dataclass

from ..errors import AdapterError
from ..model import Destination, MessageRef
from ..ports import Controls, Outbound
from .pacing import Ticket, WritePacer
from .split import Piece, split_text, take_piece

log = logging.getLogger(__name__)

CURSOR = " ▌"


@dataclass(frozen=True)
class _Write:
    """One post or edit, decided when its slot was granted."""

    text: str
    controls: Controls | None
    final: bool  # the reply's last write to this message
    piece: Piece | None = None  # set when the message is full and the text goes on in a new one


class StreamRenderer:
    def __init__(
        self,
        out: Outbound,
        where: Destination,
        *,
        pacer: WritePacer,
        placeholder: MessageRef | None = None,
        controls: Controls | None = None,
        hold_s: float | None = None,
    ) -> None:
        self._out = out
        self._caps = out.capabilities
        self._where = where
        self._pacer = pacer
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
        self._ticket: Ticket | None = None
        self._hold_until = None if hold_s is None else asyncio.get_running_loop().time() + hold_s
        self.messages: list[MessageRef] = [placeholder] if self._current is not None else []
        self.edits = 0
        self.posts = 0
        self.last_shown: tuple[MessageRef, str] | None = None  # the latest message and its text

    @property
    def text(self) -> str:
        return self._text

    @property
    def finished(self) -> bool:
        """Every write of the reply is done (the final text is shown)."""
        return self._done.is_set()

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
        if self._ticket is not None:
            self._ticket.promote()  # a write waiting now will carry the final text

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
    async def _until_closed(self, delay: float) -> None:
        """Wait `delay` seconds, cut short when the reply closes."""
        if delay > 0 and not self._closing:
            try:
                await asyncio.wait_for(self._closed.wait(), delay)
            except TimeoutError:
                pass

    async def _flush(self) -> None:
        if self._current is None and self._hold_until is not None:
            await self._until_closed(self._hold_until - asyncio.get_running_loop().time())
        if self._current is not None and self._shown:
            # Keep to the per-message interval; closing cuts the wait short.
            await self._until_closed(self._pacer.message_delay(self._current.key, self._caps.min_edit_interval))
        while True:
            ticket = self._pacer.ticket(self._out.write_pace(self._where, self._current), urgent=self._closing)
            self._ticket = ticket
            try:
                granted = await ticket.wait()
            finally:
                self._ticket = None
            if not granted:
                continue  # the route changed while we waited: ask again
            write = self._next_write()
            if write is None:
                ticket.cancel()  # nothing new to show: the slot goes back
                return
            if not await self._perform(write) or write.piece is None:
                return

    def _next_write(self) -> _Write | None:
        """What to send now, from the text as it is at this moment."""
        limit = self._caps.max_chars
        closing = self._closing
        cursor = "" if closing or not self._caps.cursor else CURSOR
        if len(self._prefix) + len(self._text) - self._start + len(cursor) > limit:
            piece = take_piece(self._prefix, self._text[self._start :], limit - len(cursor))
            return _Write(piece.text, None, final=True, piece=piece)
        body = self._prefix + self._text[self._start :]
        if not body:
            return None
        text = body if closing else body + cursor
        if text == self._shown:
            return None
        return _Write(text, None if closing else self._controls, final=closing)

    async def _perform(self, write: _Write) -> bool:
        """Send one write; False when an in-progress edit failed (the next one catches up)."""
        if self._current is None:
            self._current = await self._out.post(self._where, write.text, controls=write.controls)
            self._pacer.note(self._current.key)
            self.messages.append(self._current)
            self.posts += 1
        else:
            self._pacer.note(self._current.key)
            try:
                await self._out.edit(self._current, write.text, controls=write.controls)
            except AdapterError as exc:
                # Decided by what this edit carried, not by what happened meanwhile: only
                # a final text that cannot be shown must be reported.
                if write.final:
                    raise
                log.warning("an in-progress edit failed (%s); the next edit will catch up", exc)
                return False
            self.edits += 1
        self._shown = write.text
        self.last_shown = (self._current, write.text)
        if write.piece is not None:
            self._start += write.piece.consumed
            self._prefix = write.piece.reopen
            self._pacer.forget(self._current.key)
            self._current, self._shown = None, ""
        return True

    async def _post_whole(self) -> None:
        pace = self._out.write_pace(self._where)
        for piece in split_text(self._text, self._caps.max_chars):
            await self._pacer.take(pace)
            self.messages.append(await self._out.post(self._where, piece))
            self.posts += 1
