"""Model output must not notify anyone on Slack.

Slack turns `<!channel>`, `<!here>`, `<!everyone>`, `<@U…>` and `<!subteam^…>` into
mentions wherever it reads text, `markdown_text` and `markdown` blocks included. They
are rewritten into readable text that notifies no one: `@channel`, `@name` with a
zero-width space after the `@`, so neither Slack's mention syntax nor its plain-word
`@here` / `@channel` matching applies. Any other `<!…>` control sequence gets the same
zero-width space after its `<`, which Slack no longer reads as syntax.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"

_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>", re.IGNORECASE)
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>")
_OTHER = re.compile(r"<(?=[!@])")
_PLAIN = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# A stream append that ends inside something that may become a mention is held back
# until the next append completes it (at most this many characters).
_OPEN_TAIL = re.compile(r"(?:<[^>\s]{0,80}|@\w{0,10})$")


def neutralise(text: str) -> str:
    text = _SPECIAL.sub(lambda m: f"@{ZWSP}{m.group(1).lower()}", text)
    text = _USER.sub(lambda m: f"@{ZWSP}{m.group(2) or m.group(1)}", text)
    text = _GROUP.sub(lambda m: f"@{ZWSP}{m.group(2) or m.group(1)}", text)
    text = _OTHER.sub("<" + ZWSP, text)
    return _PLAIN.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)


class StreamNeutraliser:
    """Neutralises a stream sent in pieces: a piece ending in the middle of something that
    may become a mention (`<!chan`, `@he`) keeps that tail until the next piece."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        match = _OPEN_TAIL.search(text)
        cut = match.start() if match is not None else len(text)
        self._held = text[cut:]
        return neutralise(text[:cut])

    def flush(self, text: str = "") -> str:
        text, self._held = self._held + text, ""
        return neutralise(text)
