"""Shared data for the diagnosis tests: the labelled fixtures and our own corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The labelled examples live in ../shared (kept up to date by the team); a copy in tests/data
# keeps the check running in a clone that has no shared folder beside it.
_SHARED = HERE.parents[2] / "shared" / "fixtures" / "errors.jsonl"
FIXTURES = _SHARED if _SHARED.exists() else HERE.parent / "data" / "errors.jsonl"
CORPUS = HERE / "corpus.jsonl"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# The real pastes by role. A blind set is held out while its round runs: measured before and
# after that round's changes, never used to write a rule. Once its "after" figures are
# recorded (docs/knowledge.md) it is retired and becomes learning material: a measured set that
# is reused stops being blind, so each round starts a new blind file.
HELD_OUT = ("blind4.jsonl",)
RETIRED_BLIND = ("blind.jsonl", "blind2.jsonl", "blind3.jsonl")
LEARNING = ("realworld.jsonl", "collected.jsonl", *RETIRED_BLIND)
# Providers' and gateways' own error documentation (one row per documented error, as the page
# shows it: often a table row, not a paste). Learning material too, read by the words it adds;
# kept apart from the pastes because its form is the documentation's, not a client's.
DOCUMENTED = "documented.jsonl"

# The fields of every real paste row (blind sets, collected.jsonl, documented.jsonl).
ROW_FIELDS = frozenset({"text", "category", "retryable", "http_status", "source", "client",
                        "lang", "gateway", "provider", "note"})


def known_miss(misses: dict[str, str], case: dict[str, Any]) -> str | None:
    """The listed reason a learning paste is missed, if any. Keyed by source, by 'source
    category', by 'source "first 25 characters"' or by 'source (N chars)' where one source gave
    several pastes (the most specific key first)."""
    source, text = case["source"], case["text"]
    return (misses.get(f"{source} ({len(text)} chars)")
            or misses.get(f'{source} "{text[:25]}"')
            or misses.get(f'{source} {case["category"]}')
            or misses.get(source))
