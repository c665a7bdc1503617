"""An incremental Server-Sent Events parser that follows the WHATWG EventSource rules.

Feed it bytes in chunks of any size (a chunk may end inside a line, inside a CRLF pair,
or inside a multi-byte UTF-8 character); it returns the events each chunk completes.
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

The work is linear in the input: a chunk without a line ending is only put aside, and an
unfinished line is joined once, when its end arrives. A line, or an event's data, longer
than `max_event_chars` raises `SSEEventTooLarge`, so a stream cannot make us hold more.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

_LINE_END = re.compile(r"\r\n|\r|\n")

MAX_EVENT_CHARS = 16 * 1024 * 1024  # far above any real Codex event, far below trouble


class SSEEventTooLarge(ValueError):
    """A line or an event's data grew past the parser's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an SSE line or event is longer than {limit:,} characters")
        self.limit = limit


class SSEEvent(NamedTuple):  # immutable like a frozen dataclass, at half the cost per event
    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEParser:
    def __init__(self, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        # "replace" mirrors the spec's UTF-8 decode: a broken byte never aborts the stream.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max = max_event_chars
        self._partial: list[str] = []  # pieces of the line not yet ended
        self._partial_len = 0
        self._skip_lf = False  # the last chunk ended with CR; a leading LF belongs to it
        self._first = True
        self._event = ""
        self._data: list[str] = []
        self._data_len = 0
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        return self._last_id

    @property
    def retry(self) -> int | None:
        return self._retry

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._first:
            self._first = False
            text = text.removeprefix("\ufeff")
        if self._skip_lf:
            self._skip_lf = False
            text = text.removeprefix("\n")
        has_cr = "\r" in text
        if not has_cr and "\n" not in text:
            self._hold(text)
            return []
        if self._partial:
            self._partial.append(text)
            text = "".join(self._partial)
            self._partial, self._partial_len = [], 0
        # Most servers end lines with LF only; str.split is several times faster than the
        # regex, which is needed only when a CR is present.
        lines = _LINE_END.split(text) if has_cr else text.split("\n")
        rest = lines.pop()
        if rest:
            self._hold(rest)
        elif has_cr and text[-1] == "\r":
            # A CR that ends the chunk may be the first half of a CRLF split across chunks.
            self._skip_lf = True
        if len(text) > self._max and any(len(line) > self._max for line in lines):
            raise SSEEventTooLarge(self._max)
        return self._lines(lines)

    def _hold(self, text: str) -> None:
        self._partial_len += len(text)
        if self._partial_len > self._max:
            raise SSEEventTooLarge(self._max)
        self._partial.append(text)

    def _lines(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(SSEEvent(self._event or "message", "\n".join(data), self._last_id, self._retry))
                    data = self._data = []
                    self._data_len = 0
                self._event = ""
                continue
            # The common fields first, without the generic parse below.
            if line.startswith("data: "):
                value = line[6:]
            elif line.startswith("event: "):
                self._event = line[7:]
                continue
            elif line[0] == ":":
                continue
            else:
                name, colon, value = line.partition(":")
                if colon and value.startswith(" "):
                    value = value[1:]
                if name != "data":
                    self._field(name, value)
                    continue
            self._data_len += len(value)
            if self._data_len > self._max:
                raise SSEEventTooLarge(self._max)
            data.append(value)
        return events

    def _field(self, name: str, value: str) -> None:
        if name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
