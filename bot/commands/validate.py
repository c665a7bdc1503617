"""Check a command's options before anything is shown, for adapters that post a visible
message of their own first (Slack's command header): a refusal then stays private.

The handlers check the same options again when they run; this only runs those checks
early, with no I/O and no platform knowledge.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config import Settings
from ..images.options import image_options
from .codex_options import codex_options


def check_options(command: str, options: Mapping[str, object], prompt: str, settings: Settings, *, references: int = 0) -> None:
    """Raise `UsageError` (naming the accepted values) when `command` would refuse these options."""
    if command == "codex":
        codex_options(options, settings)
    elif command == "image":
        image_options({k: v for k, v in options.items() if k != "ref"}, prompt, references)
