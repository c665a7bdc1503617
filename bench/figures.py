"""Shared helpers for the benches: percentiles as the closing notes report them."""

from __future__ import annotations

import math


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank): p99 of 20 values is the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def spread(values: list[float], unit: str = "s") -> str:
    if not values:
        return "n/a"
    return f"p50 {pct(values, 50):.2f}{unit}, p99 {pct(values, 99):.2f}{unit}, max {max(values):.2f}{unit}"
