"""Parse a typed command line (`/codex --effort high PROMPT`) into a command, options and a prompt.

The console and Slack both take commands as text; this one parser gives them the same
syntax. Flags come first; `--` ends them; the rest is the prompt.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Flag:
    name: str
    takes_value: bool = True
    repeatable: bool = False
    help: str = ""


FLAGS: dict[str, tuple[Flag, ...]] = {
    "codex": (
        Flag("model", help="a model name"),
        Flag("effort", help="minimal, low, medium, high or xhigh"),
        Flag("web-search", takes_value=False, help="let the model search the web"),
    ),
    "image": (
        Flag("ratio", help="1:1, 2:3 or 3:2"),
        Flag("quality", help="medium or high"),
        Flag("engine", help="gpt-image-1.5 or 4o"),
        Flag("ref", repeatable=True, help="a reference image (path or URL)"),
    ),
}


def usage(command: str) -> str:
    flags = " ".join(
        f"[--{f.name}{'' if not f.takes_value else ' ' + f.name.upper()}]{'...' if f.repeatable else ''}"
        for f in FLAGS[command]
    )
    return f"/{command} {flags} PROMPT"


def parse_flags(command: str, text: str) -> tuple[dict[str, object], str]:
    """Split `text` (what follows `/command`) into options and the prompt.

    Raises `UsageError` naming the bad flag and what is accepted.
    """
    specs = {f.name: f for f in FLAGS[command]}
    options: dict[str, object] = {}
    rest = text.strip()
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        if word == "--":
            rest = after.lstrip()
            break
        name, eq, inline = word[2:].partition("=")
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(f"--{n}" for n in specs)
            raise UsageError(f"Unknown option --{name} for /{command}. Accepted: {known}. Usage: {usage(command)}")
        if not spec.takes_value:
            if eq:
                raise UsageError(f"--{name} takes no value. Usage: {usage(command)}")
            options[spec.name] = True
            rest = after.lstrip()
            continue
        if eq:
            value, rest = inline, after.lstrip()
        else:
            value, rest = _take_value(after.lstrip(), name, command)
        if not value:
            raise UsageError(f"--{name} needs a value ({spec.help}). Usage: {usage(command)}")
        if spec.repeatable:
            options.setdefault(spec.name, [])
            options[spec.name].append(value)  # type: ignore[union-attr]
        elif spec.name in options:
            raise UsageError(f"--{name} was given twice. Usage: {usage(command)}")
        else:
            options[spec.name] = value
    return options, rest.strip()


def _take_value(text: str, name: str, command: str) -> tuple[str, str]:
    """The next word, or a quoted string (for paths with spaces)."""
    if text[:1] in ("'", '"'):
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        try:
            value = next(iter(lexer))
        except (ValueError, StopIteration):
            raise UsageError(f"--{name} has an unclosed quote. Usage: {usage(command)}") from None
        return value, lexer.instream.read().lstrip()
    value, _, rest = text.partition(" ")
    return value, rest.lstrip()
