"""Every labelled example in ../shared/fixtures/errors.jsonl is classified as labelled."""

from __future__ import annotations

import pytest

from bot.diagnosis import diagnose
from tests.diagnosis.conftest import FIXTURES, load_jsonl

if not FIXTURES.exists():  # pragma: no cover - the shared folder sits next to the repo
    pytest.skip(f"shared fixtures not found at {FIXTURES}", allow_module_level=True)

CASES = load_jsonl(FIXTURES)


def test_there_are_25_labelled_examples() -> None:
    assert len(CASES) == 25


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_fixture_classified_as_labelled(case: dict) -> None:
    d = diagnose(case["text"])
    assert (d.category, d.retryable, d.http_status) == (
        case["category"], case["retryable"], case["http_status"]), d.summary
