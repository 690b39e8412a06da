"""The knowledge table (bot/diagnosis/knowledge.toml): validated data, one matcher, real
examples per rule, the precedence the weights encode, and rule files people add."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.diagnosis import CATEGORIES, diagnose
from bot.diagnosis.engine import Engine
from bot.diagnosis.knowledge import (
    ACTIONS,
    BUILTIN_PATH,
    CATEGORY_DEFAULTS,
    CAUSES,
    PARAM_HINTS,
    RULES,
    RULES_BY_PRIORITY,
    KnowledgeError,
    load,
)
from bot.diagnosis.matcher import Pattern, phrase_in
from tests.diagnosis.conftest import CORPUS, HELD_OUT, HERE, LEARNING, load_jsonl

ROOT = HERE.parents[1]
HELD_OUT_TEXTS = {c["text"] for name in HELD_OUT for c in load_jsonl(HERE / name)}


def test_every_rule_points_at_known_categories_causes_and_actions() -> None:
    for rule in RULES:
        assert rule.category in CATEGORIES
        assert all(cid in CAUSES for cid, _ in rule.causes)
        assert all(aid in ACTIONS for aid in rule.actions)
    assert set(CATEGORY_DEFAULTS) == set(CATEGORIES)
    assert len({r.id for r in RULES}) == len(RULES)


def test_rules_by_priority_are_ordered_by_weight() -> None:
    weights = [r.weight for r in RULES_BY_PRIORITY]
    assert weights == sorted(weights, reverse=True)


# ---- every rule carries real examples, and a test runs them ---------------------------------
EXAMPLES = [(rule, ex) for rule in RULES for ex in rule.examples]


def test_every_rule_has_a_real_example_with_a_source() -> None:
    missing = [r.id for r in RULES if not r.examples]
    assert not missing, f"rules without an example: {missing}"
    for rule, ex in EXAMPLES:
        assert ex.source.startswith("https://"), (rule.id, ex.source)


def test_examples_are_not_taken_from_the_held_out_blind_set() -> None:
    assert not [r.id for r, ex in EXAMPLES if ex.text in HELD_OUT_TEXTS]


@pytest.mark.parametrize("rule,example", EXAMPLES,
                         ids=[f"{r.id}-{i}" for i, (r, _) in enumerate(EXAMPLES)])
def test_rule_example_is_diagnosed_by_its_rule(rule, example) -> None:
    from bot.diagnosis.engine import DEFAULT_ENGINE
    from bot.diagnosis.extract import extract
    from bot.diagnosis.redact import redact

    d = diagnose(example.text)
    assert (d.category, d.retryable) == (rule.category, rule.retryable), (d.rule_id, d.summary)
    fired = DEFAULT_ENGINE.classifier.weigh(extract(redact(example.text))).fired
    assert rule in fired, f"{rule.id} does not fire on its own example"


# ---- validation: a broken file fails with a message a person can act on ---------------------
GOOD_RULE = """
[[rule]]
id = "my_gateway_down"
title = "My gateway is down"
category = "server"
weight = 90
codes = ["my_gateway_down"]
phrases = ["the relay is taking a nap"]
summary = "The relay in front of {provider} is down; the same request should succeed after a wait."

[[rule.example]]
text = '{"error": {"code": "my_gateway_down", "message": "the relay is taking a nap"}}'
source = "https://example.com/our-relay/incident-42"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,message", [
    (GOOD_RULE.replace('category = "server"', 'category = "rate-limit"'), "unknown category"),
    (GOOD_RULE.replace('weight = 90', 'weight = 900'), "less than or equal to 100"),
    (GOOD_RULE.replace('phrases = ["the relay', 'phrases = ["The relay'), "lower-case"),
    (GOOD_RULE.replace('phrases = [', 'patterns = ["(unclosed"]\nphrases = ['), "does not compile"),
    (GOOD_RULE.replace("{provider}", "{providr}"), "unknown placeholder"),
    (GOOD_RULE.replace('summary =', 'actions = ["no_such_action"]\nsummary ='), "unknown action"),
    (GOOD_RULE.replace('weight = 90', 'weight = 90\ncauses = { no_such_cause = 0.5 }'),
     "unknown cause"),
    (GOOD_RULE + GOOD_RULE, "appears twice"),
    (GOOD_RULE.replace('codes = ["my_gateway_down"]\nphrases = ["the relay is taking a nap"]\n', ''),
     "no trigger"),
    (GOOD_RULE.replace('weight = 90', 'weight = 90\nwhen = ["sunny"]'), "unknown fact"),
    (GOOD_RULE.replace("title =", "titel ="), "titel"),
    ("[[rule]\nid = 1", "not valid TOML"),
])
def test_bad_rule_file_is_refused_with_a_clear_message(tmp_path: Path, text: str,
                                                        message: str) -> None:
    with pytest.raises(KnowledgeError) as err:
        load([_write(tmp_path, text)])
    assert message in str(err.value)
    assert "rules.toml" in str(err.value)


def test_a_rule_file_a_person_wrote_is_read_and_used(tmp_path: Path) -> None:
    """The point of the TOML table: someone adds a rule without touching code."""
    kb = load([_write(tmp_path, GOOD_RULE)])
    engine = Engine(kb)
    d = engine.diagnose('{"error": {"code": "my_gateway_down", "message": "the relay is taking a nap"}}')
    assert (d.category, d.retryable, d.rule_id) == ("server", True, "my_gateway_down")
    assert "relay" in d.summary
    # the default table does not know it
    assert diagnose('{"error": {"code": "my_gateway_down", "message": "x"}}').category == "unknown"


def test_a_rule_file_overrides_a_builtin_rule_by_id(tmp_path: Path) -> None:
    override = GOOD_RULE.replace('id = "my_gateway_down"', 'id = "sentinel_block"')
    kb = load([_write(tmp_path, override)])
    assert kb.rule("sentinel_block").category == "server"
    assert len(kb.rules) == len(RULES)


def test_the_environment_variable_adds_rule_files(tmp_path: Path) -> None:
    """SORA_BOT_KNOWLEDGE is read when the engine is imported (a fresh process)."""
    path = _write(tmp_path, GOOD_RULE)
    code = ("from bot.diagnosis import diagnose; "
            "print(diagnose('{\"error\": {\"code\": \"my_gateway_down\"}}').category)")
    env = dict(os.environ, SORA_BOT_KNOWLEDGE=str(path))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "server"


def test_the_checker_runs_a_files_examples(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_RULE)
    ok = subprocess.run([sys.executable, "-m", "bot.diagnosis", "check", str(path)],
                        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "0 wrong" in ok.stdout
    bad = _write(tmp_path, GOOD_RULE.replace(
        """'{"error": {"code": "my_gateway_down", "message": "the relay is taking a nap"}}'""",
        """'{"error": {"message": "Incorrect API key provided"}}'"""))
    out = subprocess.run([sys.executable, "-m", "bot.diagnosis", "check", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "diagnoses as" in out.stderr


def test_the_builtin_file_is_plain_toml_a_person_can_read() -> None:
    import tomllib

    data = tomllib.loads(BUILTIN_PATH.read_text(encoding="utf-8"))
    assert len(data["rule"]) == len(RULES)
    assert BUILTIN_PATH.read_text(encoding="utf-8").startswith("# Sora-bot diagnosis knowledge")


# ---- the one matcher ---------------------------------------------------------------------------
def test_pattern_keywords_prefilter_but_never_change_the_answer() -> None:
    p = Pattern.build(r"\blimit:? 0\b|rate limit|上游负载")
    assert p.keywords == ("limit", "上游负载")  # "rate limit" contains "limit": redundant
    assert p.search("rate limit reached") and p.search("limit: 0") and p.search("当前分组上游负载")
    assert not p.search("nothing here")


def test_every_builtin_pattern_has_a_prefilter_literal() -> None:
    # one pattern without a literal every match contains (say "(?:403|forbidden)...") turns
    # the one-look gate off and runs every pattern on every paste: spell the branches out
    loose = [p for rule in RULES for p in rule.patterns if Pattern.build(p).keywords is None]
    assert loose == []


@pytest.mark.parametrize("phrase,text,hit", [
    ("moderation", "input_moderation failed", True),
    ("moderation", "Moderation failed".lower(), True),
    ("moderation", "premoderation", False),
    ("_unsafe", "public_error_unsafe_generation", True),
    ("余额不足", "错误：余额不足", True),
    ("rate limit", "x-rate limit", True),
])
def test_phrases_match_where_a_word_starts(phrase: str, text: str, hit: bool) -> None:
    assert phrase_in(phrase, text) is hit


def _all_real_and_own_pastes() -> list[str]:
    texts = [c["text"] for c in load_jsonl(CORPUS)]
    for name in (*LEARNING, *HELD_OUT):
        texts += [c["text"] for c in load_jsonl(HERE / name)]
    return texts


def test_indexed_matcher_agrees_with_checking_every_rule() -> None:
    from bot.diagnosis.classify import classify, classify_slow
    from bot.diagnosis.extract import extract
    from bot.diagnosis.redact import redact

    for text in _all_real_and_own_pastes():
        ex = extract(redact(text))
        assert classify(ex) is classify_slow(ex), text[:80]


# ---- precedence the weights encode -------------------------------------------------------------
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
    # model_not_found / does not exist → not_found, but a project without access is permission
    ('{"error":{"message":"The model `x` does not exist","code":"model_not_found"}}', "not_found", False),
    ('{"error":{"message":"The model `x` does not exist or you do not have access to it.","code":"model_not_found"}}', "not_found", False),
    ('{"error":{"message":"Project `proj_1` does not have access to model `sora-2-pro`","code":"model_not_found"}}', "permission", False),
    # overloaded as 429 is server-side
    ("HTTP/1.1 429\n" '{"error":{"message":"That model is currently overloaded with other requests.","type":"server_error"}}', "server", True),
    # network needs no status
    ("openai.APIConnectionError: Connection error.", "network", True),
    # Cloudflare 1015 is a rate limit even under the "Access denied" title
    ("<html><title>Access denied | x.com used Cloudflare to restrict access</title><h1>Error 1015</h1>You are being rate limited</html>", "rate_limit", True),
    ("<html><title>Attention Required! | Cloudflare</title><h1>Sorry, you have been blocked</h1></html>", "risk_control", False),
    # the status line agrees with the message: "401 Unauthorized" does not outweigh "missing scopes"
    ("unexpected status 401 Unauthorized: You have insufficient permissions for this operation. Missing scopes: api.responses.write.", "permission", False),
    # Google's per-minute QuotaFailure beats the borrowed "exceeded your current quota" wording
    ("429 RESOURCE_EXHAUSTED {'error': {'code': 429, 'message': 'You exceeded your current quota', 'details': [{'@type': 'type.googleapis.com/google.rpc.QuotaFailure', 'violations': [{'quotaId': 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier'}]}]}}", "rate_limit", True),
])
def test_precedence(text: str, category: str, retryable: bool | None) -> None:
    d = diagnose(text)
    assert (d.category, d.retryable) == (category, retryable), d.summary


def test_weak_fallbacks_do_not_outweigh_a_precise_message() -> None:
    """A 400 with a named parameter piles up weak bad-request hints; the precise
    organization-verification message still decides."""
    d = diagnose("Error code: 400 - {'error': {'message': 'Your organization must be verified to "
                 "stream this model.', 'type': 'invalid_request_error', 'param': 'stream', "
                 "'code': 'unsupported_value'}}")
    assert d.category == "permission"


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


def test_failed_job_shapes_of_video_providers() -> None:
    """Failed job objects name their reason in differently named fields."""
    shapes = {
        # Kling: envelope says SUCCEED, the task failed
        '{"code": 0, "message": "SUCCEED", "data": {"task_status": "failed", "task_status_msg": "Image pixel is invalid"}}': "bad_request",
        # DashScope / Wan: flat inside output
        '{"output": {"task_status": "FAILED", "code": "DataInspectionFailed", "message": "Input data may contain inappropriate content."}}': "content_policy",
        # MiniMax / Hailuo: HTTP 200 with base_resp
        '{"task_id": "1", "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}': "quota",
        # Luma
        '{"id": "g1", "state": "failed", "failure_reason": "400: prompt not allowed because advanced moderation failed"}': "content_policy",
        # Runway
        '{"id": "t1", "status": "FAILED", "failure": "The input image was flagged", "failureCode": "SAFETY.INPUT.IMAGE"}': "content_policy",
    }
    for text, category in shapes.items():
        assert diagnose(text).category == category, text


def test_the_one_table_has_no_duplicate_code_across_categories() -> None:
    """A payload code means one thing: the same code in two categories would be a tie."""
    seen: dict[str, str] = {}
    for rule in RULES:
        for code in rule.codes:
            assert seen.setdefault(code, rule.category) == rule.category, (code, rule.id)


def test_json_table_dump_round_trips() -> None:
    """The table is data: it serialises (what the help command and the docs are made of)."""
    rows = [{"id": r.id, "category": r.category, "codes": sorted(r.codes)} for r in RULES]
    assert json.loads(json.dumps(rows)) == rows
