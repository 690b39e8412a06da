"""Coherent advice over every paste we have (own corpus, real pastes, blind set, fixtures):
the words agree with the verdict, and the new attributes stay out of the contract JSON."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from bot.diagnosis import Diagnosis, diagnose
from bot.diagnosis.explain import (
    ASK_BODY,
    ASK_REQUEST_ID,
    ASK_STATUS,
    NEVER_RETRY,
    RETRY_WORDS,
    suggests_retry,
)
from bot.diagnosis.knowledge import ACTIONS, DEFAULT
from bot.diagnosis.model import CONTRACT_FIELDS
from tests.diagnosis.conftest import CORPUS, FIXTURES, HELD_OUT, HERE, LEARNING, load_jsonl

# Contract 1: the seed error's steps end with "waiting before retrying" (after the checks).
SEED_WAIT_STEP = ACTIONS["wait_retry_later"]


@lru_cache(maxsize=1)
def everything() -> tuple[tuple[dict[str, object], Diagnosis], ...]:
    cases: list[dict[str, object]] = list(load_jsonl(CORPUS)) + list(load_jsonl(FIXTURES))
    for name in (*LEARNING, *HELD_OUT):
        cases += load_jsonl(HERE / name)
    return tuple((c, diagnose(str(c["text"]))) for c in cases)


def test_the_whole_corpus_is_here() -> None:
    assert len(everything()) >= 650


def test_no_retry_advice_when_not_retryable() -> None:
    bad = []
    for _case, d in everything():
        if d.retryable is not False:
            continue
        texts = [d.summary] + [a for a in d.actions if a != SEED_WAIT_STEP
                               or d.category != "risk_control"]
        bad += [(d.category, t) for t in texts if suggests_retry(t)]
    assert not bad, bad[:5]


def test_no_retry_words_at_all_for_auth_quota_permission() -> None:
    bad = []
    for _case, d in everything():
        if d.category in NEVER_RETRY:
            bad += [(d.category, t) for t in (d.summary, *d.actions) if RETRY_WORDS.search(t)]
    assert not bad, bad[:5]


def test_retryable_diagnoses_do_not_say_retrying_will_not_help() -> None:
    pat = re.compile(r"will not help|won't help|keeps? failing until|do not retry", re.I)
    bad = [(d.category, d.summary) for _, d in everything()
           if d.retryable is True and pat.search(d.summary)]
    assert not bad, bad[:5]


def test_the_summary_is_one_plain_sentence() -> None:
    bad = []
    for _, d in everything():
        s = d.summary
        if ("\n" in s or not s.endswith((".", ")")) or "{" in s or "}" in s
                or re.search(r"[.!?] [A-Z]", s.replace("e.g. ", ""))):
            bad.append(s)
    assert not bad, bad[:5]


@pytest.mark.parametrize("category,words", [
    ("rate_limit", ("rate", "limit", "throttl", "load", "wait", "too many")),
    ("quota", ("quota", "credit", "billing", "balance", "budget", "payment")),
    ("auth", ("key", "unauthorized", "credential", "organization")),
    ("server", ("server", "overload", "gateway", "5", "upstream", "provider")),
    ("network", ("connection", "never", "tls", "dns", "timed out", "host")),
])
def test_the_summary_agrees_with_the_category(category: str, words: tuple[str, ...]) -> None:
    bad = [d.summary for _, d in everything()
           if d.category == category and not any(w in d.summary.lower() for w in words)]
    assert not bad, bad[:5]


def test_confidence_and_ask_are_attributes_not_contract_fields() -> None:
    for _, d in everything()[:50]:
        assert tuple(d.to_dict()) == CONTRACT_FIELDS
        assert "confidence" not in d.to_dict() and "ask" not in d.to_dict()
        assert 0.0 <= d.confidence <= 1.0
        assert d.ask in (None, ASK_BODY, ASK_STATUS, ASK_REQUEST_ID)


def test_ask_names_the_missing_piece() -> None:
    assert diagnose("AxiosError: Request failed with status code 500").ask == ASK_BODY
    assert diagnose('{"error": {"message": "The server had an error", "type": "server_error"}}'
                    ).ask == ASK_STATUS
    assert diagnose('HTTP/1.1 500\n{"error": {"message": "The server had an error", '
                    '"type": "server_error"}}').ask == ASK_REQUEST_ID
    assert diagnose("HTTP/1.1 401\nx-request-id: req_0123456789abcdef\n"
                    '{"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}'
                    ).ask is None
    # a request that never completed has no response to capture
    assert diagnose("openai.APIConnectionError: Connection error.").ask is None


def test_weak_evidence_has_lower_confidence_than_a_precise_code() -> None:
    bare = diagnose("something went wrong: 500")
    precise = diagnose('HTTP/1.1 429\n{"error": {"message": "You exceeded your current quota", '
                       '"code": "insufficient_quota"}}')
    assert precise.confidence > bare.confidence
    assert precise.confidence >= 0.95


def _buckets(pairs: list[tuple[float, bool]], edges: tuple[tuple[float, float], ...],
             least: int = 20) -> list[tuple[float, float, int, float, float]]:
    """(lo, hi, n, mean confidence, share right) per confidence bucket with ``least`` pairs."""
    out = []
    for lo, hi in edges:
        got = [(conf, ok) for conf, ok in pairs if lo <= conf < hi]
        if len(got) >= least:
            out.append((lo, hi, len(got), sum(c for c, _ in got) / len(got),
                        sum(ok for _, ok in got) / len(got)))
    return out


def test_confidence_is_calibrated_on_first_looks_at_fresh_pastes() -> None:
    """Reliability where it matters: on pastes no rule was written from. first_looks.jsonl
    holds the engine's evidence features for each new learning paste before anything was
    learnt from it (score / 100, margin / 40, and the three flags); with the table's
    [calibration], through the engine's own ``confidence``, in every confidence bucket with
    enough first looks the share of right verdicts is close to the mean confidence (within
    0.15), and the Brier score beats always saying the overall hit rate."""
    from bot.diagnosis.classify import confidence

    cal = DEFAULT.calibration
    pairs = []
    for r in load_jsonl(HERE / "first_looks.jsonl"):
        right = r["verdict"] == r["category"]
        f = r.get("features")
        if f is None:
            pairs.append((cal.unknown, right))
            continue
        pairs.append((confidence(cal, f["score"] * 100.0, f["margin"] * 40.0,
                                 bool(f["support"]), bool(f["payload"]), bool(f["worded"])),
                      right))
    assert len(pairs) >= 300
    for bucket in _buckets(pairs, ((0.0, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 1.01))):
        assert abs(bucket[3] - bucket[4]) <= 0.15, bucket
    rate = sum(ok for _, ok in pairs) / len(pairs)
    brier = sum((conf - ok) ** 2 for conf, ok in pairs) / len(pairs)
    assert brier < sum((rate - ok) ** 2 for _, ok in pairs) / len(pairs)


def test_confidence_on_learning_pastes_never_claims_more_than_it_gets() -> None:
    """On the pastes the rules were written from, a verdict is right more often than on fresh
    ones; the confidence (fitted on fresh ones) may be modest there, never boastful."""
    cases = [c for name in LEARNING for c in load_jsonl(HERE / name)]
    pairs = [(d.confidence, d.category == c["category"])
             for c in cases for d in (diagnose(c["text"]),) if d.category != "unknown"]
    for bucket in _buckets(pairs, ((0.0, 0.7), (0.7, 0.9), (0.9, 0.95), (0.95, 1.01))):
        assert bucket[3] <= bucket[4] + 0.1, bucket


def test_an_unknown_verdict_is_low_confidence_and_asks_for_the_body() -> None:
    from bot.commands.views import LOW_CONFIDENCE

    d = diagnose("Something failed, see screenshot")
    assert d.category == "unknown"
    assert d.confidence < LOW_CONFIDENCE and d.ask


def test_a_provider_incident_adds_no_retry_step_to_auth_quota_permission() -> None:
    from datetime import UTC, datetime

    from bot.evidence import Evidence, ProbeView

    probe = ProbeView("openai", "reachability", False, 503, 120.0, "server",
                      datetime(2026, 11, 30, tzinfo=UTC))
    outage = Evidence(indicator="partial_outage",
                      components=({"name": "Sora", "status": "partial_outage"},), probes=(probe,))
    for text in ('{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}',
                 '{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}',
                 '{"error":{"message":"Your organization must be verified to use sora-2-pro"}}'):
        d = diagnose(text, outage)
        assert d.category in NEVER_RETRY and d.verdict != "provider"
        assert not [a for a in d.actions if RETRY_WORDS.search(a)], d.actions


def test_fast_constructor_builds_the_same_diagnosis() -> None:
    from dataclasses import asdict

    d = diagnose('{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}')
    again = Diagnosis(**{k: getattr(d, k) for k in asdict(d)})
    assert again == d and again.confidence == d.confidence and again.ask == d.ask
    with pytest.raises(TypeError):
        Diagnosis.make(category="auth")
