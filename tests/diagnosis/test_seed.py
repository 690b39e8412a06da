"""The seed error of DESIGN.md: risk control, the five causes, the steps, the contract JSON."""

from __future__ import annotations

import json

import pytest

from bot.diagnosis import diagnose
from bot.diagnosis.model import CONTRACT_FIELDS

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')
SEED_FORMS = [
    SEED,
    "openai.BadRequestError: Error code: 400 - {'error': {'message': 'Unable to process "
    "request', 'type': 'invalid_request_error', 'param': None, 'code': 'invalid_request'}}",
    "BadRequestError: 400 Unable to process request",
    '{"error":{"message":"' + SEED.replace('"', '\\"') + '","type":"upstream_error",'
    '"code":"bad_response_status_code"}}',
]
SEED_CAUSES = {"platform_risk_control", "account_limits", "request_pattern",
               "temporary_server_issue", "content_moderation"}


@pytest.mark.parametrize("text", SEED_FORMS)
def test_seed_is_risk_control_with_the_five_causes(text: str) -> None:
    d = diagnose(text)
    assert d.category == "risk_control"
    assert d.retryable is False
    assert {c.id for c in d.causes} == SEED_CAUSES
    assert d.causes[0].id == "platform_risk_control"
    assert d.message == "Unable to process request"
    assert d.param is None


def test_seed_actions_cover_the_required_steps() -> None:
    actions = " ".join(diagnose(SEED).actions).lower()
    assert "https://status.openai.com" in actions
    assert "different, neutral content" in actions
    assert "reduce request frequency" in actions and "backoff" in actions
    for topic in ("billing", "limits", "organization verification", "usage dashboard"):
        assert topic in actions
    assert "retry later" in actions
    assert "openai-compatible gateway" in actions


def test_seed_to_dict_has_exactly_the_contract_fields() -> None:
    out = diagnose(SEED).to_dict()
    assert tuple(out) == CONTRACT_FIELDS
    assert out["http_status"] is None
    assert out["error_type"] == "invalid_request_error"
    assert out["error_code"] == "invalid_request"
    assert out["provider"] == "openai"
    assert out["verdict"] is None
    assert out["redacted"] == SEED
    assert [set(c) for c in out["causes"]] == [{"id", "title", "likelihood", "why"}] * 5
    json.dumps(out)  # serialisable as is


def test_a_named_parameter_is_not_the_seed() -> None:
    d = diagnose('{"error":{"code":"invalid_request","message":"Unable to process request",'
                 '"param":"seconds","type":"invalid_request_error"}}')
    assert d.category == "bad_request"
    assert "`seconds`" in d.summary
