"""Escaping for text Slack reads as mrkdwn.

Model output and user text are sent as Markdown (`markdown_text`, markdown blocks) where
possible. Whatever goes out as mrkdwn instead (`text` fallbacks, the visible command
message, ephemeral answers) passes through `escape`, so `<!channel>`, `<!here>`,
`<!everyone>`, `<@U…>` and `<url|label>` written by a model or a user stay plain text.
Slack's control characters are exactly `&`, `<` and `>`.
"""

from __future__ import annotations

import re

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CONTROL = re.compile(r"[&<>]")


def escape(text: str) -> str:
    return _CONTROL.sub(lambda m: _ESCAPES[m.group()], text)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def _plain_link(match: re.Match) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123|general>
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@team>
        return label or "@" + target[1:].split("^")[0]
    return target  # a URL: the model wants the address, not the label


def to_plain(text: str) -> str:
    """What a person typed, from Slack's wire form: links and mentions resolved to
    readable text, then `&amp; &lt; &gt;` unescaped (Slack escapes them in user text)."""
    text = _LINK.sub(_plain_link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
