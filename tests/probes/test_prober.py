"""Probes against the loopback fake Sora API: real httpx, real HTTP, every failure a result."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import Target
from bot.errors import ConfigError
from bot.fakes import FakeSoraAPI, key_hash
from bot.probes import NEUTRAL_PROMPT, Prober, ProbeResult

KEY = "sk-proj-PROBEKEY0123456789abcdefghijklmn"
GW_KEY = "gwlive_0123456789abcdefSECRET"  # matches no known key pattern: exact scrub needed


def official(api: FakeSoraAPI, key: str | None = KEY) -> Target:
    return Target(name="openai", base_url=api.base_url,
                  api_key=SecretStr(key) if key else None, key_env="OPENAI_API_KEY",
                  official=True)


def by_kind(results: list[ProbeResult]) -> dict[str, ProbeResult]:
    return {r.kind: r for r in results}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_healthy_api_all_kinds_ok(sora_api: FakeSoraAPI) -> None:
    results = by_kind(await Prober([official(sora_api)], timeout=5).run())
    assert list(results) == ["reachability", "auth", "videos"]  # generate is opt-in
    assert results["reachability"].ok and results["reachability"].http_status == 401
    assert results["auth"].ok and results["auth"].http_status == 200
    assert results["videos"].ok and results["videos"].http_status == 200
    for r in results.values():
        assert r.category is None
        assert r.request_id and r.request_id.startswith("req_")
        assert r.latency_ms is not None and r.latency_ms >= 0


async def test_reachability_sends_no_key_and_listing_sends_ours(sora_api: FakeSoraAPI) -> None:
    await Prober([official(sora_api)], timeout=5).run()
    recs = {(r.path, r.query.get("limit")): r for r in sora_api.requests}
    no_key = [r for r in sora_api.requests if r.path == "/v1/models" and not r.has_bearer]
    keyed = [r for r in sora_api.requests if r.path == "/v1/models" and r.has_bearer]
    assert len(no_key) == 1 and len(keyed) == 1
    assert keyed[0].key_sha256 == key_hash(KEY)
    assert recs[("/v1/videos", "1")].key_sha256 == key_hash(KEY)


async def test_to_dict_is_contract_3(sora_api: FakeSoraAPI, fake_clock: Any) -> None:
    (r,) = await Prober([official(sora_api)], timeout=5, now=fake_clock).run(["auth"])
    d = r.to_dict()
    assert list(d) == ["target", "kind", "ok", "http_status", "latency_ms", "category", "at"]
    assert d["at"] == "2026-11-30T08:30:00Z"
    assert (d["target"], d["kind"], d["ok"], d["http_status"], d["category"]) == (
        "openai", "auth", True, 200, None)


async def test_no_key_skips_keyed_kinds(sora_api: FakeSoraAPI) -> None:
    prober = Prober([official(sora_api, key=None)], timeout=5)
    assert [r.kind for r in await prober.run()] == ["reachability"]
    shown = by_kind(await prober.run(include_skipped=True))
    assert shown["auth"].skipped and "OPENAI_API_KEY" in shown["auth"].detail
    assert all(r.path == "/v1/models" for r in sora_api.requests)


@pytest.mark.parametrize(("mode", "status", "category", "code"), [
    ("seed_error", 400, "risk_control", "invalid_request"),
    ("unauthorized", 401, "auth", "invalid_api_key"),
    ("forbidden", 403, "permission", "unsupported_country_region_territory"),
    ("not_found", 404, "not_found", "model_not_found"),
    ("insufficient_quota", 429, "quota", "insufficient_quota"),
    ("server_error", 500, "server", None),
    ("overloaded", 503, "server", "server_is_overloaded"),
])
async def test_error_modes_are_diagnosed(sora_api: FakeSoraAPI, mode: str, status: int,
                                         category: str, code: str | None) -> None:
    sora_api.set_mode(mode)
    results = by_kind(await Prober([official(sora_api)], timeout=5).run())
    for kind in ("auth", "videos"):
        r = results[kind]
        assert (r.ok, r.http_status, r.category, r.error_code) == (False, status, category, code)
        assert r.request_id and r.request_id.startswith("req_")
        assert str(status) in r.detail
    # account and request errors need a key: the edge still answers 401 to the keyless probe
    assert results["reachability"].ok is (status < 500)


async def test_rate_limit_carries_retry_after(sora_api: FakeSoraAPI) -> None:
    sora_api.retry_after_s = 7
    sora_api.set_mode("rate_limit")
    r = by_kind(await Prober([official(sora_api)], timeout=5).run())["videos"]
    assert (r.ok, r.http_status, r.category) == (False, 429, "rate_limit")
    assert r.retry_after_s == 7
    assert r.error_code == "rate_limit_exceeded"


async def test_html_502_is_a_server_failure_even_for_reachability(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("html_502")
    for r in await Prober([official(sora_api)], timeout=5).run():
        assert (r.ok, r.http_status, r.category) == (False, 502, "server")
        assert "HTML" in r.detail


async def test_slow_but_within_timeout_is_ok() -> None:
    with FakeSoraAPI(slow_seconds=0.2) as api:
        api.set_mode("slow")
        (r,) = await Prober([official(api)], timeout=3).run(["auth"])
        assert r.ok and r.latency_ms is not None and r.latency_ms >= 200


async def test_slow_beyond_timeout_is_a_network_timeout() -> None:
    with FakeSoraAPI(slow_seconds=5) as api:
        api.set_mode("slow")
        (r,) = await Prober([official(api)], timeout=0.3).run(["auth"])
        assert (r.ok, r.http_status, r.category) == (False, None, "network")
        assert "timed out" in r.detail


async def test_hung_connection_is_a_bounded_network_timeout(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("hung")
    gw = Target(name="relay", base_url=sora_api.base_url, api_key=SecretStr(GW_KEY))
    started = time.perf_counter()
    results = await Prober([official(sora_api), gw], timeout=0.3).run()
    elapsed = time.perf_counter() - started
    assert len(results) == 6
    for r in results:
        assert (r.ok, r.category) == (False, "network")
        assert "timed out after 0.3 s" in r.detail
    assert elapsed < 1.5  # six hung probes run concurrently, each bounded by the timeout


async def test_connection_refused_on_closed_port() -> None:
    target = Target(name="relay", base_url=f"http://127.0.0.1:{free_port()}/v1",
                    api_key=SecretStr(GW_KEY))
    for r in await Prober([target], timeout=2).run():
        assert (r.ok, r.http_status, r.category) == (False, None, "network")
        assert "connection refused" in r.detail


async def test_dns_failure_on_unresolvable_host() -> None:
    target = Target(name="relay", base_url="http://sora-bot-probe.invalid/v1", api_key=None)
    (r,) = await Prober([target], timeout=3).run()
    assert (r.ok, r.category) == (False, "network")
    assert "DNS lookup failed" in r.detail


async def test_tls_error_against_a_plain_http_port(sora_api: FakeSoraAPI) -> None:
    base = sora_api.base_url.replace("http://", "https://")
    (r,) = await Prober([Target(name="relay", base_url=base, api_key=None)], timeout=3).run()
    assert (r.ok, r.category) == (False, "network")
    assert "TLS" in r.detail


async def test_targets_run_concurrently_and_keep_order(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("server_error", route="videos_list")
    gw = Target(name="relay", base_url=sora_api.base_url, api_key=SecretStr(GW_KEY))
    results = await Prober([official(sora_api), gw], timeout=5).run(["auth", "videos"])
    assert [(r.target, r.kind, r.ok) for r in results] == [
        ("openai", "auth", True), ("openai", "videos", False),
        ("relay", "auth", True), ("relay", "videos", False)]


async def test_target_filter_and_unknown_target(sora_api: FakeSoraAPI) -> None:
    gw = Target(name="relay", base_url=sora_api.base_url, api_key=None)
    prober = Prober([official(sora_api), gw], timeout=5)
    assert {r.target for r in await prober.run(target="relay")} == {"relay"}
    with pytest.raises(ConfigError) as err:
        await prober.run(target="x")
    assert str(err.value) == "unknown probe target 'x'; configured: openai, relay"
    with pytest.raises(ConfigError, match="unknown probe kind 'ping'"):
        await prober.run(kinds=["ping"])


# -- generation probe ---------------------------------------------------------------------------

class Sleeps:
    """Records the waits the generation probe asks for (it must honour openai-poll-after-ms)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def test_generate_polls_to_completed(sora_api: FakeSoraAPI) -> None:
    sora_api.poll_after_ms = 15
    sora_api.job_steps = 3
    sleeps = Sleeps()
    prober = Prober([official(sora_api)], timeout=5, generate=True, sleep=sleeps)
    r = by_kind(await prober.run())["generate"]
    assert (r.ok, r.http_status, r.category) == (True, 200, None)
    assert sleeps.calls == [0.015, 0.015, 0.015]
    (create,) = [q for q in sora_api.requests if q.method == "POST"]
    assert create.path == "/v1/videos"
    assert create.header("content-type").startswith("multipart/form-data")
    body = create.body.decode()
    for value in ("sora-2", NEUTRAL_PROMPT, 'name="seconds"\r\n\r\n4\r\n'):
        assert value in body
    polls = [q for q in sora_api.requests if q.method == "GET" and q.path.startswith("/v1/videos/")]
    assert len(polls) == 3


async def test_generate_moderation_failure_is_diagnosed(sora_api: FakeSoraAPI) -> None:
    sora_api.set_job_mode("moderation_blocked")
    (r,) = await Prober([official(sora_api)], timeout=5, generate=True,
                        sleep=Sleeps()).run(["generate"])
    assert (r.ok, r.category, r.error_code) == (False, "content_policy", "moderation_blocked")
    assert "moderation" in r.detail


async def test_generate_create_rejected_is_diagnosed(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("rate_limit", route="videos_create")
    (r,) = await Prober([official(sora_api)], timeout=5, generate=True,
                        sleep=Sleeps()).run(["generate"])
    assert (r.ok, r.http_status, r.category) == (False, 429, "rate_limit")


async def test_generate_gives_up_after_its_total_timeout(sora_api: FakeSoraAPI) -> None:
    sora_api.job_steps = 10_000
    sora_api.poll_after_ms = 1
    (r,) = await Prober([official(sora_api)], timeout=5, generate=True,
                        generate_timeout=0.3).run(["generate"])
    assert (r.ok, r.category) == (False, "server")
    assert "gave up waiting" in r.detail


async def test_generate_checks_budget_first(sora_api: FakeSoraAPI) -> None:
    asked: list[bool] = []

    def spent() -> bool:
        asked.append(True)
        return False

    prober = Prober([official(sora_api)], timeout=5, generate=True, budget=spent)
    assert "generate" not in by_kind(await prober.run())
    shown = by_kind(await prober.run(["generate"], include_skipped=True))["generate"]
    assert shown.skipped and "budget" in shown.detail
    assert len(asked) == 2
    assert not [q for q in sora_api.requests if q.method == "POST"]


async def test_generate_async_budget_allows(sora_api: FakeSoraAPI) -> None:
    async def allow() -> bool:
        return True

    (r,) = await Prober([official(sora_api)], timeout=5, generate=True, budget=allow,
                        sleep=Sleeps()).run(["generate"])
    assert r.ok


async def test_generate_is_off_unless_enabled(sora_api: FakeSoraAPI) -> None:
    (r,) = await Prober([official(sora_api)], timeout=5).run(["generate"],
                                                              include_skipped=True)
    assert r.skipped and "PROBE_GENERATE" in r.detail
    assert not [q for q in sora_api.requests if q.method == "POST"]


# -- secrets ---------------------------------------------------------------------------------------

MODES = ["ok", "seed_error", "unauthorized", "forbidden", "not_found", "rate_limit",
         "insufficient_quota", "server_error", "overloaded", "html_502", "hung"]


async def test_keys_never_in_logs_or_results(sora_api: FakeSoraAPI,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gw = Target(name="relay", base_url=sora_api.base_url, api_key=SecretStr(GW_KEY),
                key_env="RELAY_KEY")
    dead = Target(name="dead", base_url=f"http://127.0.0.1:{free_port()}/v1",
                  api_key=SecretStr(GW_KEY))
    prober = Prober([official(sora_api), gw, dead], timeout=0.3, generate=True, sleep=Sleeps())
    seen: list[ProbeResult] = []
    for mode in MODES:
        sora_api.set_mode(mode)
        seen += await prober.run(include_skipped=True)
    assert len(seen) == len(MODES) * 12
    assert caplog.records, "the probes should log something at DEBUG"
    dumped = caplog.text + repr(seen) + repr([r.to_dict() for r in seen]) + repr(prober.targets)
    for secret in (KEY, GW_KEY, KEY[-12:], GW_KEY[-12:]):
        assert secret not in dumped


async def test_diagnosis_engine_failure_still_gives_a_result(
        sora_api: FakeSoraAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.diagnosis

    def broken(text: str) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(bot.diagnosis, "diagnose", broken)
    sora_api.set_mode("insufficient_quota")
    r = by_kind(await Prober([official(sora_api)], timeout=5).run())["auth"]
    assert (r.ok, r.http_status, r.category) == (False, 429, "quota")
