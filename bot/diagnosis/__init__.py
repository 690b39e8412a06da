"""Diagnosis engine: extract → classify → explain, plus redaction and fingerprints.

Pure Python, no I/O. ``diagnose(text)`` never raises. Live evidence is optional: pass an
``Evidence`` (``bot.evidence``) to fill ``verdict`` and re-rank causes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.diagnosis.detect import looks_like_error
from bot.diagnosis.engine import diagnose_text
from bot.diagnosis.model import CATEGORIES, Cause, Diagnosis

if TYPE_CHECKING:
    from bot.evidence import Evidence


def diagnose(text: str, evidence: Evidence | None = None) -> Diagnosis:
    """Diagnose any pasted text; with ``evidence`` also decide "is it me or them"."""
    result = diagnose_text(text)
    if evidence is not None:
        from bot.evidence import apply_evidence

        result = apply_evidence(result, evidence)
    return result


__all__ = ["diagnose", "looks_like_error", "Diagnosis", "Cause", "CATEGORIES"]
