"""`sora-bot status --json`, `probe` and `diagnose --live` as a user runs them, against the
loopback fakes: the Contract-3 object for healthy, degraded and unreadable pages, and one-line
errors for bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.fakes import FakeSoraAPI, FakeStatusPage

KEY = "sk-proj-" + "Zq9" * 16
SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'
OVERALL = {"ok", "degraded", "down", "unknown"}
INDICATORS = {"operational", "degraded_performance", "partial_outage", "major_outage",
              "under_maintenance", "unknown"}


@pytest.fixture
def fakes():
    with FakeSoraAPI() as api, FakeStatusPage() as page:
        yield api, page


def run(tmp_path, *args, env=None, stdin=""):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, text=True,
                          capture_output=True, cwd=tmp_path, env=full, timeout=90)


def env_for(api, page, tmp_path, **extra):
    return {"SORA_API_BASE_URL": api.base_url, "SORA_STATUS_URL": page.base_url,
            "OPENAI_API_KEY": KEY, "PROBE_TIMEOUT": "2",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", **extra}


def check_contract(out: dict) -> None:
    assert set(out) == {"overall", "reason", "verdict", "official", "probes", "errors"}
    assert out["overall"] in OVERALL and isinstance(out["reason"], str) and out["reason"]
    assert out["verdict"] in {"provider", "account", "request", "network", "unknown", None}
    assert set(out["official"]) == {"indicator", "components", "incidents"}
    assert out["official"]["indicator"] in INDICATORS
    for c in out["official"]["components"]:
        assert set(c) == {"name", "status"}
    for i in out["official"]["incidents"]:
        assert set(i) == {"name", "status", "url", "updated_at", "latest_update"}
    for p in out["probes"]:
        assert set(p) == {"target", "kind", "ok", "http_status", "latency_ms", "category", "at"}
    assert out["errors"]["window_s"] == 900 and isinstance(out["errors"]["total"], int)


def test_status_json_healthy(fakes, tmp_path):
    api, page = fakes
    r = run(tmp_path, "status", "--json", env=env_for(api, page, tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    check_contract(out)
    assert out["overall"] == "ok" and out["official"]["indicator"] == "operational"
    assert {p["kind"] for p in out["probes"]} == {"reachability", "auth", "videos"}
    assert all(p["ok"] for p in out["probes"])
    assert KEY not in r.stdout + r.stderr


def test_status_json_degraded_is_provider(fakes, tmp_path):
    api, page = fakes
    page.set_state("partial_outage", incident={"name": "Elevated errors for Sora",
                                               "status": "investigating", "message": "Looking."})
    api.set_mode("overloaded")
    r = run(tmp_path, "status", "--json", env=env_for(api, page, tmp_path))
    out = json.loads(r.stdout)
    check_contract(out)
    assert out["overall"] in {"degraded", "down"} and out["verdict"] == "provider"
    assert out["official"]["indicator"] == "partial_outage"
    assert out["official"]["incidents"][0]["name"] == "Elevated errors for Sora"
    assert any(p["http_status"] == 503 and p["category"] == "server" for p in out["probes"])


@pytest.mark.parametrize("failure", ["html", "garbage", "500"])
def test_status_json_unreadable_page_is_unknown_not_down(fakes, tmp_path, failure):
    api, page = fakes
    page.set_failure(failure)
    r = run(tmp_path, "status", "--json", env=env_for(api, page, tmp_path))
    out = json.loads(r.stdout)
    check_contract(out)
    assert out["official"]["indicator"] == "unknown"
    assert out["overall"] == "ok"  # probes healthy; an unreadable page is never "down"


def test_status_human_view(fakes, tmp_path):
    api, page = fakes
    r = run(tmp_path, "status", env=env_for(api, page, tmp_path))
    assert r.returncode == 0
    assert "Sora status: ok" in r.stdout and "Probes:" in r.stdout and "openai/auth: ok" in r.stdout


def test_probe_json_and_target(fakes, tmp_path):
    api, page = fakes
    env = env_for(api, page, tmp_path, SORA_GATEWAYS=f"relay={api.base_url}|RELAY_KEY",
                  RELAY_KEY="sk-relay-" + "x" * 24)
    r = run(tmp_path, "probe", "--target", "relay", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {p["target"] for p in rows} == {"relay"} and all(p["ok"] for p in rows)
    api.set_mode("rate_limit")
    r = run(tmp_path, "probe", "--json", env=env)
    assert r.returncode == 1  # some probe failed
    assert any(p["category"] == "rate_limit" for p in json.loads(r.stdout))


def test_diagnose_live_fills_verdict(fakes, tmp_path):
    api, page = fakes
    env = env_for(api, page, tmp_path)
    healthy = json.loads(run(tmp_path, "diagnose", "--live", "--json", env=env, stdin=SEED).stdout)
    assert healthy["verdict"] == "account"
    page.set_state("major_outage")
    api.set_mode("server_error")
    env["STATUS_POLL_INTERVAL"] = "1"
    env["PROBE_INTERVAL"] = "1"
    (tmp_path / "bot.db").unlink()
    during = json.loads(run(tmp_path, "diagnose", "--live", "--json", env=env, stdin=SEED).stdout)
    assert during["verdict"] == "provider"
    assert during["causes"][0]["id"] in {"provider_incident", "temporary_server_issue"}


@pytest.mark.parametrize("args, env, needle, code", [
    (("probe", "--target", "nope"), {}, "unknown probe target 'nope'", 2),
    (("status",), {"SORA_GATEWAYS": "relay"}, "SORA_GATEWAYS", 2),
    (("status",), {"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL", 2),
    (("status",), {"STATUS_POLL_INTERVAL": "0"}, "STATUS_POLL_INTERVAL", 2),
])
def test_bad_config_one_line(fakes, tmp_path, args, env, needle, code):
    api, page = fakes
    r = run(tmp_path, *args, env=env_for(api, page, tmp_path, **env))
    assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr
