"""Unsigned or malformed requests to ``/slack/events`` are refused before anything parses them.

Real HTTP against the real app (bolt behind ``slack_routes``, served by the bot's uvicorn):
hostile bodies without a valid signature get 401 with one line, no traceback is logged, the
body is never parsed (bolt's handler is not reached); a correctly signed request still works.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse

import aiohttp
import pytest

from adapters.slack.app import EVENTS_PATH
from tests.slack.conftest import Harness

DEEP_JSON = "[" * 5_000 + "]" * 5_000  # json.loads: RecursionError past ~1,000
JUNK_FORM = "payload=%7B%7B%7B&=&&=%ZZ" + "&a" * 2_000


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def _cases(h: Harness) -> list[tuple[str, str, dict[str, str]]]:
    ts = str(int(time.time()))
    sig = h.sender.headers("{bad", "application/json")["x-slack-signature"]
    form = "application/x-www-form-urlencoded"
    return [
        ("no signature, broken JSON", "{bad", {"content-type": "application/json"}),
        ("no signature, junk form", JUNK_FORM, {"content-type": form}),
        ("no signature, deep JSON", DEEP_JSON, {"content-type": "application/json"}),
        ("timestamp abc", "{bad", {"content-type": "application/json",
                                   "x-slack-request-timestamp": "abc", "x-slack-signature": sig}),
        ("timestamp 1e9", "{}", {"content-type": "application/json",
                                 "x-slack-request-timestamp": "1e9", "x-slack-signature": sig}),
        ("signature not v0", "{}", {"content-type": "application/json",
                                    "x-slack-request-timestamp": ts, "x-slack-signature": "v1=zz"}),
        ("wrong signature, deep JSON", DEEP_JSON,
         {"content-type": "application/json", "x-slack-request-timestamp": ts,
          "x-slack-signature": "v0=" + "0" * 64}),
        ("stale but signed", "{}", h.sender.headers("{}", "application/json",
                                                    ts=int(time.time()) - 6 * 60)),
    ]


async def test_bad_requests_are_401_one_line_and_never_parsed(slack: Harness, caplog):
    caplog.set_level(logging.DEBUG)
    for name, body, headers in _cases(slack):
        resp = await slack.sender.http.post(slack.sender.url + EVENTS_PATH, content=body.encode(),
                                            headers=headers)
        assert resp.status_code == 401, (name, resp.status_code, resp.text[:200])
        assert resp.text.count("\n") <= 1 and len(resp.text) < 200, name
    assert _tracebacks(caplog) == []
    assert not [r for r in caplog.records if r.name.startswith("adapters.slack.bolt")]  # bolt never saw them
    assert slack.fake.calls == []


async def test_a_signed_request_still_works_and_a_signed_broken_body_is_400(slack: Harness, caplog):
    resp = await slack.sender.slash("help")
    assert resp.status_code == 200 and "sora-bot help" in resp.json()["blocks"][0]["text"]["text"]
    caplog.set_level(logging.DEBUG)
    resp = await slack.sender.post("{bad", "application/json")  # signed by someone with the secret
    assert resp.status_code in (200, 400) and "Traceback" not in resp.text
    assert _tracebacks(caplog) == []


async def test_eight_hundred_bad_requests_write_no_traceback(slack: Harness, caplog):
    caplog.set_level(logging.INFO)  # tracebacks are ERROR records; DEBUG would log every request
    cases = _cases(slack)
    # aiohttp's client: 800 requests in well under a second (httpx needs ~4 s here)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as http:
        async def one(i: int) -> int:
            _, body, headers = cases[i % len(cases)]
            if i % 3 == 0:  # and a plain slash-command form with no signature at all
                body = urllib.parse.urlencode({"command": "/sora", "text": f"help {i}"})
                headers = {"content-type": "application/x-www-form-urlencoded"}
            async with http.post(slack.sender.url + EVENTS_PATH, data=body.encode(),
                                 headers=headers) as resp:
                await resp.read()
                return resp.status

        statuses = await asyncio.gather(*(one(i) for i in range(800)))
    assert set(statuses) == {401}
    assert _tracebacks(caplog) == []
    assert slack.fake.calls == []
