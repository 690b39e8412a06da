"""Verdict cases: provider / account / request / network / unknown, and fallback naming."""

from datetime import UTC, datetime, timezone

import pytest

from bot.diagnosis.model import Cause, Diagnosis
from bot.evidence import Evidence, ProbeView, StatusReport, apply_evidence, decide

T = datetime(2026, 11, 30, 8, 41, tzinfo=UTC)


def probe(target="openai", ok=True, status=401, category=None, kind="reachability"):
    return ProbeView(target, kind, ok, status, 120.0, category, T)


def seed_like(category="risk_control") -> Diagnosis:
    causes = (
        Cause("platform_risk_control", "Risk control", 0.35, "w"),
        Cause("account_limits", "Account limits", 0.2, "w"),
        Cause("request_pattern", "Pattern", 0.15, "w"),
        Cause("temporary_server_issue", "Server", 0.15, "w"),
        Cause("content_moderation", "Moderation", 0.15, "w"),
    )
    return Diagnosis(category, False, None, "invalid_request_error", "invalid_request",
                     "Unable to process request", None, "openai", "s", causes, ("a",), None,
                     "fp_x", "r")


@pytest.mark.parametrize("ev, overall, verdict, words", [
    (Evidence(indicator="partial_outage", indicator_since=T,
              components=({"name": "Sora", "status": "partial_outage"},),
              probes=(probe(ok=False, status=503, category="server"),)),
     "down", "provider", ["partial outage of Sora since 08:41", "5xx (HTTP 503)", "provider side"]),
    (Evidence(indicator="partial_outage", components=({"name": "Sora", "status": "partial_outage"},),
              probes=(probe(),)),
     "degraded", "provider", ["partial outage of Sora"]),
    (Evidence(indicator="major_outage", components=({"name": "Sora", "status": "major_outage"},)),
     "down", "provider", ["major outage"]),
    (Evidence(indicator="operational", probes=(probe(ok=False, status=500, category="server"),)),
     "down", "provider", ["server errors"]),
    (Evidence(indicator="operational", probes=(probe(ok=False, status=None, category="network"),)),
     "degraded", "network", ["network side"]),
    (Evidence(indicator="operational", probes=(probe(ok=False, status=429, category="quota", kind="auth"),
                                               probe())),
     "degraded", "account", ["account side"]),
    (Evidence(indicator="operational", probes=(probe(),), errors_total=5,
              errors_by_category={"bad_request": 5}),
     "ok", "request", ["only your requests fail"]),
    (Evidence(indicator="operational", probes=(probe(),)), "ok", None, ["probes healthy"]),
    (Evidence(), "unknown", None, ["no evidence"]),
])
def test_decide_table(ev, overall, verdict, words):
    d = decide(ev)
    assert (d.overall, d.verdict) == (overall, verdict), d.reason
    for w in words:
        assert w in d.reason


def test_unknown_page_is_never_down():
    d = decide(Evidence(indicator="unknown", probes=(probe(),)))
    assert d.overall == "ok"


def test_fallback_names_healthy_gateway():
    ev = Evidence(indicator="operational",
                  probes=(probe(ok=False, status=503, category="server"), probe(target="relay", status=200)),
                  targets={"openai": "https://api.openai.com/v1", "relay": "https://relay.example/v1"})
    d = decide(ev)
    assert d.fallback == ("relay", "https://relay.example/v1")
    assert "fall back to relay (https://relay.example/v1)" in d.reason
    diag = apply_evidence(seed_like(), ev)
    assert any("relay" in a and "https://relay.example/v1" in a for a in diag.actions)


def test_fallback_reverse_when_gateway_fails():
    ev = Evidence(indicator="operational",
                  probes=(probe(), probe(target="relay", ok=False, status=502, category="server")),
                  targets={"openai": "https://api.openai.com/v1", "relay": "https://relay.example/v1"})
    d = decide(ev)
    assert d.fallback == ("openai", "https://api.openai.com/v1")
    assert "fall back to openai (https://api.openai.com/v1)" in d.reason


def test_seed_during_outage_is_provider_and_reranked():
    ev = Evidence(indicator="partial_outage", components=({"name": "Sora", "status": "partial_outage"},),
                  probes=(probe(ok=False, status=503, category="server"),))
    d = apply_evidence(seed_like(), ev)
    assert d.verdict == "provider"
    assert d.causes[0].id == "temporary_server_issue"
    assert "provider side" in d.verdict_reason


def test_seed_during_health_is_account_request_side():
    ev = Evidence(indicator="operational", components=({"name": "Sora", "status": "operational"},),
                  probes=(probe(),))
    d = apply_evidence(seed_like(), ev)
    assert d.verdict == "account"
    assert "account/request side" in d.verdict_reason
    assert d.causes[-1].id == "temporary_server_issue"


def test_status_report_contract_shape():
    ev = Evidence(indicator="operational", components=({"name": "Sora", "status": "operational"},),
                  probes=(probe(),), errors_total=2, errors_by_category={"server": 2})
    out = StatusReport(ev, decide(ev)).to_dict()
    assert set(out) == {"overall", "reason", "verdict", "official", "probes", "errors"}
    assert set(out["official"]) == {"indicator", "components", "incidents"}
    assert set(out["probes"][0]) == {"target", "kind", "ok", "http_status", "latency_ms", "category", "at"}
    assert out["errors"] == {"window_s": 900, "total": 2, "by_category": {"server": 2}}
    assert out["overall"] in {"ok", "degraded", "down", "unknown"}
