"""bot.client against the live app over real HTTP, and its formatting and redaction."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest

from bot import client
from bot.client import areport, build_envelope, format_exception, report
from bot.web.server import bind_socket
from tests.web.conftest import GATEWAY, TOKEN, Live

OPENAI_KEY = "sk-proj-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210zyxwVU"
RATE_BODY = {"error": {"message": "Rate limit reached for sora-2 in organization org-abc on "
                                  "requests per min (RPM): Limit 5, Used 5, Requested 1.",
                       "type": "requests", "param": None, "code": "rate_limit_exceeded"}}


class RateLimitError(Exception):
    """Shaped like openai.RateLimitError (an APIStatusError): message, status_code, body,
    response. The SDK is not a dependency, so the duck type is built here."""

    __module__ = "openai"

    def __init__(self, response: httpx.Response) -> None:
        body = response.json()
        super().__init__(f"Error code: {response.status_code} - {body}")
        self.response = response
        self.status_code = response.status_code
        self.body = body.get("error", body)  # the SDK keeps the inner object


def rate_limit_error(extra_message: str = "") -> RateLimitError:
    body = json.loads(json.dumps(RATE_BODY))
    body["error"]["message"] += extra_message
    response = httpx.Response(
        429, json=body, headers={"x-request-id": "req_0123456789abcdef0123456789abcdef",
                                 "retry-after": "20"},
        request=httpx.Request("POST", "https://api.openai.com/v1/videos"))
    return RateLimitError(response)


def dead_url() -> str:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here any more: connection refused
    return f"http://127.0.0.1:{port}"


# -- against the live app ------------------------------------------------------------------------

async def test_report_sync_exception_is_stored_diagnosed_and_redacted(live: Live) -> None:
    exc = rate_limit_error(f" (key {OPENAI_KEY})")
    ok = await asyncio.to_thread(report, exc, url=live.url, token=TOKEN)
    assert ok is True
    [row] = live.rows()
    assert (row.source, row.target, row.category, row.http_status, row.error_code) == (
        "ingest", "openai", "rate_limit", 429, "rate_limit_exceeded")
    assert OPENAI_KEY not in row.redacted and OPENAI_KEY[8:30] not in row.redacted
    assert row.redacted.startswith("openai.RateLimitError: Error code: 429")
    assert "req_0123456789abcdef0123456789abcdef" in row.redacted


async def test_areport_uses_environment(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(client.ENV_URL, live.url + "/")
    monkeypatch.setenv(client.ENV_TOKEN, TOKEN)
    assert await areport(RATE_BODY, target=GATEWAY) is True
    [row] = live.rows()
    assert row.target == GATEWAY and row.category == "rate_limit"
    assert json.loads(row.redacted) == RATE_BODY


async def test_report_plain_text_and_full_endpoint_url(live: Live) -> None:
    line = "httpx.ConnectTimeout: timed out"
    assert await areport(line, url=live.url + "/v1/events", token=TOKEN) is True
    assert live.rows()[0].category == "network"


async def test_report_wrong_token_returns_false(live: Live, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="sora_bot.client")
    assert await areport("boom", url=live.url, token="not-the-token") is False
    assert await asyncio.to_thread(report, "boom", url=live.url, token="nope") is False
    assert live.rows() == []
    assert "HTTP 401" in caplog.text
    assert "not-the-token" not in caplog.text


async def test_report_without_token_sends_nothing_and_warns_once(
        live: Live, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.delenv(client.ENV_TOKEN, raising=False)
    monkeypatch.setattr(client, "_warned", False)
    with caplog.at_level(logging.DEBUG, logger="sora_bot.client"):
        assert await areport("boom", url=live.url) is False
        assert await asyncio.to_thread(report, "boom again", url=live.url) is False
    assert live.rows() == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert client.ENV_TOKEN in warnings[0].getMessage() and client.ENV_URL in warnings[0].getMessage()


async def test_report_server_down_returns_false_without_raising(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="sora_bot.client")
    url = dead_url()
    started = time.monotonic()
    assert await areport(rate_limit_error(), url=url, token=TOKEN, timeout=1.0) is False
    assert await asyncio.to_thread(report, rate_limit_error(), url=url, token=TOKEN,
                                   timeout=1.0) is False
    assert time.monotonic() - started < 5
    assert "ConnectError" in caplog.text
    assert TOKEN not in caplog.text


async def test_report_never_raises_on_odd_input(live: Live) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert await areport(Unprintable(), url=live.url, token=TOKEN) is False
    assert await areport("x", url="not a url at all", token=TOKEN) is False
    assert await areport(b"openai.APIConnectionError: Connection error.", url=live.url,
                         token=TOKEN) is True


# -- formatting and redaction ----------------------------------------------------------------------

def test_format_openai_style_error() -> None:
    text = format_exception(rate_limit_error())
    lines = text.splitlines()
    assert lines[0].startswith("openai.RateLimitError: Error code: 429 - {'error':")
    assert "status: 429" in lines
    assert "x-request-id: req_0123456789abcdef0123456789abcdef" in lines
    assert "retry-after: 20" in lines
    body_line = next(line for line in lines if line.startswith("body: "))
    assert json.loads(body_line[len("body: "):]) == RATE_BODY


def test_format_uses_sdk_body_when_response_is_unread() -> None:
    class APIStatusError(Exception):
        status_code = 500
        body = {"message": "The server had an error", "type": "server_error"}
        response = httpx.Response(500, stream=httpx.ByteStream(b"{}"),
                                  request=httpx.Request("GET", "https://x/v1/models"))

    text = format_exception(APIStatusError("Error code: 500"))
    assert "status: 500" in text
    assert 'body: {"message": "The server had an error"' in text


def test_format_builtin_and_cause() -> None:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("Connection error.") from inner
    except RuntimeError as exc:
        text = format_exception(exc)
    assert text.splitlines() == [
        "RuntimeError: Connection error.",
        "caused by: ConnectionResetError: [Errno 104] Connection reset by peer"]


def test_format_real_httpx_status_error() -> None:
    request = httpx.Request("GET", "https://gw.example/v1/videos")
    response = httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>",
                              request=request)
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        text = format_exception(exc)
    assert text.startswith("httpx.HTTPStatusError: Server error '502 Bad Gateway'")
    assert "status: 502" in text and "body: <html><h1>502 Bad Gateway</h1></html>" in text


@pytest.mark.parametrize("secret,text", [
    (OPENAI_KEY, f"Incorrect API key provided: {OPENAI_KEY}."),
    ("sk-abcdefghijklmnop1234", "key=sk-abcdefghijklmnop1234"),
    ("eyJhbGciOi.abc.def", "Authorization: Bearer eyJhbGciOi.abc.def"),
    ("xoxb-1234-5678-abcdefgh", "slack xoxb-1234-5678-abcdefgh"),
    ("0123456789abcdef0123456789abcdef", "api-key: 0123456789abcdef0123456789abcdef"),
    ("s3cr3tvalue", "https://x.openai.azure.com/openai?api_key=s3cr3tvalue&v=1"),
])
def test_local_redaction(secret: str, text: str) -> None:
    """The drop-in copy has no bot.diagnosis: its own patterns must hold on their own."""
    assert secret not in client._local_redact(text)
    assert secret not in client.redact(text)


def test_envelope_redacts_nested_payloads() -> None:
    env = build_envelope({"error": {"message": f"bad key {OPENAI_KEY}", "code": None}},
                         target="relay")
    assert OPENAI_KEY not in json.dumps(env)
    assert env["target"] == "relay" and env["at"].endswith("Z")
    assert env["error"]["error"]["code"] is None


async def test_request_on_the_wire_holds_no_secret() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"accepted": 1, "events": []})

    ok = await areport(rate_limit_error(f" Authorization: Bearer {OPENAI_KEY}"),
                       url="http://bot.test", token=TOKEN,
                       transport=httpx.MockTransport(handler))
    assert ok is True
    [request] = seen
    assert request.url == "http://bot.test/v1/events"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert OPENAI_KEY.encode() not in request.content
    assert set(json.loads(request.content)) == {"error", "target", "at"}
