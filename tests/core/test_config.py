"""Bad config → one ConfigError line naming the setting; gateways parsed; .env.example complete."""

import re
from pathlib import Path

import pytest

from bot.config import Settings, load_settings, parse_gateways
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name, value, needle", [
    ("PROBE_INTERVAL", "0", "PROBE_INTERVAL"),
    ("PROBE_INTERVAL", "soon", "PROBE_INTERVAL"),
    ("PORT", "99999", "PORT"),
    ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
    ("SORA_API_BASE_URL", "api.openai.com", "SORA_API_BASE_URL"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ("SORA_GATEWAYS", "relay", "SORA_GATEWAYS"),
    ("SORA_GATEWAYS", "relay=https://a/v1,relay=https://b/v1", "duplicate"),
    ("SORA_GATEWAYS", "relay=https://a/v1|bad-env", "SORA_GATEWAYS"),
])
def test_bad_setting_is_one_line(monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    msg = str(info.value)
    assert "\n" not in msg and needle in msg


def test_secret_values_not_echoed(monkeypatch):
    monkeypatch.setenv("INGEST_TOKEN", "x" * 5)
    monkeypatch.setenv("PORT", "nope")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert "xxxxx" not in str(info.value)


def test_gateways_read_keys_by_env_name():
    targets = parse_gateways("relay=https://relay.example/v1/|RELAY_KEY, backup=http://b:8080/v1",
                             {"RELAY_KEY": "sk-relay-123"})
    assert [(t.name, t.base_url) for t in targets] == [("relay", "https://relay.example/v1"),
                                                      ("backup", "http://b:8080/v1")]
    assert targets[0].api_key.get_secret_value() == "sk-relay-123"
    assert targets[1].api_key is None
    assert "sk-relay" not in repr(targets[0])


def test_gateway_key_from_env_file(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("SORA_GATEWAYS=relay=https://relay.example/v1|RELAY_KEY\nRELAY_KEY=sk-file-1\n")
    s = load_settings(env_file=str(env))
    assert s.targets()[1].api_key.get_secret_value() == "sk-file-1"


def test_empty_values_mean_unset(tmp_path):
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=\nSLACK_API_URL=\nPROBE_INTERVAL=\n")
    s = load_settings(env_file=str(env))
    assert s.OPENAI_API_KEY is None and s.SLACK_API_URL is None and s.PROBE_INTERVAL == 60


def test_env_example_lists_every_setting():
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert set(Settings.model_fields) <= listed, set(Settings.model_fields) - listed
