"""Hostile ingest bodies get a 4xx with one clear line, never a 500, a traceback or a dropped
keep-alive connection (issue 12 item 1), over real HTTP on one raw keep-alive socket.

Before the fix, arrays nested 1,000 deep raised RecursionError (JSON, text/plain, inside a
batch item) and ``at`` values such as ``0001-01-01T00:00:00+14:00`` raised OverflowError:
uvicorn logged a full traceback and closed the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.web.ingest import MAX_JSON_DEPTH, json_depth_exceeds
from tests.web.conftest import TOKEN, Live

DEEP = "[" * 1000 + "]" * 1000
SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')


class KeepAlive:
    """One TCP connection, requests written by hand, responses read by Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 port: int) -> None:
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> KeepAlive:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def post(self, path: str, body: bytes, content_type: str = "application/json",
                   token: str = TOKEN) -> tuple[int, dict[str, Any]]:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        await self.writer.drain()
        return await self._response()

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
        await self.writer.drain()
        return await self._response()

    async def _response(self) -> tuple[int, dict[str, Any]]:
        status_line = await asyncio.wait_for(self.reader.readline(), 10)
        assert status_line, "the server closed the keep-alive connection"
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers.get("connection", "").lower() != "close", headers
        body = await self.reader.readexactly(int(headers["content-length"]))
        return int(status_line.split()[1]), json.loads(body)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "Traceback" not in record.getMessage()
        assert record.name != "uvicorn.error" or record.levelno < logging.ERROR, \
            record.getMessage()


HOSTILE = [
    pytest.param(DEEP.encode(), "application/json", 422, "nested deeper", id="deep-json"),
    pytest.param(DEEP.encode(), "text/plain", 422, "nested deeper", id="deep-text-plain"),
    pytest.param(json.dumps({"events": [{"error": "x"}]}).replace('"x"', DEEP).encode(),
                 "application/json", 422, "nested deeper", id="deep-batch-item"),
    pytest.param(json.dumps({"error": {"nested": json.loads("[" * 70 + "]" * 70)},
                             "target": "openai"}).encode(),
                 "application/json", 422, "nested deeper", id="deep-envelope-70"),
    pytest.param(json.dumps({"error": "x", "at": "0001-01-01T00:00:00+14:00"}).encode(),
                 "application/json", 422, "'at' is out of range", id="at-before-year-1"),
    pytest.param(json.dumps({"error": "x", "at": "9999-12-31T23:59:59-23:59"}).encode(),
                 "application/json", 422, "'at' is out of range", id="at-after-9999"),
    pytest.param(json.dumps({"events": [{"error": "x", "at": "0001-01-01T00:00:00+14:00"}]})
                 .encode(), "application/json", 422, "events[0]: 'at' is out of range",
                 id="at-overflow-in-batch"),
    pytest.param(json.dumps({"error": "x", "at": "1900-01-01T00:00:00Z"}).encode(),
                 "application/json", 422, "'at' is before 2000", id="at-1900"),
]


@pytest.mark.parametrize("body,content_type,status,needle", HOSTILE)
async def test_hostile_body_is_a_clear_4xx_and_the_connection_lives(
        live: Live, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str,
        status: int, needle: str) -> None:
    caplog.set_level(logging.INFO)
    conn = await KeepAlive.open(live.port)
    try:
        got, answer = await conn.post("/v1/events", body, content_type)
        assert got == status, answer
        assert set(answer) == {"error"} and needle in answer["error"], answer
        assert "\n" not in answer["error"]
        # The same connection still works: the next request is accepted.
        got, answer = await conn.post("/v1/events", SEED.encode())
        assert got == 202, answer
    finally:
        await conn.close()
    assert len(live.rows()) == 1  # only the good one was stored
    _no_traceback(caplog)


async def test_shallow_nesting_is_still_accepted(live: Live) -> None:
    nested = json.dumps({"error": {"message": "boom", "details": json.loads(
        "[" * (MAX_JSON_DEPTH - 3) + "]" * (MAX_JSON_DEPTH - 3))}, "target": "openai"})
    r = await live.client.post("/v1/events", content=nested,
                               headers={**live.auth(), "Content-Type": "application/json"})
    assert r.status_code == 202, r.text


def test_depth_scan_ignores_brackets_inside_strings_and_escapes() -> None:
    assert not json_depth_exceeds(json.dumps({"e": "[" * 500}))
    assert not json_depth_exceeds(json.dumps({"e": '\\"' + "{" * 500}))
    assert json_depth_exceeds('"\\\\"' + "[" * (MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert json_depth_exceeds("{\"a\":" * (MAX_JSON_DEPTH + 1))
    # Linear: a megabyte of brackets is scanned without recursion.
    assert json_depth_exceeds("[" * 1_000_000)


async def test_an_unforeseen_exception_is_one_line_and_keeps_the_connection(
        start_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: Any) -> PlainTextResponse:
        raise RecursionError("maximum recursion depth exceeded sk-should-not-leak")

    caplog.set_level(logging.INFO)
    live = await start_app(extra_routes=[Route("/broken", broken)])
    conn = await KeepAlive.open(live.port)
    try:
        got, answer = await conn.get("/broken")
        assert (got, answer) == (500, {"error": "internal error"})
        got, answer = await conn.get("/healthz")  # same connection
        assert got == 200, answer
    finally:
        await conn.close()
    lines = [r for r in caplog.records if "unhandled" in r.getMessage()]
    assert [r.getMessage() for r in lines] == ["web: unhandled RecursionError on GET /broken"]
    assert all("sk-should-not-leak" not in r.getMessage() for r in caplog.records)
    _no_traceback(caplog)
