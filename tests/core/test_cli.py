"""The CLI as a user runs it: a real subprocess, stdin, exit codes, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'
SEED_CAUSES = {"platform_risk_control", "account_limits", "request_pattern",
               "temporary_server_issue", "content_moderation"}
CONTRACT_FIELDS = {"category", "retryable", "http_status", "error_type", "error_code", "message",
                   "param", "provider", "summary", "causes", "actions", "retry_after_s",
                   "fingerprint", "redacted", "verdict"}


def cli(*args, stdin="", cwd=None, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, text=True,
                          capture_output=True, timeout=60, cwd=cwd, env=full_env)


def test_seed_error_json(tmp_path):
    r = cli("diagnose", "--json", stdin=SEED, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == CONTRACT_FIELDS
    assert out["category"] == "risk_control" and out["retryable"] is False
    assert out["http_status"] is None and out["verdict"] is None
    assert SEED_CAUSES <= {c["id"] for c in out["causes"]}


def test_seed_error_human_output(tmp_path):
    path = tmp_path / "err.txt"
    path.write_text(SEED)
    r = cli("diagnose", str(path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "risk_control" in r.stdout and "Likely causes" in r.stdout and "What to do" in r.stdout
    assert "\033[" not in r.stdout  # no colour codes when not a terminal


def test_secret_never_echoed(tmp_path):
    key = "sk-proj-" + "Ab3x" * 12
    r = cli("diagnose", "--json", stdin=f"Incorrect API key provided: {key} Error code: 401", cwd=tmp_path)
    assert r.returncode == 0 and key not in r.stdout and key[10:30] not in r.stdout


def test_unknown_is_exit_zero(tmp_path):
    r = cli("diagnose", "--json", stdin="", cwd=tmp_path)
    assert r.returncode == 0
    assert json.loads(r.stdout)["category"] == "unknown"


def test_batch_in_order_and_bad_line_kept(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"text": SEED}),
        "not json at all: httpx.ConnectTimeout: timed out",
        json.dumps({"text": "AxiosError: Request failed with status code 500"}),
        json.dumps({"nope": 1}),
    ]) + "\n")
    r = cli("diagnose", "--batch", str(src), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["category"] for x in rows[:3]] == ["risk_control", "network", "server"]
    assert len(rows) == 4
    assert "in.jsonl:2" in r.stderr and "in.jsonl:4" in r.stderr


@pytest.mark.parametrize("args, needle", [
    (("diagnose", "/nonexistent/file.txt"), "cannot read /nonexistent/file.txt"),
    (("diagnose", "--bogus"), "unrecognized arguments"),
    (("frobnicate",), "invalid choice"),
    (("diagnose", "x.txt", "--batch", "y.jsonl"), "either FILE or --batch"),
])
def test_usage_errors_one_line_exit_2(tmp_path, args, needle):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_bad_config_one_line(tmp_path):
    r = cli("status", "--json", cwd=tmp_path, env={"PROBE_INTERVAL": "0"})
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "PROBE_INTERVAL" in r.stderr


def test_bad_database_url_one_line(tmp_path):
    r = cli("db", "upgrade", cwd=tmp_path,
            env={"DATABASE_URL": "postgresql+psycopg://nobody:secretpw@127.0.0.1:1/none"})
    assert r.returncode in (1, 2)
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "secretpw" not in r.stderr and "DATABASE_URL" in r.stderr


def test_version_and_help(tmp_path):
    v = cli("--version", cwd=tmp_path)
    assert v.returncode == 0 and v.stdout.startswith("sora-bot ")
    h = cli("--help", cwd=tmp_path)
    assert h.returncode == 0
    for word in ("run", "diagnose", "status", "probe", "db"):
        assert word in h.stdout


def test_corrections_export_prints_json_lines(tmp_path):
    from bot.store import open_store

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = open_store(url)
    store.upgrade()
    for team in ("slack:T1", "discord:42"):
        store.remember(team, {"source": "chat", "category": "risk_control", "fingerprint": "fp_ab",
                              "redacted": f"Bearer [REDACTED] {SEED}"}, author="U1")
    store.correct("slack:T1", "fp_ab", "quota", by_id="U1", by="alice")
    store.correct("discord:42", "fp_ab", "server", by_id="U7", by="bob")
    store.close()
    r = cli("corrections", "export", cwd=tmp_path, env={"DATABASE_URL": url})
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["team"], x["category"], x["was"], x["by"]) for x in rows] == [
        ("slack:T1", "quota", "risk_control", "alice"), ("discord:42", "server", "risk_control", "bob")]
    assert all(x["redacted"].startswith("Bearer [REDACTED]") and x["at"].endswith("Z") for x in rows)
    usage = cli("corrections", cwd=tmp_path, env={"DATABASE_URL": url})
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1
