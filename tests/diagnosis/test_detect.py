"""looks_like_error: error pastes yes, ordinary chat about errors no."""

from __future__ import annotations

import pytest

from bot.diagnosis.detect import looks_like_error
from tests.diagnosis.conftest import CORPUS, FIXTURES, load_jsonl

POSITIVE = [
    '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}',
    "{'error': {'message': 'Rate limit reached', 'type': 'requests', 'param': None, 'code': 'rate_limit_exceeded'}}",
    "openai.RateLimitError: Error code: 429 - {'error': {'message': 'x'}}",
    "openai.error.ServiceUnavailableError: The server is overloaded or not ready yet.",
    "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nKeyError: 'x'",
    "AxiosError: Request failed with status code 500",
    "Error: read ECONNRESET\n    at TLSWrap.onStreamRead (node:internal/stream_base_commons:217:20)",
    "TypeError: fetch failed",
    "AI_APICallError: Unable to process request",
    "httpx.ConnectTimeout: timed out",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.openai.com', port=443): Max retries exceeded with url: /v1/videos",
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head></html>",
    "got this: Error code: 429 since this morning",
    "HTTP/1.1 503 Service Unavailable",
    "it says 429 Too Many Requests every time",
    '{"id":"video_1","object":"video","status":"failed","error":{"code":"moderation_blocked","message":"blocked"}}',
    '{"detail": "Not authenticated"}',
    "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
    "Error: getaddrinfo ENOTFOUND api.openai.com",
    "当前分组上游负载已饱和，请稍后再试",
    "Error: 403 Country, region, or territory not supported",
    "BadRequestError: 400 Unable to process request",
    "socket hang up",
    "status: 503",
    "✕ [API Error: OpenAI API error: 429 status code (no body)]",
    "Error communicating with OpenAI: ('Connection aborted.', RemoteDisconnected('Remote end closed'))",
    "LibreChat | error: Error handling request 404 Your organization must be verified to use the model `o3`.",
    "Error [TimeoutError]: Request timed out.",
    "insufficient_user_quota user quota is not enough",
]

NEGATIVE = [
    "the error rate looks fine today",
    "any errors?",
    "I got an error yesterday, will check",
    "can someone look at the sora errors dashboard?",
    "error handling in the worker needs a refactor",
    "we saw a few 429s last night but it recovered",
    "/sora status",
    "thanks, that fixed it!",
    "Is the API down for anyone else?",
    "the video of the cat looks great",
    "deploying the fix for the timeout bug now",
    "Errors are down 50% since the retry change",
    "what does risk control mean here?",
    "ok",
    "",
    "   ",
    "let's set seconds to 8 and size 1280x720",
    "I think the quota is fine, we topped up",
    "the rate limit is 5 per minute on our tier",
    "meeting at 10:30 about the exception reports",
    "lol the model hallucinated a cat with five legs",
    "status page says all systems operational",
    "the model is overloaded today, ugh",
    "is the maximum context length 128k for gpt-4o?",
    "I think our quota is not enough for the launch",
    "does sora-2-pro need org verification for our team?",
    "Azure's content management policy is pretty strict for video",
    "API error rates are back to normal",
    "we should catch APIConnectionError and retry",
]


def test_enough_examples() -> None:
    assert len(POSITIVE) >= 20 and len(NEGATIVE) >= 20


@pytest.mark.parametrize("text", POSITIVE)
def test_error_pastes_are_detected(text: str) -> None:
    assert looks_like_error(text)


@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_chat_is_not(text: str) -> None:
    assert not looks_like_error(text)


def test_every_labelled_error_is_detected() -> None:
    cases = load_jsonl(CORPUS) + (load_jsonl(FIXTURES) if FIXTURES.exists() else [])
    errors = [c["text"] for c in cases if c["category"] != "unknown"]
    missed = [t[:80] for t in errors if not looks_like_error(t)]
    assert not missed


def test_never_raises_and_is_bounded() -> None:
    assert looks_like_error(None) is False  # type: ignore[arg-type]
    assert looks_like_error("{" * 200_000) is False
    assert looks_like_error("x" * 1_000_000 + "\nhttpx.ConnectTimeout: timed out") is True
