"""What we know about Sora / OpenAI / gateway / video-provider errors: one table, kept as data.

The table is ``knowledge.toml`` next to this module (read with ``tomllib``, validated with
pydantic). Anyone can edit it; ``docs/knowledge.md`` explains every field. Extra rule files
named in ``SORA_BOT_KNOWLEDGE`` (paths separated by ``os.pathsep``) are read after it: a rule
with an existing id replaces that rule, a new id adds one; causes, actions and hints merge.

Check a file without starting the bot::

    python -m bot.diagnosis check my_rules.toml

The file holds:

* ``[[rule]]``: one kind of error. *Triggers* say what it looks like (payload ``codes``,
  plain-text ``phrases``, regex ``patterns``, HTTP ``statuses``, ``exceptions`` class names);
  ``when`` / ``unless`` are facts about the paste that must / must not hold. ``weight`` (1–100)
  says how strongly the evidence points at ``category`` on its own: the classifier adds up the
  evidence per category and the strongest wins (see ``classify``). Each rule carries real
  ``example`` pastes with their source; a test diagnoses every one.
* ``[cause.ID]`` / ``[action]``: the wording for causes and steps. Templates may use
  ``{param}``, ``{hint}``, ``{retry_after}``, ``{status}``, ``{provider}`` (mid-sentence),
  ``{provider_name}`` (sentence start), ``{code}``, ``{param_part}``, ``{hint_part}``.
* ``[category.NAME]``: default summary, causes and actions, and the gateway variants.
* ``[param_hints]``, ``[[param_alias]]``, ``[provider]``: parameter advice and provider hints.
* ``[calibration]``: turns the evidence score into a confidence (fitted on the real corpus).
"""

from __future__ import annotations

import os
import re
import string
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.diagnosis.model import CATEGORIES, Cause

BUILTIN_PATH = Path(__file__).with_name("knowledge.toml")
ENV_VAR = "SORA_BOT_KNOWLEDGE"
STATUS_PAGE_URL = "https://status.openai.com"

# Facts about a paste that ``when`` / ``unless`` may name.
PREDICATES: frozenset[str] = frozenset({
    "param_null",     # the payload names no parameter
    "param_set",      # the payload names a parameter
    "no_status",      # no HTTP status shows in the text
    "has_status",     # an HTTP status shows in the text
    "html",           # the paste is an HTML page
    "job_failed",     # a job / task object whose status is failed
    "has_payload",    # an error body (JSON / repr / fields) was found
    "wrapped",        # the error was found inside another error's message (a gateway relaying)
    "status_4xx",     # the HTTP status shown is 4xx
    "status_5xx",     # the HTTP status shown is 5xx
    "exception",      # an exception class name shows (Name: message)
})

PLACEHOLDERS: frozenset[str] = frozenset({
    "provider", "provider_name", "status", "param", "hint", "param_part", "hint_part",
    "retry_after", "code",
})

_ID = r"^[a-z][a-z0-9_]*$"


# ---------------------------------------------------------------------------------------------
# The file format (pydantic): what a person may write
# ---------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExampleSpec(_Strict):
    text: str = Field(min_length=1)
    source: str = Field(min_length=4)
    note: str | None = None


Weight = Annotated[int, Field(ge=1, le=100)]


class RuleSpec(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=3)
    category: str
    retryable: bool | None = None
    weight: Weight
    codes: list[str] = []
    phrases: list[str] = []
    patterns: list[str] = []
    statuses: list[int | str] = []
    exceptions: list[str] = []
    when: list[str] = []
    unless: list[str] = []
    summary: str | None = None
    causes: dict[str, float] = {}
    actions: list[str] = []
    example: list[ExampleSpec] = []
    notes: str | None = None
    listed: bool = True   # False: more evidence for a type listed by another rule (help)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORIES or v == "unknown":
            raise ValueError(f"unknown category {v!r} (one of {', '.join(CATEGORIES[:-1])})")
        return v

    @field_validator("when", "unless")
    @classmethod
    def _predicates(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - PREDICATES)
        if bad:
            raise ValueError(f"unknown fact(s) {bad} (known: {', '.join(sorted(PREDICATES))})")
        return v

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, v: list[str]) -> list[str]:
        for p in v:
            if p != p.lower() or not p.strip():
                raise ValueError(f"phrase must be lower-case, non-empty text: {p!r}")
            m = re.match(r"[^a-z0-9]*([a-z0-9]+)(.?)", p)
            if p.isascii() and m is None:
                raise ValueError(f"phrase needs a letter or digit: {p!r}")
            if m is not None and p.isascii() and len(m.group(1)) < 3 and not m.group(2):
                raise ValueError(f"phrase too short to look for: {p!r}")
        return v

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern does not compile ({exc}): {p!r}") from None
            if re.sub(r"\\.", "", p) != re.sub(r"\\.", "", p).lower():
                raise ValueError(f"pattern must be lower-case (text is lowered first): {p!r}")
        return v

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: list[int | str]) -> list[int | str]:
        for s in v:
            if isinstance(s, str):
                if not re.fullmatch(r"[1-5]xx", s):
                    raise ValueError(f"status must be a number or like '5xx': {s!r}")
            elif not 100 <= s <= 599:
                raise ValueError(f"status out of range: {s}")
        return v

    @field_validator("causes")
    @classmethod
    def _likelihoods(cls, v: dict[str, float]) -> dict[str, float]:
        for k, lk in v.items():
            if not 0.0 <= lk <= 1.0:
                raise ValueError(f"cause {k} likelihood must be between 0 and 1")
        return v


class CauseSpec(_Strict):
    title: str = Field(min_length=3)
    why: str = Field(min_length=3)


class CategorySpec(_Strict):
    summary: str
    retryable: bool | None = None
    causes: dict[str, float]
    actions: list[str]
    gateway_causes: dict[str, float] = {}
    gateway_actions: list[str] = []


class AliasSpec(_Strict):
    pattern: str
    param: str


class ProviderHintSpec(_Strict):
    provider: str
    needles: list[str]


class ProviderSpec(_Strict):
    names: dict[str, str] = {}
    cjk_gateway_hints: list[str] = []
    hint: list[ProviderHintSpec] = []


class CalibrationSpec(_Strict):
    """confidence = 1 / (1 + exp(-(intercept + score·s + margin·m + support·u + payload·p
    + worded·w))) with s = score/100, m = min(margin, 40)/40, u = 1 if other rules agree,
    p = 1 if an error body was found, w = 1 if the winner rests on a code or wording (not only
    a status or an exception class). ``unknown`` is the confidence of an ``unknown`` verdict."""

    intercept: float = 0.0
    score: float = 3.0
    margin: float = 1.0
    support: float = 0.5
    payload: float = 0.5
    worded: float = 1.0
    unknown: float = 0.8


class KnowledgeFile(_Strict):
    rule: list[RuleSpec] = []
    cause: dict[str, CauseSpec] = {}
    action: dict[str, str] = {}
    category: dict[str, CategorySpec] = {}
    param_hints: dict[str, str] = {}
    param_alias: list[AliasSpec] = []
    provider: ProviderSpec | None = None
    calibration: CalibrationSpec | None = None


# ---------------------------------------------------------------------------------------------
# The compiled table: what the engine uses
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    text: str
    source: str
    note: str | None = None


@dataclass(frozen=True)
class Rule:
    """One piece of knowledge (see the module docstring). ``index`` is the order in the file."""

    id: str
    title: str
    category: str
    retryable: bool | None
    weight: int
    index: int = 0
    codes: frozenset[str] = frozenset()          # lower-case
    phrases: tuple[str, ...] = ()                # lower-case plain text
    patterns: tuple[str, ...] = ()               # lower-case regexes
    statuses: frozenset[int] = frozenset()
    exceptions: frozenset[str] = frozenset()     # short or qualified class names
    when: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    summary: str | None = None
    causes: tuple[tuple[str, float], ...] = ()
    actions: tuple[str, ...] = ()
    examples: tuple[Example, ...] = field(default=(), compare=False, repr=False)
    display_codes: tuple[str, ...] = field(default=(), compare=False, repr=False)
    origin: str = field(default="builtin", compare=False, repr=False)
    listed: bool = field(default=True, compare=False, repr=False)

    @property
    def priority(self) -> int:  # the name older code and tests use
        return self.weight

    def holds(self, facts: frozenset[str]) -> bool:
        """True when every ``when`` fact holds and no ``unless`` fact does."""
        return self.when <= facts and self.unless.isdisjoint(facts)


@dataclass(frozen=True)
class Knowledge:
    rules: tuple[Rule, ...]
    causes: dict[str, tuple[str, str]]
    actions: dict[str, str]
    categories: dict[str, tuple[str, tuple[tuple[str, float], ...], tuple[str, ...]]]
    category_retryable: dict[str, bool | None]
    gateway_overrides: dict[str, tuple[tuple[tuple[str, float], ...], tuple[str, ...]]]
    param_hints: dict[str, str]
    param_aliases: tuple[tuple[str, str], ...]
    provider_names: dict[str, str]
    provider_hints: tuple[tuple[str, tuple[str, ...]], ...]
    provider_hints_cjk: tuple[str, ...]
    calibration: CalibrationSpec
    paths: tuple[str, ...] = ()
    # (cause id, likelihood) lists already turned into Cause objects; bounded by the table
    cause_cache: dict[tuple[tuple[str, float], ...], tuple[Cause, ...]] = field(
        default_factory=dict, compare=False, repr=False)
    # (action ids, category, retryable) -> the steps to say, as (template, needs filling)
    step_cache: dict[tuple[tuple[str, ...], str, bool | None], tuple[tuple[str, bool], ...]] = (
        field(default_factory=dict, compare=False, repr=False))
    # every input of explain() -> its (summary, causes, actions); bounded (see explain.py)
    advice_cache: dict[tuple[object, ...], tuple[str, tuple[Cause, ...], tuple[str, ...]]] = (
        field(default_factory=dict, compare=False, repr=False))

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


class KnowledgeError(ValueError):
    """A knowledge file that cannot be used, with a message a person can act on."""


def _read(path: Path) -> KnowledgeFile:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{path}: not valid TOML: {exc}") from None
    try:
        return KnowledgeFile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {len(exc.errors())} problem(s)"]
        for err in exc.errors()[:20]:
            where = _where(raw, err["loc"])
            lines.append(f"  {where}: {err['msg']}")
        raise KnowledgeError("\n".join(lines)) from None


def _where(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """'rule 12 (id limit_zero) → phrases' rather than pydantic's raw location."""
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        rules = raw.get("rule") or []
        rid = rules[loc[1]].get("id", "?") if loc[1] < len(rules) else "?"
        rest = " → ".join(str(x) for x in loc[2:])
        return f"rule #{loc[1] + 1} (id {rid})" + (f" → {rest}" if rest else "")
    return " → ".join(str(x) for x in loc)


def _statuses(values: Iterable[int | str]) -> frozenset[int]:
    out: set[int] = set()
    for s in values:
        if isinstance(s, str):
            base = int(s[0]) * 100
            out.update(range(base, base + 100))
        else:
            out.add(s)
    return frozenset(out)


def _fields(template: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise KnowledgeError(f"bad template ({exc}): {template[:80]!r}") from None


def _check_template(where: str, template: str) -> None:
    bad = _fields(template) - PLACEHOLDERS
    if bad:
        raise KnowledgeError(f"{where}: unknown placeholder(s) {sorted(bad)} in {template[:80]!r}"
                             f" (known: {', '.join(sorted(PLACEHOLDERS))}; write {{{{ }}}} for a brace)")


def build(files: Sequence[tuple[str, KnowledgeFile]]) -> Knowledge:
    """Merge parsed files in order (later ones override by id/key) and check references."""
    rules: dict[str, tuple[RuleSpec, str]] = {}
    causes: dict[str, CauseSpec] = {}
    actions: dict[str, str] = {}
    categories: dict[str, CategorySpec] = {}
    param_hints: dict[str, str] = {}
    aliases: list[AliasSpec] = []
    names: dict[str, str] = {}
    hints: list[ProviderHintSpec] = []
    cjk: list[str] = []
    calibration = CalibrationSpec()
    for origin, kf in files:
        seen: set[str] = set()
        for spec in kf.rule:
            if spec.id in seen:
                raise KnowledgeError(f"{origin}: rule id {spec.id} appears twice")
            seen.add(spec.id)
            rules[spec.id] = (spec, origin)
        causes.update(kf.cause)
        actions.update(kf.action)
        categories.update(kf.category)
        param_hints.update(kf.param_hints)
        aliases.extend(kf.param_alias)
        if kf.provider is not None:
            names.update(kf.provider.names)
            hints = list(kf.provider.hint) + [h for h in hints
                                              if h.provider not in {x.provider for x in kf.provider.hint}]
            cjk.extend(x for x in kf.provider.cjk_gateway_hints if x not in cjk)
        if kf.calibration is not None:
            calibration = kf.calibration

    missing = [c for c in CATEGORIES if c not in categories]
    if missing:
        raise KnowledgeError(f"every category needs a [category.NAME] entry; missing {missing}")
    unknown_cats = sorted(set(categories) - set(CATEGORIES))
    if unknown_cats:
        raise KnowledgeError(f"unknown categories {unknown_cats}")

    def check_refs(where: str, cause_map: dict[str, float], action_ids: Iterable[str]) -> None:
        for cid in cause_map:
            if cid not in causes:
                raise KnowledgeError(f"{where}: unknown cause {cid!r} (add [cause.{cid}])")
        for aid in action_ids:
            if aid not in actions:
                raise KnowledgeError(f"{where}: unknown action {aid!r} (add it under [action])")

    for aid, text in actions.items():
        _check_template(f"action {aid}", text)
    for cname, cat in categories.items():
        check_refs(f"category {cname}", cat.causes, cat.actions)
        check_refs(f"category {cname} (gateway)", cat.gateway_causes, cat.gateway_actions)
        _check_template(f"category {cname}", cat.summary)
    for alias in aliases:
        try:
            re.compile(alias.pattern)
        except re.error as exc:
            raise KnowledgeError(f"param_alias {alias.param}: bad pattern ({exc})") from None

    compiled: list[Rule] = []
    for index, (spec, origin) in enumerate(rules.values()):
        where = f"{origin}: rule {spec.id}"
        if not (spec.codes or spec.phrases or spec.patterns or spec.statuses or spec.exceptions
                or spec.when):
            raise KnowledgeError(f"{where}: has no trigger (codes, phrases, patterns, statuses, "
                                 "exceptions or when)")
        check_refs(where, spec.causes, spec.actions)
        if spec.summary is not None:
            _check_template(where, spec.summary)
        cat_retry = categories[spec.category].retryable
        compiled.append(Rule(
            id=spec.id, title=spec.title, category=spec.category,
            retryable=spec.retryable if spec.retryable is not None else cat_retry,
            weight=spec.weight, index=index,
            codes=frozenset(c.lower() for c in spec.codes),
            phrases=tuple(dict.fromkeys(spec.phrases)),
            patterns=tuple(dict.fromkeys(spec.patterns)),
            statuses=_statuses(spec.statuses), exceptions=frozenset(spec.exceptions),
            when=frozenset(spec.when), unless=frozenset(spec.unless),
            summary=spec.summary, causes=tuple(spec.causes.items()),
            actions=tuple(spec.actions),
            examples=tuple(Example(e.text, e.source, e.note) for e in spec.example),
            display_codes=tuple(dict.fromkeys(spec.codes)),
            origin=origin,
            listed=spec.listed,
        ))
    return Knowledge(
        rules=tuple(compiled),
        causes={k: (v.title, v.why) for k, v in causes.items()},
        actions=dict(actions),
        categories={k: (categories[k].summary, tuple(categories[k].causes.items()),
                        tuple(categories[k].actions)) for k in CATEGORIES},
        category_retryable={k: categories[k].retryable for k in CATEGORIES},
        gateway_overrides={k: (tuple(v.gateway_causes.items()), tuple(v.gateway_actions))
                           for k, v in categories.items() if v.gateway_causes or v.gateway_actions},
        param_hints=dict(param_hints),
        param_aliases=tuple((a.pattern, a.param) for a in aliases),
        provider_names=names or {"unknown": "the API"},
        provider_hints=tuple((h.provider, tuple(h.needles)) for h in hints),
        provider_hints_cjk=tuple(cjk),
        calibration=calibration,
        paths=tuple(origin for origin, _ in files),
    )


def env_paths() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def load(extra: Sequence[Path | str] = (), *, builtin: bool = True,
         use_env: bool = False) -> Knowledge:
    """The built-in table, then ``extra`` files (and ``$SORA_BOT_KNOWLEDGE`` if ``use_env``)."""
    paths = ([BUILTIN_PATH] if builtin else []) + [Path(p) for p in extra]
    if use_env:
        paths += env_paths()
    return build([(str(p), _read(p)) for p in paths])


DEFAULT: Knowledge = load(use_env=True)

# The default table under the names the rest of the engine (and older code) uses.
RULES: tuple[Rule, ...] = DEFAULT.rules
CAUSES = DEFAULT.causes
ACTIONS = DEFAULT.actions
CATEGORY_DEFAULTS = DEFAULT.categories
GATEWAY_OVERRIDES = DEFAULT.gateway_overrides
PARAM_HINTS = DEFAULT.param_hints
PARAM_ALIASES = DEFAULT.param_aliases
PROVIDER_NAMES = DEFAULT.provider_names
PROVIDER_HINTS = DEFAULT.provider_hints
PROVIDER_HINTS_CJK = DEFAULT.provider_hints_cjk
RULES_BY_PRIORITY: tuple[Rule, ...] = tuple(sorted(RULES, key=lambda r: (-r.weight, r.index)))
NOTABLE_CODES: tuple[str, ...] = tuple(sorted({c for r in RULES for c in r.codes}))


def check(paths: Sequence[str]) -> int:
    """``python -m bot.diagnosis check FILE…``: validate, then run the examples."""
    try:
        kb = load(paths)
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return 1
    from bot.diagnosis.engine import Engine

    engine = Engine(kb)
    wanted = {str(Path(p)) for p in paths}
    bad = 0
    total = 0
    for rule in kb.rules:
        if rule.origin not in wanted:
            continue
        for ex in rule.examples:
            total += 1
            d = engine.diagnose(ex.text)
            if d.category != rule.category:
                bad += 1
                print(f"rule {rule.id}: example from {ex.source} diagnoses as {d.category}, "
                      f"not {rule.category}", file=sys.stderr)
    print(f"{len(kb.rules)} rules; {total} example(s) in {', '.join(paths)}; {bad} wrong")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "check":
        print("usage: python -m bot.diagnosis check FILE.toml [FILE.toml …]",
              file=sys.stderr)
        return 2
    return check(args[1:])


__all__ = [
    "ACTIONS", "BUILTIN_PATH", "CATEGORY_DEFAULTS", "CAUSES", "DEFAULT", "ENV_VAR", "Example",
    "GATEWAY_OVERRIDES", "Knowledge", "KnowledgeError", "NOTABLE_CODES", "PARAM_ALIASES",
    "PARAM_HINTS", "PLACEHOLDERS", "PREDICATES", "PROVIDER_HINTS", "PROVIDER_HINTS_CJK",
    "PROVIDER_NAMES", "RULES", "RULES_BY_PRIORITY", "Rule", "STATUS_PAGE_URL", "build", "load",
    "main",
]
