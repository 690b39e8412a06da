"""Operator configuration as data: one optional TOML file, validated at start.

Why a file as well as the environment: thresholds, maintenance windows and who to page are
tables, not single values, and an operator tunes them like any other reviewed file. The file is
``sora-bot.toml`` in the working directory, or the path in ``SORA_BOT_CONFIG`` (which then must
exist). Without a file everything is exactly today's: the policies are built as the defaults,
then sized for ``PROBE_INTERVAL``, and only then does the file override what it names.

Every mistake is one ``ConfigError`` line naming the file, the key path and the problem
(``sora-bot.toml: thresholds.open_after: must be an integer >= 1, got 0``): the pydantic model
forbids unknown keys (a typo is caught, with a suggestion), and the policy dataclasses keep
their own range checks, whose messages are re-keyed to the file's names here.

``python -m bot.operator_config --docs`` writes ``docs/configuration.md`` from ``Settings`` and
the models below (``bot.config_docs``), so the reference cannot drift from the code (a test
compares them).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import sys
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.config import _ENV_RE, _NAME_RE, OFFICIAL_TARGET, Target, _check_url
from bot.errors import ConfigError
from bot.monitor.policy import (
    DEFAULT_POLICIES,
    WEEKDAYS,
    MaintenanceWindow,
    OutagePolicy,
    Policies,
    SurgePolicy,
)

DEFAULT_FILE = "sora-bot.toml"
ENV_VAR = "SORA_BOT_CONFIG"
DOCS_FILE = Path("docs") / "configuration.md"

# -- durations ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?"
                       r"(?:(\d+(?:\.\d+)?)s)?$")
_DURATION_HELP = 'must be a duration such as "90s", "5m", "2h", "1h30m" or a number of seconds'


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90"``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1h30m"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError(_DURATION_HELP)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("must not be negative (a duration)")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(_DURATION_HELP)
    text = value.strip().lower().replace(" ", "")
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not text or match is None:
            raise ValueError(_DURATION_HELP) from None
        d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        return d * 86400 + h * 3600 + m * 60 + s
    if seconds < 0:
        raise ValueError("must not be negative (a duration)")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of ``2h``, ``1h30m``, ``90s``-style spellings (``0`` stays ``0``)."""
    if seconds == 0:
        return "0"
    if seconds != int(seconds) or seconds < 60:
        return f"{seconds:g}s"
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


Duration = Annotated[float, BeforeValidator(parse_duration)]

# -- the file's model --------------------------------------------------------------------------


class _Section(BaseModel):
    """Strict (``"2"`` is not 2) and closed (an unknown key is an error, so a typo is caught)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GatewayEntry(_Section):
    """One extra OpenAI-compatible target, like an entry of ``SORA_GATEWAYS``."""

    name: str = Field(description="Target name (letters, digits, `_.-`), shown in notices and "
                                  "`/sora probe --target`.")
    base_url: str = Field(description="Base URL of the OpenAI-compatible API, e.g. "
                                      "`https://relay.example.com/v1`.")
    key_env: str | None = Field(default=None, description="Name of the environment variable (or `.env` "
                                                  "line) holding this target's API key.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("must be letters, digits and _.- (up to 41 characters)")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            return _check_url("base_url", value)
        except ValueError:
            raise ValueError("must be an http(s) URL such as https://relay.example.com/v1") from None

    @field_validator("key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_RE.match(value):
            raise ValueError("must be an environment variable name such as RELAY_API_KEY")
        return value


class TargetsSection(_Section):
    gateway: list[GatewayEntry] = Field(
        default_factory=list,
        description="`[[targets.gateway]]` tables: extra targets, probed after the official API "
                    "and after `SORA_GATEWAYS`'s; a name used twice is an error.")


class _Lifecycle(_Section):
    """The hysteresis and flapping keys an outage and a surge share (``Lifecycle`` in
    bot/monitor/lifecycle.py): declared once, so the two sections cannot drift apart."""

    open_after: int | None = Field(default=None, description="Open after this many bad evaluations in "
                                                     "a row.")
    resolve_after: int | None = Field(default=None, description="Resolve after this many healthy "
                                                        "evaluations in a row.")
    flap_window: Duration | None = Field(default=None, description="Window in which state changes count "
                                                           "as flapping.")
    flap_max_changes: int | None = Field(default=None, description="State changes in `flap_window` that "
                                                           "mark it flapping.")
    flap_stable: Duration | None = Field(default=None, description="Flapping ends after this long in one "
                                                           "state (or 3 of its longest cycles).")
    sustain_after: int | None = Field(default=None, description="While flapping: this many bad "
                                                        "evaluations in a row escalate to a "
                                                        "sustained outage.")


class SurgeThresholds(_Lifecycle):
    """``[thresholds.surge.<category>]``: one error category's surge policy (SurgePolicy)."""

    window: Duration | None = Field(default=None, description="Window the category's errors are "
                                                      "counted in.")
    min_errors: int | None = Field(default=None, description="Errors of the category in the window that "
                                                     "make a surge.")
    min_share: float | None = Field(default=None, description="Share of every outcome in the window the "
                                                      "category must reach (0 to 1).")
    min_sources: int | None = Field(default=None, description="Distinct reporters (chat channels, ingest, "
                                                      "probe) needed.")
    baseline_window: Duration | None = Field(default=None, description="Window of the category's normal "
                                                               "rate.")
    baseline_factor: float | None = Field(default=None, description="A surge must be this many times the "
                                                            "normal rate.")
    resolve_max_errors: int | None = Field(default=None, description="At or below this many errors the "
                                                             "surge is healthy again.")
    resolve_share: float | None = Field(default=None, description="... or when the share falls below "
                                                          "this (below `min_share`).")
    default_severity: str | None = Field(default=None, description="Severity of a surge: warning, error "
                                                           "or critical.")


class Thresholds(_Lifecycle):
    """``[thresholds]``: when a target's failures are an outage (OutagePolicy)."""

    window: Duration | None = Field(default=None, description="Probe failure-rate window (by default 3 "
                                                      "probe intervals: 3m at PROBE_INTERVAL=60).")
    min_samples: int | None = Field(default=None, description="Probe results needed in the window before "
                                                      "the rate counts.")
    error_rate_open: float | None = Field(default=None, description="Probe failure rate that is bad "
                                                            "(0 to 1).")
    error_rate_resolve: float | None = Field(default=None, description="Failure rate that is healthy "
                                                               "again (below `error_rate_open`).")
    burst_window: Duration | None = Field(default=None, description="Window of the team's provider-side "
                                                            "errors (a burst).")
    burst_min_errors: int | None = Field(default=None, description="Team errors in `burst_window` that "
                                                           "make a burst.")
    burst_min_sources: int | None = Field(default=None, description="Distinct reporters a burst needs.")
    burst_resolve_errors: int | None = Field(default=None, description="At most this many team errors is "
                                                               "healthy (below `burst_min_errors`).")
    baseline_window: Duration | None = Field(default=None, description="Window of the target's normal "
                                                               "team-error rate.")
    baseline_factor: float | None = Field(default=None, description="A burst must be this many times the "
                                                            "normal rate.")
    quiet_resolve: Duration | None = Field(default=None, description="Without probes: healthy after this "
                                                             "long with no errors.")
    burst_severity: str | None = Field(default=None, description="Severity when only team errors show "
                                                         "it: warning, error or critical.")
    all_down_severity: str | None = Field(default=None, description="Severity when every probe kind's "
                                                            "latest result failed.")
    surge: dict[str, SurgeThresholds] = Field(
        default_factory=dict,
        description="`[thresholds.surge.<category>]` tables: per-category surge thresholds "
                    "(keys below), over that category's defaults.")


class Alerts(_Section):
    """``[alerts]``: how loud an open incident is."""

    reminder_interval: Duration | None = Field(default=None, description='Reminder in an open incident\'s '
                                                                 'thread while it is still failing; '
                                                                 '"0" turns reminders off.')
    confirm_probes: int | None = Field(default=None, description="Quick re-probes of a target after a "
                                                         "failed round (0: none).")
    confirm_interval: Duration | None = Field(default=None, description="Time between those re-probes.")


class MaintenanceEntry(_Section):
    """``[[maintenance]]``: a quiet period (MaintenanceWindow)."""

    name: str = Field(description="Name of the window (unique), shown in the log.")
    start: str = Field(description='Start time, "HH:MM" on a 24-hour clock, in `timezone`.')
    duration: Duration = Field(description='How long it lasts, e.g. "2h" (at most a week).')
    weekdays: list[str] = Field(default_factory=list,
                                description='Days it starts on, e.g. ["sat", "sun"]; empty: '
                                            'every day.')
    timezone: str = Field(default="UTC", description='IANA time zone of `start`, e.g. "Europe/Berlin".')
    targets: list[str] = Field(default_factory=list,
                               description="Targets it silences (names); empty: all.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("must be letters, digits and _.- (up to 41 characters)")
        return value

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        for given, day in zip(value, days, strict=True):
            if day not in WEEKDAYS:
                raise ValueError(f"must be among {', '.join(WEEKDAYS)}, got {given!r}")
        return days


_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,20}$")
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")


class MentionsSection(_Section):
    """``[mentions]``: who is paged on a critical notice."""

    slack: str | None = Field(default=None, description='Slack user group id, e.g. "S0123ABC" (shown as '
                                                '`<!subteam^S0123ABC>`).')
    discord: str | None = Field(default=None, description='Discord role id, e.g. "123456789012345678" '
                                                  '(shown as `<@&ID>`).')

    @field_validator("slack")
    @classmethod
    def _slack(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_GROUP.match(value):
            raise ValueError('must be a Slack user group id such as "S0123ABC"')
        return value

    @field_validator("discord")
    @classmethod
    def _discord(cls, value: str | None) -> str | None:
        if value is not None and not _SNOWFLAKE.match(value):
            raise ValueError('must be a Discord role id (digits) such as "123456789012345678"')
        return value


class OperatorFile(_Section):
    """The whole file; every section is optional."""

    targets: TargetsSection = Field(default_factory=TargetsSection)
    thresholds: Thresholds = Thresholds()
    alerts: Alerts = Alerts()
    maintenance: list[MaintenanceEntry] = Field(default_factory=list)
    mentions: MentionsSection = MentionsSection()


# -- mapping onto the policies -----------------------------------------------------------------

def policy_field(owner: type[object], key: str) -> str:
    """The dataclass field a file key sets: ``window`` → ``window_s``, ``open_after`` as is."""
    names = {f.name for f in dataclasses.fields(owner)}  # type: ignore[arg-type]
    if f"{key}_s" in names:
        return f"{key}_s"
    if key in names:
        return key
    raise AssertionError(f"{owner.__name__} has no field for file key {key!r}")  # a test guards


def _key_map(model: type[BaseModel], owner: type[object], prefix: str) -> dict[str, str]:
    """Dataclass field → the key path naming it in the file (for error messages)."""
    return {policy_field(owner, key): f"{prefix}.{key}" for key in model.model_fields
            if key != "surge"}


_POLICIES_KEYS = {"reminder_interval_s": "alerts.reminder_interval",
                  "confirm_probes": "alerts.confirm_probes",
                  "confirm_interval_s": "alerts.confirm_interval", "maintenance": "maintenance"}
_MAINTENANCE_KEYS = {"start": "start", "duration_s": "duration", "weekdays": "weekdays",
                     "timezone": "timezone", "name": "name", "targets": "targets"}
_POLICY_ERROR = re.compile(r"^monitor policy: (?P<owner>.+?)\.(?P<field>[a-z_]+)(?:\[[^\]]*\])? "
                           r"(?P<problem>.*)$")


def _rekey(exc: ConfigError, source: str, keys: Mapping[str, str], fallback: str) -> ConfigError:
    """A policy's own check, said in the file's terms: ``FILE: key.path: problem``."""
    text = str(exc)
    match = _POLICY_ERROR.match(text)
    if match and match["field"] in keys:
        return ConfigError(f"{source}: {keys[match['field']]}: {match['problem']}")
    return ConfigError(f"{source}: {fallback}: {text.removeprefix('monitor policy: ')}")


def _overrides(section: BaseModel, owner: type[object]) -> dict[str, object]:
    return {policy_field(owner, key): value
            for key, value in section.model_dump(exclude_none=True, exclude={"surge"}).items()}


@dataclass(frozen=True)
class Mentions:
    """Who a critical notice pages, per chat platform (ids only; each sink renders its own)."""

    slack: str | None = None
    discord: str | None = None


def mention_due(payload: Mapping[str, object]) -> bool:
    """Does this notice page the configured group? Only when it is critical and it starts the
    alert (the opened notice) or raises it to critical: pinging every update of a long outage
    would teach people to ignore the ping. A resolved notice never pages."""
    if payload.get("severity") != "critical" or payload.get("notice") == "resolved":
        return False
    return payload.get("notice") == "opened" or payload.get("reason") == "severity changed"


@dataclass(frozen=True)
class OperatorConfig:
    """The validated file (or its absence: ``source`` None, every section empty)."""

    source: str | None = None
    file: OperatorFile = dataclasses.field(default_factory=OperatorFile)

    @property
    def mentions(self) -> Mentions:
        return Mentions(slack=self.file.mentions.slack, discord=self.file.mentions.discord)

    def gateways(self, environ: Mapping[str, str], taken: Sequence[str]) -> list[Target]:
        """The file's gateways, after the official target and ``SORA_GATEWAYS``'s (``taken``)."""
        seen = set(taken)
        targets = []
        for i, entry in enumerate(self.file.targets.gateway):
            if entry.name in seen:
                also = "the official API" if entry.name == OFFICIAL_TARGET else "an earlier entry or SORA_GATEWAYS"
                raise ConfigError(f"{self.source}: targets.gateway[{i}].name: duplicate target name "
                                  f"{entry.name!r} (also {also})")
            seen.add(entry.name)
            key = environ.get(entry.key_env) if entry.key_env else None
            targets.append(Target(name=entry.name, base_url=entry.base_url,
                                  api_key=SecretStr(key) if key else None, key_env=entry.key_env))
        return targets

    def check_targets(self, names: Sequence[str]) -> None:
        """Maintenance windows may only name targets that exist (a typo would silence nothing)."""
        for i, window in enumerate(self.file.maintenance):
            for name in window.targets:
                if name not in names:
                    raise ConfigError(f"{self.source}: maintenance[{i}].targets: unknown target "
                                      f"{name!r} (known: {', '.join(names)})")

    def policies(self, base: Policies) -> Policies:
        """``base`` (the defaults sized for PROBE_INTERVAL) with what the file sets."""
        if self.source is None:
            return base
        source, th = self.source, self.file.thresholds
        try:
            outage = dataclasses.replace(base.outage, **_overrides(th, OutagePolicy))  # type: ignore[arg-type]
        except ConfigError as exc:
            raise _rekey(exc, source, _key_map(Thresholds, OutagePolicy, "thresholds"),
                         "thresholds") from None
        surges = dict(base.surges)
        for category, section in th.surge.items():
            path = f"thresholds.surge.{category}"
            if category not in surges:
                raise ConfigError(f"{source}: {path}: not a surge category (one of "
                                  f"{', '.join(sorted(surges))})")
            try:
                surges[category] = dataclasses.replace(surges[category],
                                                       **_overrides(section, SurgePolicy))  # type: ignore[arg-type]
            except ConfigError as exc:
                raise _rekey(exc, source, _key_map(SurgeThresholds, SurgePolicy, path),
                             path) from None
        windows = []
        for i, entry in enumerate(self.file.maintenance):
            path = f"maintenance[{i}]"
            try:
                windows.append(MaintenanceWindow(
                    name=entry.name, start=entry.start, duration_s=entry.duration,
                    weekdays=tuple(entry.weekdays), timezone=entry.timezone,
                    targets=tuple(entry.targets)))
            except ConfigError as exc:
                raise _rekey(exc, source, {k: f"{path}.{v}" for k, v in _MAINTENANCE_KEYS.items()},
                             path) from None
        alerts = _overrides(self.file.alerts, Policies)
        try:
            return dataclasses.replace(base, outage=outage, surges=MappingProxyType(surges),
                                       maintenance=base.maintenance + tuple(windows),
                                       **alerts)  # type: ignore[arg-type]
        except ConfigError as exc:
            raise _rekey(exc, source, _POLICIES_KEYS, "alerts") from None


# -- loading -----------------------------------------------------------------------------------

def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def model_of(annotation: object) -> tuple[type[BaseModel] | None, bool]:
    """The section model inside an annotation, and whether a list index / dict key comes first."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation):
        model, _ = model_of(arg)
        if model is not None:
            return model, origin in (list, dict)
    return None, False


def _siblings(loc: Sequence[int | str]) -> list[str]:
    """The keys allowed where ``loc``'s last key was found (for "did you mean")."""
    model: type[BaseModel] | None = OperatorFile
    skip = False
    for part in loc[:-1]:
        if skip:
            skip = False
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        model, skip = model_of(model.model_fields[part].annotation)
    return list(model.model_fields) if model is not None else []


_PROBLEMS = {
    "int_type": "must be an integer", "float_type": "must be a number",
    "string_type": "must be a string", "bool_type": "must be true or false",
    "list_type": "must be a list", "dict_type": "must be a table",
    "model_type": "must be a table", "missing": "required key missing",
}


def _pydantic_line(source: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = tuple(err.get("loc", ()))
    where = _loc(loc) or "(top level)"
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        allowed = _siblings(loc)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1) if loc else []
        hint = f"did you mean {near[0]!r}?" if near else f"allowed: {', '.join(allowed)}"
        return f"{source}: {where}: unknown key ({hint})"
    problem = _PROBLEMS.get(kind) or str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    value = err.get("input")
    if kind != "missing" and isinstance(value, (str, int, float, bool)) and "got " not in problem:
        problem = f"{problem}, got {value!r}"
    return f"{source}: {where}: {problem}"


def config_path(setting: str | None) -> tuple[str | None, bool]:
    """Which file to read: ``SORA_BOT_CONFIG`` (must exist) or ``sora-bot.toml`` if present."""
    if setting:
        return setting, True
    return (DEFAULT_FILE, False) if os.path.exists(DEFAULT_FILE) else (None, False)


def load_operator_config(path: str | None, *, required: bool = False) -> OperatorConfig:
    """Read and validate the file; ConfigError with one line on any mistake."""
    if path is None:
        return OperatorConfig()
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{ENV_VAR}: no such file {path!r}") from None
        return OperatorConfig()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        model = OperatorFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_pydantic_line(path, exc)) from None
    config = OperatorConfig(source=path, file=model)
    config.policies(DEFAULT_POLICIES)  # the policies' own checks, at start
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.operator_config",
                                     description="Write the configuration reference or check a file.")
    parser.add_argument("--docs", nargs="?", const=str(DOCS_FILE), metavar="PATH",
                        help=f"write the reference (default {DOCS_FILE})")
    parser.add_argument("--check", metavar="FILE", help="validate an operator file")
    args = parser.parse_args(argv)
    if args.check:
        try:
            load_operator_config(args.check, required=True)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.check}: ok")
    if args.docs:
        from bot.config_docs import render_reference

        Path(args.docs).write_text(render_reference(), encoding="utf-8")
        print(f"wrote {args.docs}")
    if not (args.docs or args.check):
        parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
