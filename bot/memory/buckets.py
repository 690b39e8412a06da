"""Time buckets and rolling windows: the precomputed counts team memory answers from.

Why buckets: ``/sora top 7d`` and the status sparkline must cost about as much as a status read
however many events a team has, so nothing on a read path scans events. Every event adds one to
a few counters instead:

* **bucket counts** per (team, kind, span, bucket start) for the spans below, and per (team,
  ``*``) for the team as a whole — what sparklines are drawn from, and what survives when old
  events are pruned;
* **window counts** per (team, window, kind): the events of the kind inside the rolling window,
  kept current by *rolling*: when the window's low edge moves past a bucket, that bucket's count
  is subtracted (the kinds that had events in it, nothing else). ``top`` is then one ordered
  index read.

Windows move in whole buckets of their ``roll`` span (the 1 h window by the minute, the 24 h and
7 d windows by the hour), so a count covers exactly ``seconds / roll`` buckets, the current,
still filling one included.

All times are integer epoch seconds (UTC) in the store: exact, cheap to index, no time zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType


@dataclass(frozen=True)
class Span:
    """A bucket size; ``keep_s`` is how long its buckets are kept (None: for ever)."""

    name: str
    seconds: int
    keep_s: int | None


@dataclass(frozen=True)
class Window:
    """A ``top`` window: how far back it counts, which span it rolls by, and how its
    sparkline is drawn (``bins`` characters, each summing ``spark`` buckets)."""

    name: str
    seconds: int
    roll: str
    spark: str
    bins: int


DAY = 86_400
SPANS: MappingProxyType[str, Span] = MappingProxyType({
    # minutes: the 1 h window and the status sparkline; rolled out well before they go
    "m": Span("m", 60, 2 * DAY),
    # hours: the 24 h and 7 d windows roll by them, so they outlive the longest window
    "h": Span("h", 3600, 8 * DAY),
    # quarter days: the 7 d sparkline, and the long-term history of every kind (kept)
    "q": Span("q", 21_600, None),
})
WINDOWS: MappingProxyType[str, Window] = MappingProxyType({
    "1h": Window("1h", 3600, roll="m", spark="m", bins=12),
    "24h": Window("24h", DAY, roll="h", spark="h", bins=24),
    "7d": Window("7d", 7 * DAY, roll="h", spark="q", bins=28),
})
DEFAULT_WINDOW = "24h"
# The status view's team error rate: 15 one-minute bins.
TREND = Window("15m", 900, roll="m", spark="m", bins=15)
TEAM_TOTAL = "*"  # the bucket "kind" that counts every kind of a team (fingerprints are fp_…)


def _validate() -> None:
    """Windows must tile into whole buckets, or counts and sparklines would not add up."""
    for w in (*WINDOWS.values(), TREND):
        roll, spark = SPANS[w.roll], SPANS[w.spark]
        if w.seconds % roll.seconds or w.seconds % w.bins or (w.seconds // w.bins) % spark.seconds:
            raise ValueError(f"window {w.name} does not tile into {w.roll}/{w.spark} buckets")
        for span in (roll, spark):
            if span.keep_s is not None and span.keep_s <= w.seconds:
                raise ValueError(f"span {span.name} is kept for less than window {w.name}")


_validate()


def epoch(at: datetime) -> int:
    """Whole seconds since the epoch (naive datetimes are UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def bucket_start(at: int, span: str) -> int:
    size = SPANS[span].seconds
    return at - at % size


def window_low(now: int, window: Window) -> int:
    """The oldest bucket start the window counts at ``now`` (the current bucket included)."""
    size = SPANS[window.roll].seconds
    return bucket_start(now, window.roll) + size - window.seconds


def spark_range(now: int, window: Window) -> tuple[int, int]:
    """[start, end) of the sparkline: ``bins`` equal bins ending with the current bucket."""
    end = bucket_start(now, window.spark) + SPANS[window.spark].seconds
    return end - window.seconds, end


def binned(counts: dict[int, int], now: int, window: Window) -> list[int]:
    """Bucket counts (start → n, of the window's spark span) → ``window.bins`` totals."""
    start, end = spark_range(now, window)
    width = window.seconds // window.bins
    out = [0] * window.bins
    for at, n in counts.items():
        if start <= at < end:
            out[(at - start) // width] += n
    return out


def parse_window(text: str) -> Window | None:
    """``1h`` / ``24h`` / ``7d`` (also ``1d``, ``24``, ``week``…) → the window, or None."""
    word = text.strip().lower()
    aliases = {"": DEFAULT_WINDOW, "hour": "1h", "60m": "1h", "1d": "24h", "24": "24h",
               "day": "24h", "week": "7d", "1w": "7d", "168h": "7d"}
    return WINDOWS.get(aliases.get(word, word))


__all__ = ["DAY", "DEFAULT_WINDOW", "SPANS", "Span", "TEAM_TOTAL", "TREND", "WINDOWS", "Window",
           "binned", "bucket_start", "epoch", "from_epoch", "parse_window", "spark_range",
           "window_low"]
