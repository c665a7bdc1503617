"""What things cost, in one place, for when KIE does not say.

KIE reports the real cost most of the time (`credits_consumed` on a finished Codex reply,
`creditsConsumed` on an image callback), and that figure always wins. These tables serve
the rest: the price reserved before an image is created (settled to KIE's figure later),
an image whose cost KIE never reported, and a reply cut short before KIE reported one.

Amounts are in millicredits (thousandths of a credit), so sums stay exact.
Check https://kie.ai/pricing when KIE changes its prices.
"""

from __future__ import annotations

from dataclasses import dataclass

MILLI = 1000

# Per image, by engine and quality (4o has no quality setting).
IMAGE_PRICES: dict[tuple[str, str | None], int] = {
    ("gpt-image-1.5", "medium"): 8 * MILLI,
    ("gpt-image-1.5", "high"): 32 * MILLI,
    ("4o", None): 6 * MILLI,
}
# An engine missing above (a new one) is reserved at the dearest known price.
UNKNOWN_IMAGE_PRICE = max(IMAGE_PRICES.values())


@dataclass(frozen=True)
class TokenPrice:
    """Millicredits per million tokens. Reasoning tokens are billed as output."""

    input: int
    cached: int
    output: int


# Fitted to KIE's documented example (4,427 input tokens of which 3,584 cached, 137 output
# tokens -> 0.49 credits), in the ratios of OpenAI's published Codex prices.
_CODEX = TokenPrice(input=212_500, cached=21_250, output=1_700_000)
CODEX_PRICES: dict[str, TokenPrice] = {
    "gpt-5-codex": _CODEX,
    "gpt-5.1-codex": _CODEX,
    "gpt-5.2-codex": _CODEX,
    "gpt-5.3-codex": _CODEX,
}
# Roughly four characters per token: only for replies cut short before KIE counted them.
CHARS_PER_TOKEN = 4


def image_price(engine: str, quality: str | None) -> int:
    return IMAGE_PRICES.get((engine, quality), UNKNOWN_IMAGE_PRICE)


def reply_cost(model: str, *, input_tokens: int, cached_tokens: int, output_tokens: int) -> int | None:
    """The cost of a reply from its tokens, or None for a model without a known price."""
    price = CODEX_PRICES.get(model)
    if price is None:
        return None
    uncached = max(input_tokens - cached_tokens, 0)
    total = uncached * price.input + cached_tokens * price.cached + output_tokens * price.output
    return round(total / 1_000_000)


def output_tokens_for(model: str, millicredits: int) -> int | None:
    """How many output tokens `millicredits` buys, or None without a known price."""
    price = CODEX_PRICES.get(model)
    if price is None:
        return None
    return millicredits * 1_000_000 // price.output


def tokens_in(text_length: int) -> int:
    return -(-text_length // CHARS_PER_TOKEN)  # rounded up


def credits_text(millicredits: int) -> str:
    """0.49, 8, 1,234.5: as few decimals as the amount needs."""
    text = f"{millicredits / MILLI:,.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
