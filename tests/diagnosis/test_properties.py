"""Properties: diagnose never raises and stays fast on hostile input; fingerprints are stable."""

from __future__ import annotations

import json
import os
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.diagnosis import CATEGORIES, diagnose
from bot.diagnosis.model import CONTRACT_FIELDS

FRAGMENTS = st.sampled_from([
    "{", "}", "[", "]", '"', "'", "\\", ":", ",", "error", "message", "code", "type", "param",
    "None", "null", "True", "Error code: 429 - ", "HTTP/1.1 502", "<title>", "</title>",
    "Traceback (most recent call last):\n", "openai.RateLimitError: ", "Error: ", "sk-proj-",
    "Bearer ", "retry-after: ", "x-request-id: ", "req_", "\n", " ", "ECONNRESET", "当前分组",
    "Unable to process request", "insufficient_quota", "\\u0073", "\x00", "\ufffd", "1e9999",
    "9" * 30,
])


def _check(d) -> None:
    out = d.to_dict()
    assert tuple(out) == CONTRACT_FIELDS
    assert out["category"] in CATEGORIES
    assert out["retryable"] in (True, False, None)
    assert out["http_status"] is None or 100 <= out["http_status"] <= 599
    assert isinstance(out["summary"], str) and out["summary"]
    json.dumps(out)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    _check(diagnose(text))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_never_raises_on_random_bytes(data: bytes) -> None:
    _check(diagnose(data.decode("utf-8", errors="replace")))
    _check(diagnose(data))  # bytes are accepted too


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=60))
def test_never_raises_on_error_shaped_junk(parts: list[str]) -> None:
    _check(diagnose("".join(parts)))


def _timed(text: str) -> float:
    start = time.process_time()
    _check(diagnose(text))
    return time.process_time() - start


def test_one_mib_of_junk_is_diagnosed_quickly() -> None:
    junk = os.urandom(1 << 20).decode("utf-8", errors="replace")
    assert _timed(junk) < 1.0  # bench/diagnose.py measures the real figure (tens of ms)


@pytest.mark.parametrize("text", [
    "[" * 100_000, "{" * 100_000, "{[" * 50_000, '{"a":' * 50_000, "{'a':" * 50_000,
    "]" * 100_000, "'" * 100_000, '"' * 100_000, "\\" * 100_000, "Error: " * 50_000,
    "sk-" * 100_000, "key=" * 100_000, "<title>" * 50_000, "req_" * 100_000,
])
def test_pathological_inputs_are_fast(text: str) -> None:
    assert _timed(text) < 1.0


def test_cost_is_linear_in_input_size() -> None:
    rng = random.Random(7)
    alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 {}[]":,\'\n=-_/\\'
    base = "".join(rng.choice(alphabet) for _ in range(256 * 1024))
    small = min(_timed(base) for _ in range(3))
    big = min(_timed(base * 4) for _ in range(3))
    assert big < small * 8 + 0.05  # 4x the input: well under quadratic (16x)


def test_non_str_inputs() -> None:
    for value in (None, 42, b"\xff\xfe", bytearray(b"Error code: 429"), ["x"]):
        _check(diagnose(value))  # type: ignore[arg-type]
    assert diagnose(bytearray(b"Error code: 429")).http_status == 429


# ------------------------------------------------------------------------------ fingerprints
_HEX = st.text("0123456789abcdef", min_size=8, max_size=32)
_ALNUM = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=20,
                 max_size=48)
_TEMPLATES = [
    "HTTP/1.1 429\nx-request-id: req_{hex}\nretry-after: {n}\n"
    '{{"error":{{"message":"Rate limit reached for sora-2 in organization org-{hex} on requests '
    'per minute (RPM): Limit {n}, Used {n}, Requested 1. Please try again in {n}s.",'
    '"type":"requests","param":null,"code":"rate_limit_exceeded"}}}}',
    '{{"error":{{"message":"Video with id \'video_{hex}\' not found.","type":'
    '"invalid_request_error","param":"video_id","code":null}}}}',
    '{{"error":{{"message":"当前分组上游负载已饱和，请稍后再试 (request id: {digits})",'
    '"type":"new_api_error","param":"","code":null}}}}',
    "openai.AuthenticationError: Error code: 401 - {{'error': {{'message': 'Incorrect API key "
    "provided: sk-proj-{key}. You can find your API key at https://platform.openai.com/account/"
    "api-keys.', 'type': 'invalid_request_error', 'param': None, 'code': 'invalid_api_key'}}}}",
    '{{"id":"video_{hex}","object":"video","status":"failed","created_at":{digits},'
    '"error":{{"code":"moderation_blocked","message":"Video {hex} blocked at {ts}."}}}}',
    "{ts} ERROR worker-{n}: httpx.ConnectTimeout: timed out (attempt {n})",
]


@settings(max_examples=200, deadline=None)
@given(template=st.sampled_from(_TEMPLATES), hex1=_HEX, hex2=_HEX, key1=_ALNUM, key2=_ALNUM,
       n1=st.integers(1, 99_999), n2=st.integers(1, 99_999),
       d1=st.integers(10**9, 10**19), d2=st.integers(10**9, 10**19),
       t1=st.datetimes(), t2=st.datetimes())
def test_fingerprint_ignores_ids_timestamps_numbers_and_keys(template, hex1, hex2, key1, key2,
                                                              n1, n2, d1, d2, t1, t2) -> None:
    a = diagnose(template.format(hex=hex1, key=key1, n=n1, digits=d1, ts=t1.isoformat()))
    b = diagnose(template.format(hex=hex2, key=key2, n=n2, digits=d2, ts=t2.isoformat()))
    assert a.category == b.category
    assert a.fingerprint == b.fingerprint


def test_different_kinds_have_different_fingerprints() -> None:
    kinds = [t.format(hex="abcdef12", key="K" * 24, n=5, digits="2026113010", ts="2026-11-30T10:00:00")
             for t in _TEMPLATES]
    kinds += ['{"error":{"message":"Rate limit reached for sora-2: Limit 0, Used 0.","type":'
              '"requests","code":"rate_limit_exceeded"}}',
              '{"error":{"message":"Invalid value","param":"seconds","code":"invalid_value"}}',
              '{"error":{"message":"Invalid value","param":"size","code":"invalid_value"}}']
    prints = [diagnose(k).fingerprint for k in kinds]
    assert len(set(prints)) == len(prints)


def test_last_resort_guard_returns_unknown_with_redacted_text(monkeypatch) -> None:
    from bot.diagnosis import engine

    def boom(_text: str) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(engine, "extract", boom)
    d = diagnose("Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123 then it failed")
    _check(d)
    assert d.category == "unknown" and d.retryable is None
    assert "abcdefghijklmnopqrstuvwxyz0123" not in json.dumps(d.to_dict())
