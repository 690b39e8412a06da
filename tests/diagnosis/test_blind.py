"""The blind set (tests/diagnosis/blind.jsonl): real pastes held out from rule writing. Only
its form is tested here; its accuracy is measured (tests/diagnosis/measure.py) and reported,
never used to tune the table."""

from __future__ import annotations

from bot.diagnosis import CATEGORIES
from bot.diagnosis.knowledge import RULES
from tests.diagnosis.conftest import HERE, load_jsonl

BLIND = load_jsonl(HERE / "blind.jsonl")


def test_blind_set_is_large_sourced_and_labelled() -> None:
    assert len(BLIND) >= 120
    for c in BLIND:
        assert c["source"] and c["category"] in CATEGORIES, c
        assert (c["retryable"] is None) == (c["category"] == "unknown"), c["source"]


def test_blind_set_is_held_out() -> None:
    texts = {c["text"] for c in BLIND}
    learning = load_jsonl(HERE / "realworld.jsonl") + load_jsonl(HERE / "collected.jsonl")
    assert not texts & {c["text"] for c in learning}
    assert not texts & {ex.text for r in RULES for ex in r.examples}
