"""The operator file (``sora-bot.toml`` / ``SORA_BOT_CONFIG``): read at start, applied to the
policies the core builds, every mistake one line through the real CLI, env vars unchanged.

Why these tests: without a file the bot must behave exactly as before (same Policies object),
and a typo in a file an operator edits under pressure must stop the bot with the key named, not
be ignored (a silently unknown key is a threshold that never applied).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_core
from bot.config import Settings, load_settings
from bot.config_docs import render_reference
from bot.errors import ConfigError
from bot.fakes import FakeSoraAPI, FakeStatusPage
from bot.monitor.policy import DEFAULT_POLICIES
from bot.operator_config import (
    Alerts,
    OperatorFile,
    SurgeThresholds,
    Thresholds,
    format_duration,
    load_operator_config,
    mention_due,
    parse_duration,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    """No setting from the developer's shell, and a working directory of the test's own."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _settings(tmp_path, **values):
    return load_settings(env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", **values)


def _core_policies(settings):
    core = build_core(settings)
    try:
        return core.monitor.monitor.policies
    finally:
        core.store.close()


# -- read and applied ------------------------------------------------------------------------

def test_without_a_file_the_core_builds_todays_policies(tmp_path):
    assert _core_policies(_settings(tmp_path, PROBE_INTERVAL=30)) == \
        DEFAULT_POLICIES.for_probe_interval(30)


def test_the_default_file_in_the_working_directory_changes_the_core_policies(tmp_path):
    (tmp_path / "sora-bot.toml").write_text(
        '[thresholds]\nopen_after = 4\nerror_rate_open = 0.6\nquiet_resolve = "15m"\n'
        '[thresholds.surge.auth]\nmin_errors = 12\n'
        '[alerts]\nreminder_interval = "30m"\nconfirm_probes = 0\n')
    policies = _core_policies(_settings(tmp_path))
    base = DEFAULT_POLICIES.for_probe_interval(60)
    assert policies.outage == dataclasses.replace(base.outage, open_after=4, error_rate_open=0.6,
                                                  quiet_resolve_s=900.0)
    assert policies.surges["auth"] == dataclasses.replace(base.surges["auth"], min_errors=12)
    assert policies.surges["rate_limit"] == base.surges["rate_limit"]  # untouched categories stay
    assert (policies.reminder_interval_s, policies.confirm_probes) == (1800.0, 0)
    assert policies.confirm_interval_s == base.confirm_interval_s


def test_the_file_overrides_after_the_probe_interval_sizing(tmp_path):
    path = tmp_path / "ops.toml"
    path.write_text('[thresholds]\nopen_after = 3\n')
    sized = _core_policies(_settings(tmp_path, PROBE_INTERVAL=2, SORA_BOT_CONFIG=str(path)))
    assert sized.outage.window_s == DEFAULT_POLICIES.for_probe_interval(2).outage.window_s == 6.0
    path.write_text('[thresholds]\nwindow = "90s"\n')
    assert _core_policies(_settings(tmp_path, PROBE_INTERVAL=2,
                                    SORA_BOT_CONFIG=str(path))).outage.window_s == 90.0


def test_every_key_set_to_its_default_changes_nothing_and_every_key_reaches_its_field(tmp_path):
    """Each file key maps onto the policy field of the same meaning (window → window_s ...)."""
    base = DEFAULT_POLICIES.for_probe_interval(60)
    outage_keys = [k for k in Thresholds.model_fields if k != "surge"]

    def field(key, owner):
        return getattr(owner, f"{key}_s") if hasattr(owner, f"{key}_s") else getattr(owner, key)

    same = {k: field(k, base.outage) for k in outage_keys}
    same_surge = {k: field(k, base.surges["quota"]) for k in SurgeThresholds.model_fields}
    same_alerts = {k: field(k, base) for k in Alerts.model_fields}
    file = OperatorFile.model_validate({"thresholds": {**same, "surge": {"quota": same_surge}},
                                        "alerts": same_alerts})
    config = dataclasses.replace(load_operator_config(None), source="x.toml", file=file)
    assert config.policies(base) == base
    # and each one, changed alone, changes its own field
    for key in outage_keys:
        value = same[key]
        if isinstance(value, str):
            changed = "error"
        else:
            changed = value + 1 if isinstance(value, int) else value * 0.9
        file = OperatorFile.model_validate({"thresholds": {key: changed}})
        policies = dataclasses.replace(config, file=file).policies(base)
        assert field(key, policies.outage) == changed, key
        assert policies.surges == base.surges


# -- env vars keep working -----------------------------------------------------------------------

def test_env_gateways_and_file_gateways_merge_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("SORA_GATEWAYS", "relay=https://relay.example/v1|RELAY_KEY")
    monkeypatch.setenv("RELAY_KEY", "sk-relay")
    monkeypatch.setenv("BACKUP_KEY", "sk-backup")
    (tmp_path / "sora-bot.toml").write_text(
        '[[targets.gateway]]\nname = "backup"\nbase_url = "https://backup.example/v1/"\n'
        'key_env = "BACKUP_KEY"\n')
    targets = _settings(tmp_path).targets()
    assert [(t.name, t.base_url, t.official) for t in targets] == [
        ("openai", "https://api.openai.com/v1", True), ("relay", "https://relay.example/v1", False),
        ("backup", "https://backup.example/v1", False)]
    assert targets[2].api_key.get_secret_value() == "sk-backup"


@pytest.mark.parametrize("text, needle", [
    ('[[targets.gateway]]\nname = "relay"\nbase_url = "https://b/v1"\n', "also an earlier entry or SORA_GATEWAYS"),
    ('[[targets.gateway]]\nname = "openai"\nbase_url = "https://b/v1"\n', "also the official API"),
])
def test_a_duplicate_target_name_is_an_error(tmp_path, monkeypatch, text, needle):
    monkeypatch.setenv("SORA_GATEWAYS", "relay=https://relay.example/v1")
    (tmp_path / "sora-bot.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        _settings(tmp_path)
    assert str(info.value).startswith("sora-bot.toml: targets.gateway[0].name: duplicate target")
    assert needle in str(info.value)


def test_env_settings_are_unchanged_by_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PROBE_INTERVAL", "15")
    monkeypatch.setenv("SORA_API_BASE_URL", "https://proxy.example/v1")
    (tmp_path / "sora-bot.toml").write_text('[thresholds]\nopen_after = 3\n')
    s = _settings(tmp_path)
    assert s.PROBE_INTERVAL == 15 and s.targets()[0].base_url == "https://proxy.example/v1"
    assert _core_policies(s).outage.window_s == DEFAULT_POLICIES.for_probe_interval(15).outage.window_s


def test_a_named_file_must_exist_the_default_one_need_not(tmp_path):
    assert _settings(tmp_path).operator_config().source is None
    with pytest.raises(ConfigError, match=r"^SORA_BOT_CONFIG: no such file 'nope.toml'$"):
        _settings(tmp_path, SORA_BOT_CONFIG="nope.toml")


# -- one-line errors -------------------------------------------------------------------------

ERRORS = [
    ('[thresholds]\nopen_after = 0\n', "thresholds.open_after: must be an integer >= 1, got 0"),
    ('[thresholds]\nopen_afterr = 3\n', "thresholds.open_afterr: unknown key (did you mean 'open_after'?)"),
    ('[threshold]\nopen_after = 3\n', "threshold: unknown key (did you mean 'thresholds'?)"),
    ('[thresholds]\nopen_after = "3"\n', "thresholds.open_after: must be an integer, got '3'"),
    ('[thresholds]\nerror_rate_open = 0.3\n',
     "thresholds.error_rate_resolve: must be below error_rate_open (hysteresis), got 0.34"),
    ('[thresholds]\nburst_severity = "loud"\n',
     "thresholds.burst_severity: must be one of warning, error, critical, got 'loud'"),
    ('[thresholds.surge.server]\nmin_errors = 3\n', "thresholds.surge.server: not a surge category"),
    ('[thresholds.surge.auth]\nmin_errrors = 3\n',
     "thresholds.surge.auth.min_errrors: unknown key (did you mean 'min_errors'?)"),
    ('[thresholds.surge.auth]\nmin_share = 2\n', "thresholds.surge.auth.min_share: must be between 0 and 1, got 2.0"),
    ('[alerts]\nreminder_interval = "2 hours"\n', 'alerts.reminder_interval: must be a duration such as "90s"'),
    ('[alerts]\nreminder_interval = -5\n', "alerts.reminder_interval: must not be negative (a duration), got -5"),
    ('[alerts]\nconfirm_probes = -1\n', "alerts.confirm_probes: must be an integer >= 0, got -1"),
    ('[[maintenance]]\nname = "x"\nstart = "25:00"\nduration = "1h"\n',
     "maintenance[0].start: must be HH:MM (24-hour clock), got '25:00'"),
    ('[[maintenance]]\nname = "x"\nstart = "01:00"\nduration = "1h"\ntimezone = "Mars/Base"\n',
     "maintenance[0].timezone: must be an IANA time zone such as Europe/Berlin, got 'Mars/Base'"),
    ('[[maintenance]]\nname = "x"\nstart = "01:00"\nduration = "1h"\nweekdays = ["funday"]\n',
     "maintenance[0].weekdays: must be among mon, tue, wed, thu, fri, sat, sun, got 'funday'"),
    ('[[maintenance]]\nname = "x"\nstart = "01:00"\n', "maintenance[0].duration: required key missing"),
    ('[[maintenance]]\nname = "x"\nstart = "01:00"\nduration = "9d"\n',
     "maintenance[0].duration: must be at most one week, got 777600.0"),
    ('[[maintenance]]\nname = "a"\nstart = "01:00"\nduration = "1h"\n'
     '[[maintenance]]\nname = "a"\nstart = "02:00"\nduration = "1h"\n',
     "maintenance: window names must be unique, got ['a', 'a']"),
    ('[[maintenance]]\nname = "a"\nstart = "01:00"\nduration = "1h"\ntargets = ["relai"]\n',
     "maintenance[0].targets: unknown target 'relai' (known: openai)"),
    ('[mentions]\nslack = "@oncall"\n', "mentions.slack: must be a Slack user group id such as \"S0123ABC\", got '@oncall'"),
    ('[mentions]\ndiscord = "<@&1>"\n', "mentions.discord: must be a Discord role id"),
    ('[[targets.gateway]]\nname = "r"\nbase_url = "ftp://x"\n', "targets.gateway[0].base_url: must be an http(s) URL"),
    ('[[targets.gateway]]\nname = "r"\nbase_url = "https://x/v1"\nkey_env = "bad-name"\n',
     "targets.gateway[0].key_env: must be an environment variable name"),
    ('[thresholds\nopen_after = 1\n', "not valid TOML: Expected ']' at the end of a table declaration (at line 1"),
    ('thresholds = 3\n', "thresholds: must be a table, got 3"),
]


@pytest.mark.parametrize("text, expected", ERRORS)
def test_every_mistake_is_one_line_naming_the_file_and_key(tmp_path, text, expected):
    (tmp_path / "sora-bot.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        _settings(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"sora-bot.toml: {expected}"), message


def _cli(tmp_path, *args, env=None):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DISCORD_", "SORA_", "OPENAI_"))}
    full.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", **(env or {})})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input="", text=True,
                          capture_output=True, cwd=tmp_path, env=full, timeout=60)


@pytest.mark.parametrize("text, env, line", [
    ('[thresholds]\nopen_after = 0\n', {},
     "sora-bot: error: sora-bot.toml: thresholds.open_after: must be an integer >= 1, got 0"),
    ('[alerts]\nreminder_intervall = "1h"\n', {},
     "sora-bot: error: sora-bot.toml: alerts.reminder_intervall: unknown key (did you mean "
     "'reminder_interval'?)"),
    ('[mentions\n', {}, "sora-bot: error: sora-bot.toml: not valid TOML: Expected ']' at the end "
                        "of a table declaration (at line 1, column 10)"),
    (None, {"SORA_BOT_CONFIG": "missing.toml"},
     "sora-bot: error: SORA_BOT_CONFIG: no such file 'missing.toml'"),
])
def test_sora_bot_run_with_a_bad_file_exits_2_with_one_line(tmp_path, text, env, line):
    if text is not None:
        (tmp_path / "sora-bot.toml").write_text(text)
    r = _cli(tmp_path, "run", env=env)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [line]
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_status_probes_the_files_gateway_in_a_real_process(tmp_path):
    """The file's target reaches the probes: `sora-bot status --json` lists it."""
    with FakeSoraAPI() as api, FakeStatusPage() as page:
        (tmp_path / "ops.toml").write_text(
            f'[[targets.gateway]]\nname = "relay"\nbase_url = "{api.base_url}"\n'
            'key_env = "RELAY_KEY"\n')
        r = _cli(tmp_path, "status", "--json", env={
            "SORA_BOT_CONFIG": "ops.toml", "SORA_API_BASE_URL": api.base_url,
            "SORA_STATUS_URL": page.base_url, "OPENAI_API_KEY": "sk-test-" + "a" * 20,
            "RELAY_KEY": "sk-relay-" + "b" * 20, "PROBE_TIMEOUT": "2"})
    assert r.returncode == 0, r.stderr
    probes = json.loads(r.stdout)["probes"]
    assert {p["target"] for p in probes} == {"openai", "relay"}
    assert all(p["ok"] for p in probes if p["target"] == "relay")


# -- maintenance and mentions ----------------------------------------------------------------

def test_maintenance_windows_are_parsed_onto_the_policies(tmp_path, monkeypatch):
    monkeypatch.setenv("SORA_GATEWAYS", "relay=https://relay.example/v1")
    (tmp_path / "sora-bot.toml").write_text(
        '[[maintenance]]\nname = "weekend"\nstart = "02:00"\nduration = "1h30m"\n'
        'weekdays = ["Sat", "sun"]\ntimezone = "Europe/Berlin"\ntargets = ["relay"]\n')
    [window] = _core_policies(_settings(tmp_path)).maintenance
    assert (window.name, window.start, window.duration_s, window.weekdays, window.timezone,
            window.targets) == ("weekend", "02:00", 5400.0, ("sat", "sun"), "Europe/Berlin",
                                ("relay",))
    saturday_0230_berlin = datetime(2026, 6, 6, 0, 30, tzinfo=UTC)  # CEST = UTC+2
    assert window.active(saturday_0230_berlin) and window.covers("relay")
    assert not window.covers("openai")
    assert not window.active(datetime(2026, 6, 6, 1, 31, tzinfo=UTC))  # 03:31 local: over


def test_mentions_are_parsed(tmp_path):
    (tmp_path / "sora-bot.toml").write_text(
        '[mentions]\nslack = "S0123ABC"\ndiscord = "123456789012345678"\n')
    mentions = _settings(tmp_path).operator_config().mentions
    assert (mentions.slack, mentions.discord) == ("S0123ABC", "123456789012345678")
    os.remove(tmp_path / "sora-bot.toml")
    assert _settings(tmp_path).operator_config().mentions.slack is None


@pytest.mark.parametrize("payload, due", [
    ({"notice": "opened", "severity": "critical", "reason": "first notice"}, True),
    ({"notice": "opened", "severity": "error", "reason": "first notice"}, False),
    ({"notice": "updated", "severity": "critical", "reason": "severity changed"}, True),
    ({"notice": "updated", "severity": "critical", "reason": "new evidence"}, False),
    ({"notice": "updated", "severity": "error", "reason": "severity changed"}, False),
    ({"notice": "resolved", "severity": "critical", "reason": "severity changed"}, False),
])
def test_only_the_notice_that_makes_it_critical_pages(payload, due):
    assert mention_due(payload) is due


@pytest.mark.parametrize("text, seconds", [
    (90, 90.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0), ("5m", 300.0), ("2h", 7200.0),
    ("1h30m", 5400.0), ("1d", 86400.0), ("0", 0.0), (" 2H ", 7200.0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "2x", "1m2h", "-5", True, [1]])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips():
    for seconds in (0.0, 3.0, 90.0, 180.0, 5400.0, 7200.0, 86400.0):
        assert parse_duration(format_duration(seconds)) == seconds


# -- the example and the reference -----------------------------------------------------------

def test_the_example_file_loads_and_uses_every_section(tmp_path, monkeypatch):
    monkeypatch.setenv("SORA_BOT_CONFIG", str(ROOT / "sora-bot.example.toml"))
    s = _settings(tmp_path)
    config = s.operator_config()
    assert config.source == str(ROOT / "sora-bot.example.toml")
    assert set(config.file.model_fields_set) == set(OperatorFile.model_fields)
    assert [t.name for t in s.targets()] == ["openai", "relay"]
    policies = _core_policies(s)
    assert [w.name for w in policies.maintenance] == ["weekend-upgrade"]
    assert config.mentions.slack and config.mentions.discord


def test_the_reference_is_what_the_generator_writes():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert text == render_reference(), ("docs/configuration.md is stale: run "
                                        "`python -m bot.operator_config --docs`")


def test_the_reference_names_every_env_var_and_file_key():
    text = render_reference()
    for name, info in Settings.model_fields.items():
        assert f"| `{name}` |" in text
        assert info.description, f"Settings.{name} needs a description= for the reference"
    for key in [*Thresholds.model_fields, *SurgeThresholds.model_fields, *Alerts.model_fields]:
        if key != "surge":
            assert f"| `{key}` |" in text


def test_the_reference_is_linked_from_readme_and_operations():
    link = "(docs/configuration.md)"
    assert link in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(configuration.md)" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
