"""Settings from the environment and ``.env``; every mistake becomes one ConfigError line.

Validation happens at start (``load_settings``) so a typo fails at boot, not during an incident.
``.env.example`` lists every setting; keep the two in step (a test checks).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.operator_config import OperatorConfig

OFFICIAL_TARGET = "openai"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Target:
    """One API endpoint to probe: the official API or an OpenAI-compatible gateway."""

    name: str
    base_url: str
    api_key: SecretStr | None
    key_env: str | None = None
    official: bool = False

    def __repr__(self) -> str:  # never show the key, even by accident in a log
        return f"Target(name={self.name!r}, base_url={self.base_url!r}, official={self.official})"


def secret_value(value: SecretStr | str | None) -> str | None:
    """The plain text of a secret setting; None when unset or blank."""
    if value is None:
        return None
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return raw.strip() or None


def _check_url(name: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def parse_gateways(raw: str, environ: Mapping[str, str]) -> list[Target]:
    """Parse ``SORA_GATEWAYS``: ``name=BASE_URL[|KEY_ENV]`` entries separated by commas.

    Example: ``relay=https://relay.example.com/v1|RELAY_API_KEY,backup=https://b.example/v1``.
    The key is read from the named environment variable so the URL list can be shared safely.
    """
    targets: list[Target] = []
    seen = {OFFICIAL_TARGET}
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        name, sep, rest = entry.partition("=")
        name = name.strip()
        if not sep or not _NAME_RE.match(name):
            raise ConfigError(
                f"SORA_GATEWAYS: bad entry {entry!r}; expected name=https://host/v1|KEY_ENV")
        url, _, key_env = rest.partition("|")
        url, key_env = url.strip(), key_env.strip()
        try:
            url = _check_url("SORA_GATEWAYS", url)
        except ValueError as exc:
            raise ConfigError(f"SORA_GATEWAYS: entry {name!r}: {exc}") from None
        if key_env and not _ENV_RE.match(key_env):
            raise ConfigError(f"SORA_GATEWAYS: entry {name!r}: {key_env!r} is not an env var name")
        if name in seen:
            raise ConfigError(f"SORA_GATEWAYS: duplicate target name {name!r}")
        seen.add(name)
        key = environ.get(key_env) if key_env else None
        targets.append(Target(name=name, base_url=url, api_key=SecretStr(key) if key else None,
                              key_env=key_env or None))
    return targets


class Settings(BaseSettings):
    """Every setting sora-bot reads. Names are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=True, env_ignore_empty=True)

    # Gateway keys are read by name from the environment or the .env file (see parse_gateways).
    _environ: dict[str, str] = PrivateAttr(default_factory=dict)
    # The operator file (bot.operator_config), read by load_settings; None: no file.
    _operator: OperatorConfig | None = PrivateAttr(default=None)

    DATABASE_URL: str = Field("sqlite:///sora-bot.db", description=(
        "SQLite file (embedded default, one process) or `postgresql+psycopg://user:password@host"
        ":5432/db` for two or more replicas."))
    OPENAI_API_KEY: SecretStr | None = Field(None, description=(
        "Key of the authenticated probes (GET /models, GET /videos); without it they are "
        "skipped. Never logged or echoed."))
    SORA_API_BASE_URL: str = Field("https://api.openai.com/v1", description=(
        "Base URL of the official API (or a proxy in front of it)."))
    SORA_GATEWAYS: str = Field("", description=(
        "Extra OpenAI-compatible targets: `name=BASE_URL|KEY_ENV`, comma-separated; the key is "
        "read from the named variable. The operator file's `[[targets.gateway]]` adds more."))
    SORA_STATUS_URL: str = Field("https://status.openai.com", description=(
        "Official status page (incident.io widget JSON, falls back to /api/v2/summary.json)."))
    STATUS_COMPONENTS: str = Field("Sora,Video generation,Video viewing", description=(
        "Status-page components that matter (comma-separated, case-insensitive)."))
    SORA_BOT_CONFIG: str | None = Field(None, description=(
        "Path of the operator file (TOML: targets, thresholds, reminders, maintenance windows, "
        "mentions); it must exist. Unset: `sora-bot.toml` in the working directory if present."))

    SLACK_BOT_TOKEN: SecretStr | None = Field(None, description=(
        "Slack bot token (xoxb-...); set: the Slack adapter starts."))
    SLACK_APP_TOKEN: SecretStr | None = Field(None, description=(
        "Slack app-level token (xapp-...); set: Socket Mode (no public URL needed)."))
    SLACK_SIGNING_SECRET: SecretStr | None = Field(None, description=(
        "Slack signing secret: required in HTTP mode (no SLACK_APP_TOKEN); requests at "
        "/slack/events."))
    SLACK_API_URL: str | None = Field(None, description=(
        "Slack Web API base URL, for self-hosted proxies and tests (default "
        "https://slack.com/api/)."))
    SLACK_ADMIN_USERS: str = Field("", description=(
        "Who may subscribe, unsubscribe and mute in Slack: comma-separated user ids."))
    SLACK_ADMIN_GROUP: str | None = Field(None, description=(
        "A Slack user group id whose members may subscribe, unsubscribe and mute."))

    DISCORD_TOKEN: SecretStr | None = Field(None, description=(
        "Discord bot token; set: the Discord adapter starts."))
    DISCORD_API_URL: str | None = Field(None, description=(
        "Discord REST base, for proxies and tests (e.g. http://127.0.0.1:P/api/v10)."))
    DISCORD_GATEWAY_URL: str | None = Field(None, description=(
        "Discord gateway websocket URL, for proxies and tests."))

    PORT: int = Field(3000, ge=1, le=65535, description=(
        "Port of the web app: /slack/events, /v1/events (ingest), /healthz, /metrics."))
    INGEST_TOKEN: SecretStr | None = Field(None, description=(
        "Bearer token for POST /v1/events; unset: the ingest API answers 503."))
    INGEST_MAX_BYTES: int = Field(256 * 1024, ge=1024, description=(
        "Largest accepted ingest request body, in bytes."))
    # team memory (Contract 5): the team ingest events belong to unless a request names one
    INGEST_TEAM: str = Field("shell:local", description=(
        "The team ingested events belong to: `<platform>:<workspace>`, e.g. `slack:T0123ABCD`, "
        "`discord:<guild id>` or `shell:local`; a request may name another with `?team=`."))

    PROBE_INTERVAL: float = Field(60, ge=1, description=(
        "Seconds between probe runs (minimum 1, for demos and tests)."))
    STATUS_POLL_INTERVAL: float = Field(60, ge=1, description=(
        "Seconds between status-page polls (minimum 1)."))
    PROBE_TIMEOUT: float = Field(10, gt=0, le=120, description=(
        "Seconds before a probe or a status-page request counts as timed out."))
    PROBE_GENERATE: bool = Field(False, description=(
        "Opt-in generation probe (POST /videos with sora-2, 4 s, a neutral prompt): costs money."))
    GENERATE_DAILY_BUDGET: int = Field(3, ge=0, description=(
        "Maximum generation probes per UTC day."))
    RETENTION_DAYS: int = Field(14, ge=1, description=(
        "Days of probe results, error events and status snapshots to keep."))
    LOG_LEVEL: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")

    # -- operations (issue 12): where the web app listens, who may scrape, how long to wait --
    HOST: str | None = Field(None, description=(
        "Interface of the web app. Unset: 127.0.0.1 when only the terminal chat runs, 0.0.0.0 "
        "otherwise."))
    METRICS_TOKEN: SecretStr | None = Field(None, description=(
        "Bearer token for GET /metrics; unset: /metrics needs none."))
    DB_TIMEOUT: float = Field(15, ge=1, le=600, description=(
        "Seconds any one database call may take (a statement, a lock wait, a silent network)."))
    LEADER_LEASE: float = Field(15, ge=2, le=600, description=(
        "Seconds a scheduler lease lasts among PostgreSQL replicas (renewed every third of it)."))
    LOG_FORMAT: str = Field("auto", description=(
        "Log lines as text, or json (one object a line); auto: json unless stderr is a "
        "terminal."))
    # -- end of operations settings ------------------------------------------------------------

    @field_validator("SORA_API_BASE_URL", "SORA_STATUS_URL")
    @classmethod
    def _url(cls, value: str, info) -> str:  # type: ignore[no-untyped-def]
        return _check_url(info.field_name, value)

    @field_validator("SLACK_API_URL", "DISCORD_API_URL", "DISCORD_GATEWAY_URL")
    @classmethod
    def _opt_url(cls, value: str | None, info) -> str | None:  # type: ignore[no-untyped-def]
        if not value:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https", "ws", "wss") or not parsed.netloc:
            raise ValueError(f"{info.field_name} must be a URL, got {value!r}")
        return value

    @field_validator("INGEST_TEAM")
    @classmethod
    def _team(cls, value: str) -> str:
        from bot.memory.model import check_team

        return check_team(value)

    @field_validator("LOG_LEVEL")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("LOG_FORMAT")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"auto", "text", "json"}:
            raise ValueError("LOG_FORMAT must be auto, text or json")
        return value

    @field_validator("HOST")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^[A-Za-z0-9.:\-\[\]]+$", value):
            raise ValueError("HOST must be an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0")
        return value.strip("[]")

    @field_validator("DATABASE_URL")
    @classmethod
    def _db(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql+psycopg://")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    # Derived views -------------------------------------------------------------------------

    @property
    def components(self) -> list[str]:
        return [c.strip() for c in self.STATUS_COMPONENTS.split(",") if c.strip()]

    @property
    def slack_admin_users(self) -> set[str]:
        return {u.strip() for u in self.SLACK_ADMIN_USERS.split(",") if u.strip()}

    def environ(self) -> Mapping[str, str]:
        """The environment with ``.env`` under it: where a chat adapter that is not part of
        the core settings (a new platform) reads its own variables."""
        return {**self._environ, **os.environ}

    def targets(self, environ: Mapping[str, str] | None = None) -> list[Target]:
        """The official API first, then the gateways, in configured order."""
        env = self.environ() if environ is None else environ
        official = Target(name=OFFICIAL_TARGET, base_url=self.SORA_API_BASE_URL,
                          api_key=self.OPENAI_API_KEY, key_env="OPENAI_API_KEY", official=True)
        targets = [official, *parse_gateways(self.SORA_GATEWAYS, env)]
        return targets + self.operator_config().gateways(env, [t.name for t in targets])

    def operator_config(self) -> OperatorConfig:
        """The operator file as loaded at start (an empty one when there is none)."""
        from bot.operator_config import OperatorConfig

        return self._operator if self._operator is not None else OperatorConfig()


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err.get("loc", ())) or "setting"
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    msg = msg.removeprefix(f"{name} ")  # validators name their setting; say it once
    value = err.get("input")
    if isinstance(value, str) and "SECRET" not in name and "TOKEN" not in name and "KEY" not in name:
        return f"{name}: {msg} (got {value!r})" if repr(value) not in msg else f"{name}: {msg}"
    return f"{name}: {msg}"


def load_settings(env_file: str | None = ".env", **overrides: object) -> Settings:
    """Load and validate settings; raise ConfigError with one line naming the bad setting."""
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg,arg-type]
        if env_file and os.path.exists(env_file):
            from dotenv import dotenv_values

            settings._environ = {k: v for k, v in dotenv_values(env_file).items() if v}
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    from bot.operator_config import config_path, load_operator_config

    path, required = config_path(settings.SORA_BOT_CONFIG)
    settings._operator = load_operator_config(path, required=required)
    targets = settings.targets()  # validates SORA_GATEWAYS and the file's gateways now
    settings._operator.check_targets([t.name for t in targets])
    return settings
