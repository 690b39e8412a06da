"""Our own corpus of realistic pastes (tests/diagnosis/corpus.jsonl), every form people paste.

Each line: text, expected category / retryable / http_status, the form of the paste (raw JSON,
SDK line, repr, traceback, Node, gateway, HTML, Azure …) and a note. Entries noted "held-out"
were written after the rules and run once blind before any rule change (18/20 then).
"""

from __future__ import annotations

from collections import Counter

import pytest

from bot.diagnosis import CATEGORIES, diagnose
from tests.diagnosis.conftest import CORPUS, load_jsonl

CASES = load_jsonl(CORPUS)


def test_corpus_is_large_and_covers_every_category_in_several_forms() -> None:
    assert len(CASES) >= 110
    per_category = Counter(c["category"] for c in CASES)
    assert set(per_category) == set(CATEGORIES)
    assert min(per_category.values()) >= 8
    for category in CATEGORIES:
        forms = {c["form"] for c in CASES if c["category"] == category}
        assert len(forms) >= 4, (category, forms)


def _id(case: dict) -> str:
    return f'{case["category"]}-{case["form"]}-{abs(hash(case["text"])) % 10_000}'


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_corpus_paste_classified_as_expected(case: dict) -> None:
    d = diagnose(case["text"])
    got = (d.category, d.retryable, d.http_status)
    assert got == (case["category"], case["retryable"], case["http_status"]), (
        case["text"][:200], d.summary)


def test_every_diagnosis_is_complete() -> None:
    """Summary, causes and actions are always there; unknown says what to capture next."""
    for case in CASES:
        d = diagnose(case["text"])
        assert d.summary and d.summary.endswith((".", ")")), d.summary
        assert d.causes and d.actions
        assert all(0.0 <= c.likelihood <= 1.0 for c in d.causes)
        assert [c.likelihood for c in d.causes] == sorted((c.likelihood for c in d.causes),
                                                            reverse=True)
        assert d.fingerprint.startswith("fp_") and len(d.fingerprint) == 19
        if d.category == "unknown":
            assert d.retryable is None
            joined = " ".join(d.actions).lower()
            assert "response body" in joined and "status code" in joined
            assert "x-request-id" in joined
        if d.category == "quota":
            assert not any("retry with" in a.lower() for a in d.actions)
