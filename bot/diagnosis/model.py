"""The Diagnosis result (Contract 1). ``to_dict`` gives exactly the contract's JSON fields."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

CATEGORIES: tuple[str, ...] = (
    "auth", "permission", "not_found", "bad_request", "content_policy", "risk_control",
    "rate_limit", "quota", "server", "network", "unknown",
)
PROVIDERS: tuple[str, ...] = ("openai", "azure", "gateway", "unknown")
VERDICTS: tuple[str, ...] = ("provider", "account", "request", "network", "unknown")

CONTRACT_FIELDS: tuple[str, ...] = (
    "category", "retryable", "http_status", "error_type", "error_code", "message", "param",
    "provider", "summary", "causes", "actions", "retry_after_s", "fingerprint", "redacted",
    "verdict",
)


@dataclass(frozen=True)
class Cause:
    id: str
    title: str
    likelihood: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "likelihood": round(self.likelihood, 3),
                "why": self.why}


@dataclass(frozen=True)
class Diagnosis:
    category: str
    retryable: bool | None
    http_status: int | None
    error_type: str | None
    error_code: str | None
    message: str | None
    param: str | None
    provider: str
    summary: str
    causes: tuple[Cause, ...]
    actions: tuple[str, ...]
    retry_after_s: float | None
    fingerprint: str
    redacted: str
    verdict: str | None = None
    # Not part of the contract JSON (``to_dict`` leaves them out); shown in chat.
    request_id: str | None = field(default=None, compare=False)
    verdict_reason: str | None = field(default=None, compare=False)
    # Calibrated probability (0..1) that ``category`` is right: of the diagnoses made with a
    # given confidence, about that share is right on real pastes.
    confidence: float = field(default=0.0, compare=False)
    # The one missing piece of evidence to capture next (the response body, the status code,
    # the request id), or None when the paste already shows what the diagnosis needs.
    ask: str | None = field(default=None, compare=False)
    # The knowledge rule that supplied the wording (None for ``unknown``).
    rule_id: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in CONTRACT_FIELDS:
            value = getattr(self, name)
            if name == "causes":
                value = [c.to_dict() for c in value]
            elif name == "actions":
                value = list(value)
            out[name] = value
        return out

    def evolve(self, **changes: Any) -> Diagnosis:
        return replace(self, **changes)

    @classmethod
    def make(cls, **values: Any) -> Diagnosis:
        """The same object as ``Diagnosis(**values)`` (every field given), built without the
        frozen dataclass's one ``object.__setattr__`` per field: the engine's hot path."""
        if values.keys() != _FIELD_NAMES:
            raise TypeError(f"Diagnosis.make needs exactly the fields {sorted(_FIELD_NAMES)}")
        obj = object.__new__(cls)
        obj.__dict__.update(values)
        return obj

    @classmethod
    def from_fields(cls, values: dict[str, Any]) -> Diagnosis:
        """``make`` without the check: ``values`` (every field, in field order) becomes the
        object's ``__dict__`` as it is. For the engine, whose one call site gives every field
        (a test checks it); everything else should use ``make`` or the constructor."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        return obj


_FIELD_NAMES = frozenset(f.name for f in fields(Diagnosis))

__all__ = ["CATEGORIES", "PROVIDERS", "VERDICTS", "CONTRACT_FIELDS", "Cause", "Diagnosis", "asdict"]
