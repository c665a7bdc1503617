"""Split Markdown into messages that fit a platform's limit without breaking code blocks.

A cut prefers a line break, then a space, and only then a hard cut. When a cut falls
inside a fenced code block, the first part closes the fence and the next reopens it with
the same info string, so each message renders on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})([^`]*)$")


def open_fence(text: str) -> str | None:
    """The opening fence line (e.g. "```python") if `text` ends inside a code block."""
    opened: str | None = None
    marker = ""
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        fence, info = match.groups()
        if opened is None:
            opened, marker = line.strip(), fence
        elif fence[0] == marker[0] and len(fence) >= len(marker) and not info.strip():
            opened = None
    return opened


def _fence_marker(opening: str) -> str:
    match = re.match(r"(`{3,}|~{3,})", opening)
    return match.group(1) if match else "```"


def cut_point(text: str, limit: int) -> int:
    """Where to cut `text` so the first part has at most `limit` characters."""
    if len(text) <= limit:
        return len(text)
    window = text[: limit + 1]
    floor = limit // 2  # never leave a message less than half full just to find a boundary
    newline = window.rfind("\n", 0, limit + 1)
    if newline >= floor:
        return newline
    space = window.rfind(" ", 0, limit + 1)
    if space >= floor:
        return space
    return limit


def _not_inside_a_fence_line(body: str, cut: int) -> int:
    """A cut inside a line must not leave a head that reads as a fence when the line doesn't,
    nor split a fence line (its info string would become code). It backs up to the line
    before when there is one; a fence line longer than a whole message is cut as it is."""
    line_start = body.rfind("\n", 0, cut) + 1
    line_end = body.find("\n", cut)
    line = body[line_start : len(body) if line_end < 0 else line_end]
    head = body[line_start:cut].rstrip()
    if head == line.rstrip() or not _FENCE.match(head):
        return cut
    if line_start > 0:
        return line_start - 1
    # With no line before: keep a real fence line's head (it is closed and reopened); a
    # line that only looks like one is cut inside its marker ("``" is no fence).
    return cut if _FENCE.match(line) else 2


def _reopen_line(opening: str, limit: int) -> str:
    """The fence line that reopens a block in the next message: its marker and language,
    never so long that the next message has no room (an info string can be any length)."""
    marker = _fence_marker(opening)
    words = opening[len(opening) - len(opening.lstrip(" ")) + len(marker) :].split()
    info = words[0] if words else ""
    return marker + info[: max(0, min(20, limit // 4 - len(marker)))]


@dataclass(frozen=True)
class Piece:
    """One message's text, and how much of the source it used."""

    text: str
    consumed: int
    reopen: str  # prefix for the next message ("" or a reopened fence line + "\n")


def take_piece(prefix: str, body: str, limit: int) -> Piece:
    """Fill one message of at most `limit` chars from `prefix + body`, closing any open fence."""
    # Room for a closing fence ("\n" + the marker) is kept in reserve; a longer marker
    # than expected shrinks the room and the cut is made again.
    room = max(limit - len(prefix) - 8, min(16, limit - len(prefix)), 1)
    while True:
        cut = max(_not_inside_a_fence_line(body, cut_point(body, room)), 1)
        text = prefix + body[:cut].rstrip()
        opening = open_fence(text)
        if opening is not None:
            text = f"{text}\n{_fence_marker(opening)}"
        if len(text) <= limit or room == 1:
            break
        room = max(1, room - (len(text) - limit))
    reopen = "" if opening is None else _reopen_line(opening, limit) + "\n"
    # Drop the one separator the cut landed on; keep any indentation after it.
    consumed = cut + 1 if cut < len(body) and body[cut] in " \n" else cut
    return Piece(text, consumed, reopen)


def split_text(text: str, limit: int) -> list[str]:
    """Split a whole text into messages of at most `limit` characters."""
    pieces: list[str] = []
    prefix = ""
    rest = text
    while len(prefix) + len(rest) > limit:
        piece = take_piece(prefix, rest, limit)
        pieces.append(piece.text)
        rest = rest[piece.consumed :]
        prefix = piece.reopen
    if rest or not pieces:
        pieces.append(prefix + rest)
    return pieces
