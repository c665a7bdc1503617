"""Validate `/codex` options (model, effort, web search) against the settings."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping

from ..config import REASONING_EFFORTS, Settings
from ..errors import UsageError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class CodexOptions:
    model: str
    effort: str
    web_search: bool


def _boolean(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{name} must be true or false, not {str(value)[:40]!r}.")


def codex_options(
    options: Mapping[str, object], settings: Settings, *, channel_model: str | None = None, channel_effort: str | None = None
) -> CodexOptions:
    """The request's own option wins, then the channel's setting (`/config`), then the bot's."""
    known = {"model", "effort", "web-search", "web_search"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"Unknown option {unknown[0]!r} for /codex. Accepted: model, effort, web-search.")
    model = str(options.get("model") or channel_model or settings.codex_model).strip()
    allowed = settings.codex_models()
    if allowed is not None and model not in allowed:
        raise UsageError(f"Unknown model {model[:60]!r}. Choose one of: {', '.join(allowed)}.")
    if not model or len(model) > 100:
        raise UsageError("The model name must be 1 to 100 characters.")
    effort = str(options.get("effort") or channel_effort or settings.codex_effort).strip().lower()
    if effort not in REASONING_EFFORTS:
        raise UsageError(f"Unknown effort {effort[:40]!r}. Choose one of: {', '.join(REASONING_EFFORTS)}.")
    raw_search = options.get("web-search", options.get("web_search", False))
    return CodexOptions(model, effort, _boolean("web-search", raw_search))
