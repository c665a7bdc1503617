"""The renderer for platforms that stream natively (Slack `chat.startStream`).

Same interface as `StreamRenderer` (`run()`, `push()`, `close(suffix)`, `text`,
`messages`, `wait()`), but the platform grows the message itself, so only new text is
sent:

- The message starts with the first text; after that, pending text is appended on a
  clock (`capabilities.stream_interval`), whatever its length, so slow streams never
  stall behind a size buffer; each call draws on the budget the adapter names for it
  (`stream_pace`), and the text of an append is taken when its slot is granted.
- A message never passes `max_chars`: before it would, the stream stops at a line or
  word boundary (never before text already shown), an open code fence is closed, and
  the rest continues in a new message with the fence reopened.
- The final text goes out with the stop call as soon as the reply closes.
- When the platform refuses a stream call (`StreamRefused`), the renderer hands the
  current message to a `StreamRenderer`: it edits the stream's own message (or posts a
  new one if none was started) with the full text so far, and carries on with edits.
  Nothing the platform refused was shown, and nothing shown is sent twice.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import StreamRefused
from ..model import Destination, MessageRef
from ..ports import Controls, NativeStream, NativeStreaming, Outbound
from .pacing import Reservation, WritePacer
from .split import cut_point, open_fence
from .stream import StreamRenderer

log = logging.getLogger(__name__)

FENCE_RESERVE = 8  # room kept for closing a code fence ("\n" + the fence marker)


def _fence_marker(opening: str) -> str:
    """The run of backticks or tildes that opened a fence ("```python" -> "```")."""
    return opening[: len(opening) - len(opening.lstrip(opening[0]))]


def _unfinished_fence_line(body: str, sent: int) -> str:
    """The unsent end of `body` that may still become a fence line ("``" before its third
    backtick, "```" before its language). A streamed message cannot take text back, so it
    is held until its line ends: a message cut there would otherwise close a code block
    that never opened, or lose the block's language."""
    line = body[body.rfind("\n") + 1 :]
    if len(body) - len(line) < sent or not line.lstrip(" ").startswith(("`", "~")):
        return ""
    return line


class NativeRenderer:
    def __init__(
        self,
        out: Outbound,
        where: Destination,
        *,
        pacer: WritePacer,
        controls: Controls | None = None,
        recipient: str | None = None,
        reserved: dict[str, Reservation] | None = None,
    ) -> None:
        if not isinstance(out, NativeStreaming):
            raise TypeError("NativeRenderer needs an Outbound that implements NativeStreaming")
        self._out = out
        self._caps = out.capabilities
        self._where = where
        self._pacer = pacer
        # Slots held for the first start and stop calls, so a stream that began is never
        # left open waiting for the budget of its stop (see `make_renderer`).
        self._reserved: dict[str, Reservation] = dict(reserved or {})
        self._controls = controls
        self._controls_shown = False
        self._recipient = recipient
        self._text = ""
        self._start = 0  # where the current message begins in `_text`
        self._prefix = ""  # a code fence reopened at the top of the current message
        self._stream: NativeStream | None = None
        self._sent = 0  # characters of the current message's body the platform has shown
        self._fallback: StreamRenderer | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()
        self._done = asyncio.Event()
        self._native_messages: list[MessageRef] = []
        self.starts = 0
        self.appends = 0
        self.stops = 0
        self.refusal: StreamRefused | None = None

    @property
    def text(self) -> str:
        return self._text

    @property
    def messages(self) -> list[MessageRef]:
        refs = list(self._native_messages)
        if self._fallback is not None:
            refs.extend(ref for ref in self._fallback.messages if ref not in refs)
        return refs

    @property
    def fell_back(self) -> bool:
        return self._fallback is not None

    def push(self, delta: str) -> None:
        if self._closing:
            raise RuntimeError("push() after close()")
        if not delta:
            return
        self._text += delta
        if self._fallback is not None:
            self._fallback.push(delta)
        else:
            self._wake.set()

    def close(self, suffix: str = "") -> None:
        """No more deltas. `suffix` (notes, footer) is appended to the final text."""
        self._text += suffix
        self._closing = True
        self._closed.set()
        if self._fallback is not None:
            self._fallback.close(suffix)
        else:
            self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                try:
                    await self._flush()
                except StreamRefused as refusal:
                    await self._fall_back(refusal)
                    return
                if self._closing and not self._wake.is_set():
                    return
        finally:
            for reservation in self._reserved.values():
                reservation.release()
            self._reserved.clear()
            for ref in self._native_messages:
                self._pacer.forget(ref.key)
            self._done.set()

    async def wait(self) -> None:
        await self._done.wait()

    # -- internals -----------------------------------------------------------------
    def _body(self) -> str:
        return self._prefix + self._text[self._start :]

    async def _flush(self) -> None:
        if self._stream is not None and not self._closing:
            await self._append_turn(self._stream.ref.key)
        room = max(self._caps.max_chars - FENCE_RESERVE, 16)
        body = self._body()
        while len(body) > room:
            await self._finish_message(body, room)
            body = self._body()
        pending = body[self._sent :]
        if self._closing:
            if self._stream is not None or pending:
                await self._send(pending, final=True)
        else:
            pending = pending[: len(pending) - len(_unfinished_fence_line(body, self._sent))]
            if pending:
                await self._send(pending, final=False)

    async def _append_turn(self, key: str) -> None:
        """Wait for this stream's next append slot; deltas that arrive meanwhile join it.

        Closing ends the wait at once: the last text goes with the stop call, a
        different method that does not draw on the append budget, so it need not queue
        behind other streams' appends. An abandoned wait books nothing.
        """
        delay = self._pacer.message_delay(key, self._caps.stream_interval)
        if delay > 0:
            try:
                await asyncio.wait_for(self._closed.wait(), delay)
            except TimeoutError:
                pass
        if self._closing:
            return
        booking = asyncio.ensure_future(self._pacer.take(self._out.stream_pace(self._where, "append"), key))
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({booking, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (booking, closed):
                waiter.cancel()
            await asyncio.gather(booking, closed, return_exceptions=True)

    async def _finish_message(self, body: str, room: int) -> None:
        """End the current message at a good boundary and set up the next one."""
        # Never cut before what the platform already shows: it cannot be taken back.
        cut = max(cut_point(body, room), self._sent, len(self._prefix))
        piece = body[:cut]
        opening = open_fence(piece)
        closer = "" if opening is None else "\n" + _fence_marker(opening)
        await self._send(piece[self._sent :] + closer, final=True)
        consumed = cut - len(self._prefix)
        if cut < len(body) and body[cut] in " \n":
            consumed += 1  # the separator the cut landed on
        self._start += consumed
        self._prefix = opening + "\n" if opening is not None else ""
        self._stream, self._sent = None, 0

    async def _send(self, text: str, *, final: bool) -> None:
        """Show `text` after what the current message shows; `final` ends the message."""
        if self._stream is None:
            controls = None
            if not final and not self._controls_shown:
                controls = self._controls
            await self._take("start")
            self._stream = await self._out.start_stream(
                self._where, controls=controls, text=text, recipient=self._recipient
            )
            self._controls_shown = self._controls_shown or controls is not None
            self._pacer.note(self._stream.ref.key)  # the append interval starts here
            self._native_messages.append(self._stream.ref)
            self.starts += 1
            self._sent = len(text)
            if final:
                await self._take("stop")
                await self._stream.stop()
                self.stops += 1
                self._stream = None
            return
        if final:
            await self._take("stop")
            await self._stream.stop(text=text)
            self.stops += 1
            # The message is finished: nothing may be sent to this stream again.
            self._stream, self._sent = None, self._sent + len(text)
            return
        await self._stream.append(text)
        self.appends += 1
        self._sent += len(text)

    async def _take(self, call: str) -> None:
        """A slot for a start or stop call: the one held for it, else wait for one."""
        pace = self._out.stream_pace(self._where, call)
        reservation = self._reserved.pop(call, None)
        if reservation is not None:
            reservation.use()
            await self._pacer.count_shared(pace)  # other processes (Redis) count it too
            return
        await self._pacer.take(pace)

    async def _fall_back(self, refusal: StreamRefused) -> None:
        """Carry on with post-and-edit from the message the platform refused to stream."""
        self.refusal = refusal
        placeholder = self._stream.ref if self._stream is not None else None
        log.info("native stream refused (%s); continuing with edits", refusal.code)
        fallback = StreamRenderer(
            self._out, self._where, pacer=self._pacer, placeholder=placeholder, controls=self._controls
        )
        # No await between reading the body and installing the fallback: every later
        # delta goes to the fallback, every earlier one is in the body.
        fallback.push(self._body())
        self._fallback = fallback
        if self._closing:
            fallback.close()
        await fallback.run()
