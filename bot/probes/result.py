"""ProbeResult: one diagnosed observation of one API target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

KINDS: tuple[str, ...] = ("reachability", "auth", "videos", "generate")
DEFAULT_KINDS: tuple[str, ...] = ("reachability", "auth", "videos")
CONTRACT_FIELDS: tuple[str, ...] = ("target", "kind", "ok", "http_status", "latency_ms",
                                    "category", "at")


def iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def contract_dict(probe: Any) -> dict[str, Any]:
    """The Contract-3 probe object of anything with the probe fields (a result, a stored row)."""
    return {"target": probe.target, "kind": probe.kind, "ok": probe.ok,
            "http_status": probe.http_status,
            "latency_ms": None if probe.latency_ms is None else round(probe.latency_ms, 1),
            "category": probe.category, "at": iso_utc(probe.at)}


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw. ``category`` is the Contract-1 category of the failure (None if ok).

    ``detail`` is short, redacted text for people (never a key). ``skipped`` results (no key,
    generation off, budget spent) say why a probe did not run; ``Prober.run`` leaves them out
    unless asked, so they never count as health evidence either way.
    """

    target: str
    kind: str
    ok: bool
    http_status: int | None
    latency_ms: float | None
    category: str | None
    error_code: str | None
    request_id: str | None
    detail: str
    at: datetime
    retry_after_s: float | None = None
    skipped: bool = False
    # Why it failed in one word (bot.connectivity.FAILURES): 'dns', 'refused', ... 'http'.
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Contract-3 probe object."""
        return contract_dict(self)

    def to_record(self) -> dict[str, Any]:
        """Keyword arguments for ``Store.add_probe_result``."""
        return {"target": self.target, "kind": self.kind, "ok": self.ok,
                "http_status": self.http_status, "latency_ms": self.latency_ms,
                "category": self.category, "error_code": self.error_code,
                "request_id": self.request_id, "detail": self.detail, "at": self.at}
