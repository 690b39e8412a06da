"""Counts → a unicode sparkline (``▁▁▃█▅``), the same characters on every surface.

A bin with no events is the lowest bar; any bin with events is at least one step up, so a
single error in a quiet hour stays visible next to a burst of hundreds.
"""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    top = max(counts, default=0)
    if top <= 0:
        return BARS[0] * len(counts)
    steps = len(BARS) - 1
    return "".join(BARS[0] if n <= 0 else BARS[max(1, round(n * steps / top))] for n in counts)


__all__ = ["BARS", "sparkline"]
