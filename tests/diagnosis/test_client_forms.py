"""The same error, printed by another client, gets the same category.

Every learning paste with an OpenAI-shaped error body is re-printed the way other client
libraries print such a body (a JVM exception with the JSON, openai-node's "Error: 400 {…}",
curl's status line and pretty JSON, .NET's RequestFailedException lines, Rust's Debug struct),
and diagnosed again. Rules written for one client's form would fail here: the knowledge must
hold for the error, not for how one SDK happened to print it. A few pastes are read through
context their body does not carry (a wrapper's words, a Chinese gateway message without a code),
hence a share rather than every one."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache

import pytest

from bot.diagnosis import diagnose
from bot.diagnosis.extract import extract_payload
from tests.diagnosis.conftest import HERE, LEARNING, load_jsonl

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}

Body = tuple[str, str | None, str | None, int | None]  # message, type, code, status


def _json(b: Body) -> str:
    return json.dumps({"error": {"message": b[0], "type": b[1], "param": None, "code": b[2]}},
                      ensure_ascii=False)


def _jvm(b: Body) -> str:
    return f"dev.ai4j.openai4j.OpenAiHttpException: {_json(b)}"


def _node(b: Body) -> str:
    return f"Error: {b[3]} {_json(b)}" if b[3] else f"Error: {_json(b)}"


def _curl(b: Body) -> str:
    head = f"HTTP/1.1 {b[3]} {REASONS.get(b[3], 'Error')}\ncontent-type: application/json\n\n" \
        if b[3] else ""
    body = json.loads(_json(b))
    return head + json.dumps(body, indent=2, ensure_ascii=False)


def _dotnet(b: Body) -> str:
    status = f"\nStatus: {b[3]} ({REASONS.get(b[3], 'Error')})" if b[3] else ""
    return f"Azure.RequestFailedException: {b[0]}{status}\nErrorCode: {b[2] or b[1]}"


def _rust(b: Body) -> str:
    def some(v: str | None) -> str:
        return f"Some({json.dumps(v, ensure_ascii=False)})" if v else "None"
    return (f"ApiError(ApiError {{ message: {json.dumps(b[0], ensure_ascii=False)}, "
            f"type: {some(b[1])}, param: None, code: {some(b[2])} }})")


FORMS: dict[str, Callable[[Body], str]] = {
    "jvm": _jvm, "node": _node, "curl": _curl, "dotnet": _dotnet, "rust": _rust}


@lru_cache(maxsize=1)
def bodies() -> tuple[tuple[str, Body], ...]:
    """(label, body) of every learning paste whose body is OpenAI-shaped and whose own
    diagnosis is right (a paste the table misreads says nothing about forms)."""
    out = []
    for name in LEARNING:
        for c in load_jsonl(HERE / name):
            if c["category"] == "unknown":
                continue
            p = extract_payload(c["text"])
            if p is None or not p.message or not p.openai_shape:
                continue
            d = diagnose(c["text"])
            if d.category == c["category"]:
                out.append((c["category"], (p.message, p.error_type, p.error_code,
                                            d.http_status)))
    return tuple(out)


def test_enough_bodies_to_judge() -> None:
    assert len(bodies()) >= 100


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_body_keeps_its_category_in_another_clients_form(form: str) -> None:
    render = FORMS[form]
    kept = [diagnose(render(body)).category == label for label, body in bodies()]
    assert sum(kept) / len(kept) >= 0.97, f"{form}: {sum(kept)}/{len(kept)}"
