"""The ingest body rules as pure functions: which shape is which, and no crash on any input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.web.ingest import (
    IngestError,
    IngestItem,
    is_json_content_type,
    parse_body,
    payload_text,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TARGETS = frozenset({"openai", "relay"})


def parse(body: str | bytes, content_type: str | None = "application/json") -> list[IngestItem]:
    raw = body.encode() if isinstance(body, str) else body
    return parse_body(raw, content_type, now=NOW, targets=TARGETS)


@pytest.mark.parametrize("content_type,expected", [
    ("application/json", True), ("application/json; charset=utf-8", True),
    ("application/problem+json", True), ("APPLICATION/JSON", True), ("text/plain", False),
    ("application/x-www-form-urlencoded", False), (None, False), ("", False),
])
def test_json_content_types(content_type: str | None, expected: bool) -> None:
    assert is_json_content_type(content_type) is expected


@pytest.mark.parametrize("payload,expected", [
    ("plain line", "plain line"),
    ({"message": "m", "code": "c"}, '{"error": {"message": "m", "code": "c"}}'),
    ({"error": {"message": "m"}}, '{"error": {"message": "m"}}'),
    (["a", 1], '["a", 1]'),
])
def test_payload_text(payload: object, expected: str) -> None:
    assert payload_text(payload) == expected


def test_raw_body_is_diagnosed_exactly_as_sent() -> None:
    body = '{ "error" : {"message": "Unable to process request"} }\n'
    [item] = parse(body)
    assert item.text == body and item.target == "openai" and item.at == NOW


@pytest.mark.parametrize("text", [
    "{not json at all: a log line}",
    "[ERROR] 2026-01-01 openai.APIConnectionError: Connection error.",
    '"quoted start, then more" and text',
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
])
def test_text_that_looks_like_json_stays_text(text: str) -> None:
    [item] = parse(text, "text/plain")
    assert item.text == text


def test_non_utf8_bytes_are_replaced_not_rejected() -> None:
    [item] = parse(b"openai.APIError: \xff\xfe broken", None)
    assert item.text.startswith("openai.APIError: ") and "\ufffd" in item.text


def test_envelope_with_only_error_in_a_batch() -> None:
    items = parse(json.dumps({"events": [{"error": "x"}, {"error": {"code": "c"}}]}))
    assert [i.text for i in items] == ["x", '{"error": {"code": "c"}}']


def test_null_target_and_at_mean_defaults() -> None:
    [item] = parse(json.dumps({"error": "x", "target": None, "at": None}))
    assert (item.target, item.at) == ("openai", NOW)


def test_no_target_check_when_targets_unknown() -> None:
    [item] = parse_body(b'{"error": "x", "target": "anything"}', "application/json", now=NOW)
    assert item.target == "anything"


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=300),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                                   lambda inner: st.lists(inner, max_size=4)
                                   | st.dictionaries(st.sampled_from(
                                       ["error", "target", "at", "events", "x"]), inner,
                                       max_size=4), max_leaves=12)
                      .map(lambda v: json.dumps(v).encode())),
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_any_body_gives_items_or_one_line_ingest_error(body: bytes,
                                                       content_type: str | None) -> None:
    try:
        items = parse(body, content_type)
    except IngestError as exc:
        assert exc.status in (413, 422)
        assert "\n" not in str(exc) and str(exc)
    else:
        assert items and all(i.text.strip() for i in items)
        assert all(i.target in TARGETS for i in items)
