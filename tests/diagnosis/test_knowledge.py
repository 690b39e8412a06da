"""The knowledge table: validated data, and the precedence it encodes."""

from __future__ import annotations

import pytest

from bot.diagnosis import CATEGORIES, diagnose
from bot.diagnosis.knowledge import (
    ACTIONS,
    CATEGORY_DEFAULTS,
    CAUSES,
    PARAM_HINTS,
    RULES,
    RULES_BY_PRIORITY,
    Matcher,
    _r,
)


def test_every_rule_points_at_known_categories_causes_and_actions() -> None:
    for rule in RULES:
        assert rule.category in CATEGORIES
        assert all(cid in CAUSES for cid, _ in rule.causes)
        assert all(aid in ACTIONS for aid in rule.actions)
    assert set(CATEGORY_DEFAULTS) == set(CATEGORIES)


def test_rules_are_ordered_by_priority() -> None:
    priorities = [r.priority for r in RULES_BY_PRIORITY]
    assert priorities == sorted(priorities, reverse=True)


def test_unknown_category_fails_at_build_time() -> None:
    from bot.diagnosis import knowledge

    bad = _r("typo", "rate-limit", True, 1, codes=("x",))
    original = knowledge.RULES
    knowledge.RULES = original + (bad,)
    try:
        with pytest.raises(ValueError, match="unknown category"):
            knowledge._validate()
    finally:
        knowledge.RULES = original


def test_matcher_refuses_upper_case_patterns() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        Matcher.build(r"Rate limit")


def test_matcher_keywords_prefilter_but_never_change_the_answer() -> None:
    m = Matcher.build(r"\blimit:? 0\b|rate limit|上游负载")
    assert m.keywords == ("limit", "上游负载")  # "rate limit" contains "limit": redundant
    assert m.search("rate limit reached") and m.search("limit: 0") and m.search("当前分组上游负载")
    assert not m.search("nothing here")


@pytest.mark.parametrize("text,category,retryable", [
    # insufficient_quota beats 429
    ("HTTP/1.1 429\n" '{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}', "quota", False),
    # a zero limit is not retryable
    ('{"error":{"message":"Rate limit reached for sora-2 on requests per minute (RPM): Limit 0, Used 0, Requested 1.","type":"requests","code":"rate_limit_exceeded"}}', "rate_limit", False),
    ('{"error":{"message":"Rate limit reached for sora-2 on requests per minute (RPM): Limit 10, Used 10, Requested 1.","type":"requests","code":"rate_limit_exceeded"}}', "rate_limit", True),
    # content-policy words beat the generic invalid_request_error (and a named param)
    ('{"error":{"message":"Your prompt was flagged by our moderation system.","type":"invalid_request_error","param":"prompt","code":"invalid_value"}}', "content_policy", False),
    # Unable to process request with param null → risk control; with a param → bad request
    ('{"error":{"message":"Unable to process request","type":"invalid_request_error","param":null}}', "risk_control", False),
    # org verification and region → permission, even as 400/404
    ("HTTP 404 " '{"error":{"message":"Your organization must be verified to use the model `sora-2-pro`.","type":"invalid_request_error"}}', "permission", False),
    # model_not_found / does not exist → not_found
    ('{"error":{"message":"The model `x` does not exist","code":"model_not_found"}}', "not_found", False),
    # overloaded as 429 is server-side
    ("HTTP/1.1 429\n" '{"error":{"message":"That model is currently overloaded with other requests.","type":"server_error"}}', "server", True),
    # network needs no status: a gateway's 502 about its upstream is server
    ("openai.APIConnectionError: Connection error.", "network", True),
    # Cloudflare 1015 is a rate limit even under the "Access denied" title
    ("<html><title>Access denied | x.com used Cloudflare to restrict access</title><h1>Error 1015</h1>You are being rate limited</html>", "rate_limit", True),
    ("<html><title>Attention Required! | Cloudflare</title><h1>Sorry, you have been blocked</h1></html>", "risk_control", False),
])
def test_precedence(text: str, category: str, retryable: bool | None) -> None:
    d = diagnose(text)
    assert (d.category, d.retryable) == (category, retryable), d.summary


def test_limit_zero_says_the_tier_has_no_access() -> None:
    d = diagnose('{"error":{"message":"Rate limit reached for sora-2-pro: Limit 0, Used 0, Requested 1.","code":"rate_limit_exceeded"}}')
    assert "limit" in d.summary.lower() and "0" in d.summary and "tier" in d.summary
    assert "tier_no_access" == d.causes[0].id


def test_quota_never_advises_retrying() -> None:
    d = diagnose("openai.RateLimitError: Error code: 429 - {'error': {'message': 'You exceeded your current quota', 'type': 'insufficient_quota', 'code': 'insufficient_quota'}}\nretry-after: 20")
    assert d.retryable is False
    assert not any(a.lower().startswith(("retry", "wait")) for a in d.actions)


@pytest.mark.parametrize("param", ["seconds", "size", "model"])
def test_bad_parameter_is_named_in_summary_and_actions(param: str) -> None:
    d = diagnose('{"error":{"message":"Invalid value: \'x\'.","type":"invalid_request_error","param":"%s","code":"invalid_value"}}' % param)
    assert d.category == "bad_request"
    assert f"`{param}`" in d.summary
    assert any(f"`{param}`" in a for a in d.actions)
    assert PARAM_HINTS[param] in d.summary


def test_sora_parameter_hints_name_the_allowed_values() -> None:
    assert '"4", "8" or "12"' in PARAM_HINTS["seconds"]
    for size in ("720x1280", "1280x720", "1024x1792", "1792x1024"):
        assert size in PARAM_HINTS["size"]
    assert "sora-2" in PARAM_HINTS["model"] and "sora-2-pro" in PARAM_HINTS["model"]


def test_parameter_named_only_in_the_message() -> None:
    d = diagnose("BadRequestError: 400 Missing required parameter: 'prompt'.")
    assert (d.category, d.param) == ("bad_request", "prompt")


def test_gateway_quota_says_top_up_the_gateway() -> None:
    d = diagnose('{"error":{"message":"用户额度不足","type":"new_api_error","code":"insufficient_user_quota"}}')
    assert d.provider == "gateway" and d.causes[0].id == "gateway_quota"
    assert "gateway" in d.actions[0].lower()


def test_fast_classifier_agrees_with_rule_matches() -> None:
    from bot.diagnosis.classify import classify, classify_slow
    from bot.diagnosis.extract import extract
    from bot.diagnosis.redact import redact
    from tests.diagnosis.conftest import CORPUS, load_jsonl

    for case in load_jsonl(CORPUS):
        ex = extract(redact(case["text"]))
        assert classify(ex) is classify_slow(ex), case["text"][:80]
