"""The blind sets: real pastes held out from rule writing. blind.jsonl was set aside in round 1,
blind2.jsonl in round 2 (collected from sources none of the other files use, before any rule of
that round changed). Only their form is tested here; their accuracy is measured
(tests/diagnosis/measure.py) and reported, never used to tune the table."""

from __future__ import annotations

import pytest

from bot.diagnosis import CATEGORIES
from bot.diagnosis.knowledge import RULES
from tests.diagnosis.conftest import HERE, load_jsonl

BLIND = load_jsonl(HERE / "blind.jsonl")
BLIND2 = load_jsonl(HERE / "blind2.jsonl")
FIELDS = {"text", "category", "retryable", "http_status", "source", "client", "lang", "gateway",
          "provider", "note"}


@pytest.mark.parametrize("rows", [BLIND, BLIND2], ids=["blind", "blind2"])
def test_blind_set_is_large_sourced_and_labelled(rows: list[dict]) -> None:
    assert len(rows) >= 120
    for c in rows:
        assert c["source"] and c["category"] in CATEGORIES, c
        assert (c["retryable"] is None) == (c["category"] == "unknown"), c["source"]
    assert len({c["text"] for c in rows}) == len(rows)


def test_blind2_rows_are_complete() -> None:
    for c in BLIND2:
        assert set(c) == FIELDS, c["source"]


@pytest.mark.parametrize("rows", [BLIND, BLIND2], ids=["blind", "blind2"])
def test_blind_set_is_held_out(rows: list[dict]) -> None:
    texts = {c["text"] for c in rows}
    learning = load_jsonl(HERE / "realworld.jsonl") + load_jsonl(HERE / "collected.jsonl")
    assert not texts & {c["text"] for c in learning}
    assert not texts & {ex.text for r in RULES for ex in r.examples}


def test_blind_sets_do_not_overlap_and_round2_learnt_from_no_blind2_source() -> None:
    """A source first seen in blind2 is measured, not learnt from: no learning paste (nor a
    rule example) of round 2 comes from a blind2 source."""
    assert not {c["text"] for c in BLIND} & {c["text"] for c in BLIND2}
    sources = {c["source"] for c in BLIND2}
    collected = load_jsonl(HERE / "collected.jsonl")
    assert not sources & {c["source"] for c in collected}
    assert not sources & {ex.source for r in RULES for ex in r.examples}
