"""The optional LLM second opinion (bot/second_opinion.py), against a fake OpenAI-compatible
endpoint behind an httpx transport: off by default, asked only when the table is unsure, sends
only the redacted paste, and any bad answer gives None."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.diagnosis import diagnose
from bot.second_opinion import (
    Opinion,
    SecondOpinion,
    SecondOpinionConfig,
    opinion_line,
    parse_opinion,
)

LOW = "Something failed, see screenshot. key sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
HIGH = '{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}'
ON = SecondOpinionConfig(base_url="http://fake.local/v1", api_key="test-key", model="fake-1",
                         enabled=True)


def _chat(content: str) -> dict[str, object]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "fake-1",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}]}


class FakeLLM:
    """Speaks the chat-completions JSON shape; records what it was sent."""

    def __init__(self, reply: object, status: int = 200) -> None:
        self.reply, self.status, self.requests = reply, status, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.reply, Exception):
            raise self.reply
        return httpx.Response(self.status, json=self.reply)


async def _ask(fake: FakeLLM, text: str = LOW, config: SecondOpinionConfig = ON):
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
        return await SecondOpinion(config, client).ask(diagnose(text))


async def test_off_by_default_sends_nothing() -> None:
    fake = FakeLLM(_chat('{"category": "server", "retryable": true, "reason": "x"}'))
    assert await _ask(fake, config=SecondOpinionConfig()) is None
    assert fake.requests == []


async def test_a_confident_diagnosis_is_not_second_guessed() -> None:
    fake = FakeLLM(_chat('{"category": "server", "retryable": true, "reason": "x"}'))
    assert diagnose(HIGH).confidence >= ON.below_confidence
    assert await _ask(fake, HIGH) is None
    assert fake.requests == []


async def test_low_confidence_asks_with_the_redacted_paste_only() -> None:
    fake = FakeLLM(_chat('{"category": "server", "retryable": true, '
                         '"reason": "The gateway failed upstream."}'))
    op = await _ask(fake)
    assert op == Opinion("server", True, "The gateway failed upstream.", "fake-1")
    (request,) = fake.requests
    assert request.url == "http://fake.local/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    body = json.loads(request.content)
    assert body["model"] == "fake-1" and body["response_format"] == {"type": "json_object"}
    sent = json.dumps(body)
    assert "see screenshot" in sent and "sk-proj-AbCd" not in sent
    assert "Second opinion (fake-1): server, retryable" in opinion_line(op)


@pytest.mark.parametrize("reply,status", [
    (_chat("not json at all"), 200),
    (_chat('{"category": "cosmic_rays", "retryable": true}'), 200),
    (_chat('["server"]'), 200),
    ({"unexpected": "shape"}, 200),
    ({"error": {"message": "boom", "type": "server_error"}}, 500),
    (httpx.ConnectError("refused"), 200),
    (httpx.ReadTimeout("slow"), 200),
])
async def test_any_bad_answer_gives_none(reply: object, status: int) -> None:
    assert await _ask(FakeLLM(reply, status)) is None


def test_no_retry_on_auth_quota_permission_whatever_the_model_says() -> None:
    for category in ("auth", "quota", "permission"):
        op = parse_opinion(_chat(json.dumps({"category": category, "retryable": True})), "m")
        assert op is not None and op.retryable is False
    op = parse_opinion(_chat('{"category": "unknown", "retryable": true}'), "m")
    assert op is not None and op.retryable is None


def test_responses_api_shape_and_fenced_json_are_read() -> None:
    body = {"object": "response", "output": [{"type": "message", "content": [
        {"type": "output_text", "text": '```json\n{"category": "rate_limit", "retryable": true,'
                                        ' "reason": "Too many requests."}\n```'}]}]}
    assert parse_opinion(body, "m") == Opinion("rate_limit", True, "Too many requests.", "m")
