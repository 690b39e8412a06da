"""POST /v1/events over real HTTP: auth, size limits, bad input, every body form, redaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.web.ingest import MAX_BATCH
from tests.web.conftest import GATEWAY, TOKEN, Live, raw_exchange

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')
QUOTA = {"error": {"message": "You exceeded your current quota, please check your plan and "
                              "billing details.", "type": "insufficient_quota", "param": None,
                   "code": "insufficient_quota"}}
SDK_LINE = ("openai.RateLimitError: Error code: 429 - {'error': {'message': 'Rate limit reached "
            "for sora-2 in organization org-abc on requests per min (RPM): Limit 5, Used 5, "
            "Requested 1.', 'type': 'requests', 'param': None, 'code': 'rate_limit_exceeded'}}")
OPENAI_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH"
BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.QWxsWW91ckJhc2U"
BEARER_VALUE = BEARER.split(" ", 1)[1]
JSON_HEADERS = {"Content-Type": "application/json"}


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


# -- auth ------------------------------------------------------------------------------------

async def test_ingest_disabled_without_token(start_app: Any) -> None:
    live = await start_app(INGEST_TOKEN=None)
    r = await live.client.post("/v1/events", content=SEED, headers={**JSON_HEADERS,
                                                                    **live.auth()})
    assert r.status_code == 503
    assert r.json() == {"error": "ingest disabled: set INGEST_TOKEN"}
    assert live.rows() == []


async def test_blank_token_setting_also_disables(start_app: Any) -> None:
    live = await start_app(INGEST_TOKEN="   ")
    r = await live.client.post("/v1/events", content=SEED, headers={"Authorization": "Bearer"})
    assert r.status_code == 503


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": "Bearer"},
], ids=["missing", "wrong", "longer", "shorter", "basic", "no-scheme", "empty"])
async def test_rejects_without_valid_token(live: Live, headers: dict[str, str]) -> None:
    r = await live.client.post("/v1/events", content=SEED, headers={**JSON_HEADERS, **headers})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert set(r.json()) == {"error"} and r.json()["error"]
    assert TOKEN not in r.text
    assert live.rows() == [] and live.received == []


async def test_accepts_valid_token_any_scheme_case(live: Live) -> None:
    r = await live.client.post("/v1/events", content=SEED,
                               headers={**JSON_HEADERS, "Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 202, r.text


async def test_get_is_not_allowed(live: Live) -> None:
    r = await live.client.get("/v1/events", headers=live.auth())
    assert r.status_code == 405
    assert "error" in r.json()


# -- size ------------------------------------------------------------------------------------

async def test_413_by_content_length(live: Live) -> None:
    body = json.dumps({"error": "x" * 5000, "target": "openai"})
    assert len(body) > live.settings.INGEST_MAX_BYTES
    r = await live.client.post("/v1/events", content=body, headers={**JSON_HEADERS,
                                                                    **live.auth()})
    assert r.status_code == 413
    assert "4096" in r.json()["error"]
    assert live.rows() == []


async def test_413_from_declared_length_without_reading_the_body(live: Live) -> None:
    # Claims 50 MB and sends none of it: the answer must come from the header alone.
    head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n").encode()
    status = await raw_exchange(live.port, head)
    assert status.startswith(b"HTTP/1.1 413"), status


async def test_413_chunked_stream_counted(live: Live) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"error": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    r = await live.client.post("/v1/events", content=chunks(), headers={**JSON_HEADERS,
                                                                        **live.auth()})
    assert "content-length" not in r.request.headers  # really chunked
    assert r.status_code == 413
    assert live.rows() == []


async def test_413_on_endless_chunked_body(live: Live) -> None:
    # A body that never ends: only a server that stops reading at the limit can answer.
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 1024

    head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    status = await raw_exchange(live.port, head, endless())
    assert status.startswith(b"HTTP/1.1 413"), status
    assert live.rows() == []


async def test_size_checked_only_after_auth(live: Live) -> None:
    r = await live.client.post("/v1/events", content="x" * 10_000)
    assert r.status_code == 401


async def test_body_at_the_limit_is_accepted(live: Live) -> None:
    text = "openai.InternalServerError: Error code: 500 "
    body = (text + " " * (live.settings.INGEST_MAX_BYTES - len(text))).encode()
    assert len(body) == live.settings.INGEST_MAX_BYTES
    r = await live.client.post("/v1/events", content=body,
                               headers={"Content-Type": "text/plain", **live.auth()})
    assert r.status_code == 202, r.text


async def test_compressed_body_is_refused(live: Live) -> None:
    import gzip

    r = await live.client.post("/v1/events", content=gzip.compress(SEED.encode()),
                               headers={**JSON_HEADERS, **live.auth(),
                                        "Content-Encoding": "gzip"})
    assert r.status_code == 415
    assert "uncompressed" in r.json()["error"]
    assert live.rows() == []


async def test_batch_over_the_cap_is_413(start_app: Any) -> None:
    live = await start_app(INGEST_MAX_BYTES=1_000_000)
    events = [{"error": "boom", "target": "openai"}] * (MAX_BATCH + 1)
    r = await live.client.post("/v1/events", json={"events": events}, headers=live.auth())
    assert r.status_code == 413
    assert str(MAX_BATCH) in r.json()["error"]
    assert live.rows() == []
    r = await live.client.post("/v1/events", json=events[:MAX_BATCH], headers=live.auth())
    assert r.status_code == 202 and r.json()["accepted"] == MAX_BATCH


# -- bad input ----------------------------------------------------------------------------------

FUTURE = _iso(datetime.now(UTC) + timedelta(hours=2))

BAD_BODIES = [
    ("invalid-json", '{"error": "x",', "application/json", "invalid JSON"),
    ("empty", "", "application/json", "empty body"),
    ("whitespace", "  \n ", "text/plain", "empty body"),
    ("json-null", "null", "application/json", "JSON object, array or string"),
    ("json-number", "42", "application/json", "JSON object, array or string"),
    ("empty-object", "{}", "application/json", "no fields"),
    ("error-number", '{"error": 5, "target": "openai"}', "application/json",
     "'error' must be a string, object or array, got number"),
    ("error-empty", '{"error": "  ", "target": "openai"}', "application/json", "'error' is empty"),
    ("error-null", '{"error": null, "at": "2026-01-01T00:00:00Z"}', "application/json",
     "'error' must be a string, object or array, got null"),
    ("target-type", '{"error": "x", "target": 5}', "application/json",
     "'target' must be a string, got number"),
    ("target-unknown", '{"error": "x", "target": "nope"}', "application/json",
     "not a configured target; configured: openai, relay"),
    ("target-shape", '{"error": "x", "target": "a b"}', "application/json",
     "'target' must be a target name"),
    ("at-type", '{"error": "x", "at": 1767225600}', "application/json",
     "'at' must be an ISO 8601 string, got number"),
    ("at-garbage", '{"error": "x", "at": "yesterday"}', "application/json",
     "'at' is not an ISO 8601 date-time"),
    ("at-future", '{"error": "x", "at": "%s"}' % FUTURE, "application/json",
     "in the future"),
    ("unknown-field", '{"error": "x", "target": "openai", "tags": ["a"]}', "application/json",
     "unknown field(s) 'tags'"),
    ("events-type", '{"events": "x"}', "application/json", "'events' must be an array"),
    ("events-empty", '{"events": []}', "application/json", "empty batch"),
    ("events-extra", '{"events": [{"error": "x"}], "foo": 1}', "application/json",
     "unknown field(s) 'foo' next to 'events'"),
    ("array-empty", "[]", "application/json", "empty batch"),
    ("envelope-text-plain", '{"error": "x", "at": "not a date"}', "text/plain",
     "'at' is not an ISO 8601"),
]


@pytest.mark.parametrize("body,content_type,expected", [b[1:] for b in BAD_BODIES],
                         ids=[b[0] for b in BAD_BODIES])
async def test_422_bad_input(live: Live, body: str, content_type: str, expected: str) -> None:
    r = await live.client.post("/v1/events", content=body.encode(),
                               headers={"Content-Type": content_type, **live.auth()})
    assert r.status_code == 422, r.text
    message = r.json()["error"]
    assert expected in message
    assert "\n" not in message and "Traceback" not in message
    assert live.rows() == [] and live.received == []


@pytest.mark.parametrize("form", ["events", "array"])
async def test_batch_with_a_bad_item_stores_nothing(live: Live, form: str) -> None:
    items: list[Any] = [{"error": SEED, "target": "openai"},
                        {"error": "timeout", "target": GATEWAY},
                        {"error": "x", "at": "31/12/2025"},
                        {"error": "y", "target": 7}]
    body = {"events": items} if form == "events" else items
    r = await live.client.post("/v1/events", json=body, headers=live.auth())
    assert r.status_code == 422
    assert r.json()["error"].startswith("events[2]: 'at' is not an ISO 8601")
    assert live.rows() == [] and live.received == []


@pytest.mark.parametrize("item,expected", [
    ("just a string", "events[1]: an event must be an object with 'error', got string"),
    ({"target": "openai"}, "events[1]: missing 'error'"),
    ({"error": "x", "severity": "high"}, "events[1]: unknown field(s) 'severity'"),
])
async def test_batch_items_must_be_envelopes(live: Live, item: Any, expected: str) -> None:
    r = await live.client.post("/v1/events", json={"events": [{"error": "ok"}, item]},
                               headers=live.auth())
    assert r.status_code == 422
    assert r.json()["error"].startswith(expected)
    assert live.rows() == []


async def test_422_never_echoes_submitted_values(live: Live) -> None:
    body = {"error": f"key {OPENAI_KEY}", "target": OPENAI_KEY}
    r = await live.client.post("/v1/events", json=body, headers=live.auth())
    assert r.status_code == 422
    assert OPENAI_KEY not in r.text and "sk-proj" not in r.text
    r = await live.client.post("/v1/events", json={"error": "x", OPENAI_KEY: 1, "at": "x"},
                               headers=live.auth())
    assert r.status_code == 422
    assert OPENAI_KEY not in r.text


# -- accepted forms ------------------------------------------------------------------------------

async def test_raw_openai_body(live: Live) -> None:
    r = await live.client.post("/v1/events", content=SEED, headers={**JSON_HEADERS,
                                                                    **live.auth()})
    assert r.status_code == 202, r.text
    data = r.json()
    assert data["accepted"] == 1
    [event] = data["events"]
    assert set(event) == {"category", "fingerprint", "retryable"}
    assert event["category"] == "risk_control"
    [row] = live.rows()
    assert (row.source, row.target, row.category, row.fingerprint) == (
        "ingest", "openai", "risk_control", event["fingerprint"])
    assert row.error_code == "invalid_request"
    assert "Unable to process request" in row.redacted
    assert row.channel_key is None


async def test_raw_body_diagnosed_like_the_cli(live: Live) -> None:
    from bot.diagnosis import diagnose

    r = await live.client.post("/v1/events", json=QUOTA, headers=live.auth())
    [event] = r.json()["events"]
    expected = diagnose(json.dumps(QUOTA))
    assert event == {"category": "quota", "fingerprint": expected.fingerprint,
                     "retryable": False}


async def test_plain_text_sdk_line(live: Live) -> None:
    r = await live.client.post("/v1/events", content=SDK_LINE,
                               headers={"Content-Type": "text/plain", **live.auth()})
    assert r.status_code == 202, r.text
    [event] = r.json()["events"]
    assert event["category"] == "rate_limit" and event["retryable"] is True
    [row] = live.rows()
    assert row.http_status == 429 and row.error_code == "rate_limit_exceeded"
    assert row.target == "openai"


async def test_json_from_curl_form_content_type(live: Live) -> None:
    # `curl -d @body.json` sends application/x-www-form-urlencoded: still read as JSON.
    r = await live.client.post("/v1/events", content=json.dumps(QUOTA),
                               headers={"Content-Type": "application/x-www-form-urlencoded",
                                        **live.auth()})
    assert r.status_code == 202
    assert r.json()["events"][0]["category"] == "quota"


async def test_json_string_body(live: Live) -> None:
    r = await live.client.post("/v1/events", json=SDK_LINE, headers=live.auth())
    assert r.status_code == 202
    assert live.rows()[0].http_status == 429


async def test_envelope_with_target_and_time(live: Live) -> None:
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    r = await live.client.post("/v1/events", json={
        "error": QUOTA, "target": GATEWAY, "at": "2026-03-01T14:30:00+02:00"},
        headers=live.auth())
    assert r.status_code == 202, r.text
    [row] = live.rows()
    assert row.target == GATEWAY and row.at == at and row.category == "quota"
    assert live.received == [[{
        "at": at, "source": "ingest", "target": GATEWAY, "category": "quota",
        "fingerprint": row.fingerprint, "http_status": row.http_status,
        "error_code": "insufficient_quota", "channel_key": None, "redacted": row.redacted}]]


async def test_envelope_inner_error_object_is_rewrapped(live: Live) -> None:
    inner = QUOTA["error"]
    r = await live.client.post("/v1/events", json={"error": inner, "target": "openai"},
                               headers=live.auth())
    assert r.json()["events"][0]["category"] == "quota"
    assert json.loads(live.rows()[0].redacted) == QUOTA


async def test_naive_time_is_utc_and_default_time_is_now(start_app: Any) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
    live = await start_app(now=clock)
    r = await live.client.post("/v1/events", json=[
        {"error": "x", "at": "2026-05-01T07:00:00"}, {"error": SEED}], headers=live.auth())
    assert r.status_code == 202
    rows = live.rows()
    assert [row.at for row in rows] == [datetime(2026, 5, 1, 7, 0, tzinfo=UTC),
                                        clock()]
    # A few minutes of sender clock skew are tolerated, hours are not.
    ok = await live.client.post("/v1/events", json={
        "error": "x", "at": _iso(clock() + timedelta(minutes=4))}, headers=live.auth())
    late = await live.client.post("/v1/events", json={
        "error": "x", "at": _iso(clock() + timedelta(minutes=6))}, headers=live.auth())
    assert (ok.status_code, late.status_code) == (202, 422)


@pytest.mark.parametrize("form", ["events", "array"])
async def test_batch_forms(live: Live, form: str) -> None:
    items = [{"error": SEED, "target": "openai", "at": "2026-02-01T00:00:00Z"},
             {"error": QUOTA["error"], "target": GATEWAY, "at": "2026-02-01T00:00:01Z"},
             {"error": SDK_LINE, "at": "2026-02-01T00:00:02Z"}]
    body = {"events": items} if form == "events" else items
    r = await live.client.post("/v1/events", json=body, headers=live.auth())
    assert r.status_code == 202, r.text
    data = r.json()
    assert data["accepted"] == 3
    assert [e["category"] for e in data["events"]] == ["risk_control", "quota", "rate_limit"]
    rows = live.rows()
    assert [(row.target, row.category) for row in rows] == [
        ("openai", "risk_control"), (GATEWAY, "quota"), ("openai", "rate_limit")]
    assert len(live.received) == 1 and len(live.received[0]) == 3


async def test_raw_object_with_error_key_and_other_fields_is_a_payload(live: Live) -> None:
    # Not our envelope (no target/at): a gateway's own error shape, diagnosed as sent.
    body = {"error": {"message": "upstream connect error", "type": "server_error"},
            "status": 502, "provider": "relay"}
    r = await live.client.post("/v1/events", json=body, headers=live.auth())
    assert r.status_code == 202
    assert json.loads(live.rows()[0].redacted) == body


# -- secrets ---------------------------------------------------------------------------------

def _all_columns(row: Any) -> str:
    return " ".join(str(getattr(row, c)) for c in (
        "target", "category", "fingerprint", "http_status", "error_code", "channel_key",
        "redacted"))


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
async def test_secrets_redacted_in_db_and_response(live: Live, content_type: str) -> None:
    text = (f"openai.AuthenticationError: Error code: 401 - Incorrect API key provided: "
            f"{OPENAI_KEY}. request headers: Authorization: {BEARER}")
    body = json.dumps({"error": text, "target": "openai"}) \
        if content_type == "application/json" else text
    r = await live.client.post("/v1/events", content=body,
                               headers={"Content-Type": content_type, **live.auth()})
    assert r.status_code == 202, r.text
    for secret in (OPENAI_KEY, BEARER_VALUE, OPENAI_KEY[8:30]):
        assert secret not in r.text
    [row] = live.rows()
    stored = _all_columns(row)
    for secret in (OPENAI_KEY, BEARER_VALUE, OPENAI_KEY[8:30]):
        assert secret not in stored
    for events in live.received:
        assert OPENAI_KEY not in repr(events) and BEARER_VALUE not in repr(events)
    assert "Incorrect API key provided" in row.redacted  # the message itself survives
    assert row.category == "auth"


async def test_secrets_in_raw_database_file(live: Live, tmp_path: Any) -> None:
    """Belt and braces: the bytes of the SQLite file never contain the key."""
    r = await live.client.post("/v1/events", json={"error": {"message": f"bad key {OPENAI_KEY}",
                                                             "code": "invalid_api_key"}},
                               headers=live.auth())
    assert r.status_code == 202
    live.store.engine.dispose()  # flush WAL pages into the files
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("web.db"))
    assert OPENAI_KEY.encode() not in blob
    assert b"invalid_api_key" in blob


# -- side effects ------------------------------------------------------------------------------

async def test_async_callback_and_metrics(start_app: Any) -> None:
    got: list[list[dict[str, Any]]] = []

    async def on_events(events: list[dict[str, Any]]) -> None:
        got.append(events)

    live = await start_app(on_events=on_events)
    r = await live.client.post("/v1/events", json=[{"error": SEED}, {"error": SEED},
                                                   {"error": QUOTA}], headers=live.auth())
    assert r.status_code == 202
    assert [len(batch) for batch in got] == [3]
    text = (await live.client.get("/metrics")).text
    assert 'sora_bot_errors_total{category="risk_control",source="ingest"} 2.0' in text
    assert 'sora_bot_errors_total{category="quota",source="ingest"} 1.0' in text


async def test_failing_callback_does_not_lose_the_request(start_app: Any) -> None:
    def on_events(events: list[dict[str, Any]]) -> None:
        raise RuntimeError("monitor exploded")

    live = await start_app(on_events=on_events)
    r = await live.client.post("/v1/events", content=SEED, headers={**JSON_HEADERS,
                                                                    **live.auth()})
    assert r.status_code == 202
    assert len(live.rows()) == 1


async def test_store_failure_is_503_and_one_line(start_app: Any, store: Any) -> None:
    live = await start_app()
    store.downgrade("base")  # the tables are gone: every write fails
    r = await live.client.post("/v1/events", content=SEED, headers={**JSON_HEADERS,
                                                                    **live.auth()})
    assert r.status_code == 503
    assert r.json() == {"error": "cannot store events right now; retry later"}
    assert live.received == []


# -- team memory -----------------------------------------------------------------------------

async def test_events_join_the_named_team_or_the_configured_one(live: Live) -> None:
    from bot.memory import WINDOWS

    r = await live.client.post("/v1/events?team=slack:T0123", json={"events": [
        {"error": QUOTA["error"]}, {"error": SEED}]}, headers=live.auth())
    assert r.status_code == 202 and r.json()["team"] == "slack:T0123"
    r = await live.client.post("/v1/events", content=SEED, headers={**JSON_HEADERS, **live.auth()})
    assert r.status_code == 202 and r.json()["team"] == live.settings.INGEST_TEAM == "shell:local"
    named = live.store.top("slack:T0123", WINDOWS["1h"])
    assert sorted(e.category for e in named.entries) == ["quota", "risk_control"]
    assert [e.count for e in live.store.top("shell:local", WINDOWS["1h"]).entries] == [1]
    assert live.store.error_total(datetime(2000, 1, 1, tzinfo=UTC)) == 3  # the team stream too


@pytest.mark.parametrize("team", ["TNOPE9", "Slack:TNOPE9", "slack:", "slack:TNOPE 9",
                                  "x" * 40 + ":TNOPE9"])
async def test_a_malformed_team_is_one_line_and_stores_nothing(live: Live, team: str) -> None:
    r = await live.client.post("/v1/events", params={"team": team}, content=SEED,
                               headers={**JSON_HEADERS, **live.auth()})
    assert r.status_code == 422 and r.json()["error"].startswith("team: must look like")
    assert "NOPE" not in r.text  # the value is not echoed
    assert live.store.error_total(datetime(2000, 1, 1, tzinfo=UTC)) == 0
