"""Validate what a user asked for with /image, before anything is sent or spent.

Options arrive as raw strings from any adapter (typed flags, Discord choices, Slack
text). The accepted values are KIE's: GPT Image 1.5 takes `aspect_ratio` 1:1, 2:3 or
3:2 and `quality` medium or high; the 4o Image API takes the same three `size` values
and has no quality setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError

Engine = Literal["gpt-image-1.5", "4o"]

RATIOS = ("1:1", "2:3", "3:2")
QUALITIES = ("medium", "high")
ENGINE_ALIASES: dict[str, Engine] = {
    "gpt-image-1.5": "gpt-image-1.5",
    "gpt-image": "gpt-image-1.5",
    "gpt": "gpt-image-1.5",
    "1.5": "gpt-image-1.5",
    "4o": "4o",
    "gpt-4o": "4o",
    "4o-image": "4o",
}
DEFAULT_ENGINE: Engine = "gpt-image-1.5"
DEFAULT_RATIO = "1:1"
DEFAULT_QUALITY = "medium"
MAX_PROMPT_CHARS = 4000
# KIE allows 16 references for GPT Image 1.5 and 5 for 4o; "a few" is the smaller.
MAX_REFERENCES = 5
KNOWN = {"ratio", "quality", "engine"}


@dataclass(frozen=True)
class ImageOptions:
    engine: Engine
    ratio: str
    quality: str | None  # None for 4o, which has no quality setting


def _value(options: Mapping[str, object], name: str) -> str | None:
    raw = options.get(name)
    if raw is None or raw == "":
        return None
    return str(raw).strip().lower()


def image_options(options: Mapping[str, object], prompt: str, references: int) -> ImageOptions:
    """Check options, prompt and the number of references; raise `UsageError` on anything wrong."""
    unknown = sorted(set(options) - KNOWN)
    if unknown:
        name = unknown[0]
        hint = " Reference images are attachments." if name in ("ref", "reference") else ""
        raise UsageError(f"Unknown option {name!r} for /image. Accepted: ratio, quality, engine.{hint}")

    engine_name = _value(options, "engine") or DEFAULT_ENGINE
    engine = ENGINE_ALIASES.get(engine_name)
    if engine is None:
        raise UsageError(f"Unknown engine {engine_name[:40]!r}. Choose gpt-image-1.5 (the default) or 4o.")

    ratio = _value(options, "ratio") or DEFAULT_RATIO
    if ratio not in RATIOS:
        raise UsageError(f"Unknown aspect ratio {ratio[:40]!r}. Choose one of: {', '.join(RATIOS)}.")

    quality = _value(options, "quality")
    if engine == "4o":
        if quality is not None:
            raise UsageError("The 4o engine has no quality setting; leave out --quality or use gpt-image-1.5.")
    else:
        quality = quality or DEFAULT_QUALITY
        if quality not in QUALITIES:
            raise UsageError(f"Unknown quality {quality[:40]!r}. Choose one of: {', '.join(QUALITIES)}.")

    text = prompt.strip()
    if not text:
        raise UsageError("Describe the image after /image, for example: /image a red fox in the snow, watercolour")
    if len(text) > MAX_PROMPT_CHARS:
        raise UsageError(f"That prompt is {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,}.")
    if references > MAX_REFERENCES:
        raise UsageError(f"Attach at most {MAX_REFERENCES} reference images (you attached {references}).")
    return ImageOptions(engine=engine, ratio=ratio, quality=quality)
