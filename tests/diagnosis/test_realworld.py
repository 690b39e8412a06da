"""Real-world pastes (tests/diagnosis/realworld.jsonl): errors people actually got and pasted
into GitHub issues, gateway guides and logs, copied verbatim (keys masked), each with its source
and a note on debatable labels (Contract 1 category meanings decide).

The first 199 entries were labelled before the engine ever saw them and run once blind:
category 172/199, retryable 176/199, http_status 176/199. The 18 entries whose note starts with
"held-out" were collected after the first round of rule changes and run once blind before the
second round (15/18 on all three fields). The rules added for them are general (status contexts,
phrases, exception names), never keyed to one paste.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bot.diagnosis import CATEGORIES, diagnose, looks_like_error
from bot.diagnosis.extract import extract
from tests.diagnosis.conftest import HERE, load_jsonl

CASES = load_jsonl(HERE / "realworld.jsonl")
# Debatable labels the engine does not reach with a general rule (see each note).
KNOWN_MISSES = {"https://github.com/ai365vip/chat-api/issues/83"}


def test_realworld_set_is_large_sourced_and_varied() -> None:
    assert len(CASES) >= 80
    assert all(c["source"] and c["note"] for c in CASES)
    assert len({c["text"] for c in CASES}) == len(CASES)
    per_category = Counter(c["category"] for c in CASES)
    assert set(per_category) == set(CATEGORIES)


@pytest.mark.parametrize("case", CASES, ids=[f'{i:03d}-{c["category"]}' for i, c in enumerate(CASES)])
def test_realworld_paste_classified_as_expected(case: dict) -> None:
    d = diagnose(case["text"])
    got = (d.category, d.retryable, d.http_status)
    expected = (case["category"], case["retryable"], case["http_status"])
    if case["source"] in KNOWN_MISSES:
        pytest.xfail(case["note"])
    assert got == expected, (case["source"], case["text"][:200], d.summary)


def test_known_misses_are_few() -> None:
    assert len(KNOWN_MISSES) <= len(CASES) // 50


def test_most_realworld_errors_are_detected_as_pastes() -> None:
    errors = [c["text"] for c in CASES if c["category"] != "unknown"]
    detected = sum(looks_like_error(t) for t in errors)
    assert detected / len(errors) >= 0.9, detected


# ---- the weak status tier: real shapes it must read, look-alikes it must not -------------------
@pytest.mark.parametrize(("text", "status"), [
    ("400 Your organization must be verified to stream this model.", 400),
    ("error: [AskController] Error handling request 404 Your organization must be verified", 404),
    ("出现429报错（429 当前分组上游负载已饱和，请稍后再试）", 429),
    ('{"error": {"message": "API request failed: 400 - {\\"error\\": {}}", "type": "x"}}', 400),
    ("Operation failed after 3 attempts: 403 {\"error\":{\"type\":\"forbidden\"}}", 403),
    ("[GIN] 2024/05/25 - 02:20:27 | 20240525 | 429 |   94.358928ms | POST /v1/embeddings", 429),
    ("Response status code does not indicate success: 401 (PermissionDenied).", 401),
    ("[ERROR] Error: ChatGPT error 404: {\n\"error\": {}}", 404),
    ("I am constantly getting 400 The response was filtered", 400),
    ("✕ [API Error: 429 status code (no body)]", 429),
    ("{ HTTPError: Response code 503 (Service Unavailable)", 503),
    ("API错误 (状态码: 500): {\"error\":{}}", 500),
    ("Error reference number: 502\nCloudflare Location: Los Angeles", 502),
])
def test_status_shown_in_real_shapes_is_read(text: str, status: int) -> None:
    assert extract(text).status == status


@pytest.mark.parametrize("text", [
    "  412 |   const video = await openai.videos.create({ model: 'sora-2' })",  # a code frame
    "剩余额度: 500 元，请充值",                                                   # an amount
    '{"progress": 400, "seconds": "8"}',                                         # a JSON number
    "connect ETIMEDOUT 202.160.128.210:443",
    "Limit 100000, Used 96749, Requested 419. Please try again in 2s.",
    "  File \"app.py\", line 429, in create_video",
    "Read 404 lines from the log",
])
def test_numbers_that_are_not_statuses_stay_unread(text: str) -> None:
    assert extract(text).status is None
