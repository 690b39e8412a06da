"""The own-connectivity rule in the verdict, and reasons in words where the user looks:
``/sora status`` and ``/sora probe`` name each failure's reason and the skipped probes."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands.views import probe_reply, status_reply
from bot.config import Target
from bot.evidence import Evidence, PageView, ProbeView, StatusReport, decide
from bot.probes import Prober, ProbeResult, ProbeRun
from tests.probes.loopback import closed_port

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
CONTRACT_KEYS = {"overall", "reason", "verdict", "official", "probes", "errors"}
PROBE_KEYS = {"target", "kind", "ok", "http_status", "latency_ms", "category", "at"}


def view(target: str, ok: bool, failure: str | None = None, http: int | None = None,
         detail: str | None = None, kind: str = "reachability") -> ProbeView:
    return ProbeView(target=target, kind=kind, ok=ok, http_status=http, latency_ms=3.0,
                     category=None if ok else ("server" if http else "network"), at=AT,
                     failure=failure, detail=detail)


def evidence(*probes: ProbeView, page: PageView | None, indicator: str = "operational",
             **kw: object) -> Evidence:
    return Evidence(indicator=indicator, probes=probes, page=page,
                    targets={"openai": "https://api.openai.com/v1",
                             "relay": "https://relay.example/v1"}, **kw)


def test_everything_unreachable_is_unknown_with_the_connectivity_reason() -> None:
    ev = evidence(view("openai", False, "refused"), view("relay", False, "dns"),
                  page=PageView(ok=False, failure="dns"), indicator="unknown")
    d = decide(ev)
    assert (d.overall, d.verdict) == ("unknown", "network")
    assert "own connectivity" in d.reason
    for word in ("proxy", "DNS", "firewall"):
        assert word in d.reason
    assert set(StatusReport(ev, d).to_dict()) == CONTRACT_KEYS


def test_a_read_timeout_is_not_lost_connectivity() -> None:
    ev = evidence(view("openai", False, "timeout"), page=PageView(ok=False, failure="refused"),
                  indicator="unknown")
    d = decide(ev)  # something accepted the connection: that is evidence about the provider
    assert d.overall == "degraded" and "own connectivity" not in d.reason


def test_partial_never_says_down() -> None:
    # the page says major outage, but the API fails only at the network level from here
    ev = evidence(view("openai", False, "refused"), page=PageView(ok=True),
                  indicator="major_outage")
    d = decide(ev)
    assert d.overall == "degraded" and "unreachable from the bot" in d.reason


def test_partial_with_a_healthy_gateway_names_the_path() -> None:
    ev = evidence(view("openai", False, "refused"), view("relay", True), page=PageView(ok=True))
    d = decide(ev)
    assert (d.overall, d.verdict) == ("degraded", "network")
    assert "openai unreachable from the bot" in d.reason


def test_http_errors_still_speak_for_the_provider() -> None:
    ev = evidence(view("openai", False, "http", http=503), page=PageView(ok=True))
    assert (decide(ev).overall, decide(ev).verdict) == ("down", "provider")


def test_status_reply_names_failure_reasons_and_skipped_probes() -> None:
    ev = evidence(view("openai", False, "dns", detail="DNS lookup failed (ConnectError: x)"),
                  view("relay", False, "timeout", detail="timed out after 10 s (ReadTimeout)"),
                  page=PageView(ok=False, failure="dns"), indicator="unknown",
                  skipped=(("openai", "auth", "no API key (OPENAI_API_KEY)"),
                           ("openai", "videos", "no API key (OPENAI_API_KEY)")))
    text = status_reply(StatusReport(ev, decide(ev))).plain_text()
    assert "openai/reachability: FAIL, 3 ms, network, DNS lookup failed" in text
    assert "timed out after 10 s" in text
    assert "openai: auth, videos skipped: no API key (OPENAI_API_KEY)" in text
    assert "Connectivity: partial" in text  # relay connected (then timed out): not lost


def test_status_reply_lost_says_so() -> None:
    ev = evidence(view("openai", False, "refused", detail="connection refused (ConnectError)"),
                  page=PageView(ok=False, failure="refused"), indicator="unknown")
    text = status_reply(StatusReport(ev, decide(ev))).plain_text()
    assert "Sora status: unknown" in text and "own connectivity" in text
    assert "connection refused" in text and "lost" in text


async def test_probe_reply_lists_skipped_probes_and_reasons_from_a_real_run() -> None:
    openai = Target(name="openai", base_url=f"http://127.0.0.1:{closed_port()}/v1",
                    api_key=None, key_env="OPENAI_API_KEY", official=True)
    run = await Prober([openai], timeout=2).run()
    assert isinstance(run, ProbeRun) and [r.kind for r in run] == ["reachability"]
    assert {r.kind for r in run.skipped} == {"auth", "videos"}
    text = probe_reply(run).plain_text()
    assert "openai/reachability: FAIL, " in text and "connection refused" in text
    assert "openai: auth, videos skipped: no API key (OPENAI_API_KEY)" in text
    assert "proxy" in text  # every target failed at the network level: what to check


def test_probe_reply_http_failure_shows_status_not_noise() -> None:
    r = ProbeResult(target="openai", kind="auth", ok=False, http_status=503, latency_ms=5.0,
                    category="server", error_code=None, request_id=None,
                    detail="HTTP 503: busy", at=AT, failure="http")
    text = probe_reply([r]).plain_text()
    assert "openai/auth: FAIL, HTTP 503, 5 ms, server" in text and "proxy" not in text


def test_skips_are_known_without_the_network() -> None:
    keyless = Target(name="relay", base_url="http://relay.invalid/v1", api_key=None,
                     key_env="RELAY_KEY")
    assert Prober([keyless]).skips() == [("relay", "auth", "no API key (RELAY_KEY)"),
                                         ("relay", "videos", "no API key (RELAY_KEY)")]
    assert set(ProbeView(target="t", kind="k", ok=True, http_status=None, latency_ms=None,
                         category=None, at=AT, failure="x", detail="y").to_dict()) == PROBE_KEYS


def test_a_diagnosis_during_lost_connectivity_says_why_it_has_no_verdict() -> None:
    from bot.diagnosis import diagnose
    from bot.evidence import apply_evidence

    ev = evidence(view("openai", False, "refused"), page=PageView(ok=False, failure="refused"),
                  indicator="unknown")
    d = apply_evidence(diagnose('{"error": {"code": "invalid_api_key", "message": "bad"}}'), ev)
    assert d.verdict == "unknown" and "own connectivity" in (d.verdict_reason or "")
