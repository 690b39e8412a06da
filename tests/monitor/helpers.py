"""Small drivers for monitor tests: probe rounds, team errors, evaluation loops (virtual time)."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

from bot.clock import FakeClock
from bot.monitor import Decision, Monitor, Outcome

KINDS = ("reachability", "auth", "videos")


def probe_round(m: Monitor, clock: FakeClock, *, failed: int | Iterable[bool] = 0,
                category: str = "server", target: str = "openai",
                kinds: tuple[str, ...] = KINDS) -> None:
    """One probe round: ``failed`` = how many of the kinds fail (or one bool per kind)."""
    flags = ([i < failed for i in range(len(kinds))] if isinstance(failed, int)
             else list(failed))
    for kind, bad in zip(kinds, flags, strict=False):
        m.observe(Outcome(target, clock(), not bad, category if bad else None, "probe",
                          kind=kind))


def team_errors(m: Monitor, clock: FakeClock, n: int, category: str = "server", *,
                target: str = "openai", source: str = "ingest",
                channels: tuple[str | None, ...] = (None,)) -> None:
    for i in range(n):
        m.observe(Outcome(target, clock(), False, category, source,
                          channel_key=channels[i % len(channels)]))


def run(m: Monitor, clock: FakeClock, seconds: float, *, every: float = 5.0,
        probe_every: float | None = None, failed: int = 0,
        category: str = "server") -> list[Decision]:
    """Advance ``seconds`` of virtual time evaluating every ``every`` s, probing if asked."""
    out: list[Decision] = []
    t = 0.0
    next_probe = 0.0
    while t < seconds:
        if probe_every is not None and t >= next_probe:
            probe_round(m, clock, failed=failed, category=category)
            next_probe += probe_every
        out += m.evaluate()
        clock.advance(every)
        t += every
    return out


def row(key: str, *, kind: str | None = None, severity: str = "error", opened_at=None,
        updated_at=None, official_update_at: str | None = None,
        target: str | None = None) -> SimpleNamespace:
    """What Store.open_incidents() returns, as far as Monitor.restore reads it."""
    return SimpleNamespace(key=key, kind=kind or key.split(":", 1)[0], target=target,
                           severity=severity, opened_at=opened_at, updated_at=updated_at,
                           official_update_at=official_update_at, state="open")


def summary(decisions: Iterable[Decision]) -> list[tuple[str, str, str]]:
    return [(d.action, d.key, d.reason) for d in decisions]
