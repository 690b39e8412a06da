"""The blind sets: real pastes held out from rule writing.

The set named in conftest.HELD_OUT is held out: collected from sources no other file uses,
before any rule of that round was written from new material, and only measured
(tests/diagnosis/measure.py). blind.jsonl (round 1), blind2.jsonl (round 2) and blind3.jsonl
(round 3) were held out the same way in their rounds, measured before and after (figures in
docs/knowledge.md), and are retired: from the next round on they are learning pastes, so each
of their pastes must now come out as labelled, like collected.jsonl's. No test asserts a held-out set's accuracy (an assertion would invite tuning
to it)."""

from __future__ import annotations

import pytest

from bot.diagnosis import CATEGORIES, diagnose
from bot.diagnosis.knowledge import RULES
from tests.diagnosis.conftest import (
    DOCUMENTED,
    HELD_OUT,
    HERE,
    LEARNING,
    RETIRED_BLIND,
    ROW_FIELDS,
    known_miss,
    load_jsonl,
)

ALL_BLIND = (*RETIRED_BLIND, *HELD_OUT)


@pytest.mark.parametrize("name", ALL_BLIND)
def test_blind_set_is_large_sourced_and_labelled(name: str) -> None:
    rows = load_jsonl(HERE / name)
    assert len(rows) >= 120
    for c in rows:
        assert c["source"] and c["category"] in CATEGORIES, c
        assert (c["retryable"] is None) == (c["category"] == "unknown"), c["source"]
    assert len({c["text"] for c in rows}) == len(rows)


@pytest.mark.parametrize("name", ("blind2.jsonl", "blind3.jsonl", *HELD_OUT))
def test_blind_rows_are_complete(name: str) -> None:
    for c in load_jsonl(HERE / name):
        assert set(c) == ROW_FIELDS, c["source"]


def _others(name: str) -> list[dict]:
    rows: list[dict] = []
    for other in (*LEARNING, *HELD_OUT, DOCUMENTED, "corpus.jsonl"):
        if other != name:
            rows += load_jsonl(HERE / other)
    return rows


@pytest.mark.parametrize("name", ALL_BLIND)
def test_no_two_files_share_a_paste(name: str) -> None:
    texts = {c["text"] for c in load_jsonl(HERE / name)}
    assert not texts & {c["text"] for c in _others(name)}


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_set_is_learnt_from_nowhere(name: str) -> None:
    """A source first seen in a held-out set is measured, not learnt from: no learning paste
    and no rule example shares its text or its source."""
    rows = load_jsonl(HERE / name)
    texts = {c["text"] for c in rows}
    sources = {c["source"] for c in rows}
    assert not texts & {ex.text for r in RULES for ex in r.examples}
    assert not sources & {c.get("source") for c in _others(name)}
    assert not sources & {ex.source for r in RULES for ex in r.examples}


# Retired blind pastes the table does not get right, kept visible rather than fixed by a rule
# that would only fit them (strict: the day one passes, it moves out of this list).
KNOWN_MISSES = {
    "https://github.com/chenyme/grok2api/issues/1014":
        "Grok web's '403: This page is out of date. Reload to continue.' to a scripted session: "
        "no block words, the 403 reads as a permission refusal",
    "https://github.com/acheong08/ChatGPT-to-API/issues/84":
        "a block page cut down to its CSS ('.blocked-icon') inside a 500: no words survive, "
        "and a 5xx is kept over the lexicon",
    "https://github.com/stackblitz/bolt.new/issues/57":
        "only the word 'forbiden', misspelt: no family signal survives the spelling",
    "https://github.com/pljhonglu/ChatGPT-T/issues/5":
        "a wrapper's own 'code:400, openai api request error!': a bare 400 reads as a bad "
        "request at low confidence (the reply asks for the body); the label says the body is "
        "hidden",
    "https://github.com/assafelovic/gpt-researcher/issues/981":
        "code model_not_found on a 403 whose message lost its spaces ('Pindoes not have access "
        "to modelgpt-4o'): the code decides",
    # blind3 (round 3), retired in round 4
    "https://github.com/chatboxai/chatbox/issues/1033":
        "an app's own 'API Error: 403 … usually caused by incorrect settings or account issues' "
        "with the body hidden: the 403 reads as a permission refusal (at low confidence)",
    "https://github.com/mozilla-ai/any-llm/issues/485":
        "a provider's 500 whose detail is 'Unable to process request', the words of Sora's "
        "refusal: read as the refusal (a relay's 500 around the refusal must stay one)",
    "https://github.com/BerriAI/litellm/issues/2487":
        "LiteLLM's 'No models available' (every deployment cooling down) inside a traceback "
        "of connection code: the lexicon reads a connection failure",
    "https://github.com/Kong/kong/issues/12869":
        "a gateway plugin's Lua error 'path must be a string' in its log: parameter words for "
        "the gateway's own bug",
}


def _retired() -> list[object]:
    params = []
    for name in RETIRED_BLIND:
        for i, c in enumerate(load_jsonl(HERE / name)):
            reason = known_miss(KNOWN_MISSES, c)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(c, id=f'{name[:-6]}-{i:03d}-{c["category"]}', marks=marks))
    return params


@pytest.mark.parametrize("case", _retired())
def test_retired_blind_paste_classified_as_expected(case: dict) -> None:
    d = diagnose(case["text"])
    assert (d.category, d.retryable) == (case["category"], case["retryable"]), (
        case["source"], d.rule_id, d.summary)
