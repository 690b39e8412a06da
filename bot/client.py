"""Report your app's Sora / OpenAI errors to sora-bot's ingest API (``POST /v1/events``).

Drop-in: this file needs only httpx and the standard library, so it can be copied into any
app as well as imported from an installed sora-bot::

    from bot.client import report            # or: from sora_bot_client import report
    try:
        client.videos.create(model="sora-2", prompt=prompt)
    except openai.OpenAIError as exc:
        report(exc)                           # never raises; False when it could not report
        raise

Configuration comes from the arguments or the environment: ``SORA_BOT_URL`` (the bot's base
URL, default ``http://127.0.0.1:3000``) and ``SORA_BOT_INGEST_TOKEN`` (the bot's INGEST_TOKEN).

Why it never raises: reporting is a side channel. A bot that is down, slow or misconfigured must
never turn into an exception (or a long stall) in the caller's request path, so every failure
is a ``False`` return and a debug log line. Secrets are masked before anything leaves the
process; the bot masks again on arrival.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger("sora_bot.client")

ENV_URL = "SORA_BOT_URL"
ENV_TOKEN = "SORA_BOT_INGEST_TOKEN"
DEFAULT_URL = "http://127.0.0.1:3000"
EVENTS_PATH = "/v1/events"
DEFAULT_TIMEOUT_S = 2.0
# Response headers worth sending along: they identify the request and say when to retry.
USEFUL_HEADERS: tuple[str, ...] = ("x-request-id", "retry-after", "retry-after-ms",
                                   "x-ratelimit-remaining-requests",
                                   "x-ratelimit-reset-requests")
MAX_TEXT = 16_000
MASK = "[REDACTED]"

# A small, self-contained set of secret patterns (the bot's own redaction is broader).
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), "sk-" + MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_\-.=+/~]{6,}"), r"\1" + MASK),
    (re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9\-]{6,}"), MASK),
    (re.compile(r"(?i)\b((?:api[_-]?key|access[_-]?token|token|secret|password|sig)=)"
                r"[^&\s\"'<>]+"), r"\1" + MASK),
    (re.compile(r"(?i)(\b(?:api[_-]?key|authorization|ocp-apim-subscription-key)[\"']?\s*[:=]"
                r"\s*[\"']?)(?!bearer\s)[^\s\"',}]{6,}"), r"\1" + MASK),
    (re.compile(r"\b[0-9a-f]{32}\b"), MASK),  # Azure OpenAI keys
)


def _local_redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _pick_redactor() -> Callable[[str], str]:
    """The bot's redaction when sora-bot is installed, else the small set above."""
    try:
        from bot.diagnosis.redact import redact as bot_redact
    except ImportError:
        return _local_redact

    def both(text: str) -> str:
        return _local_redact(bot_redact(text))

    return both


redact = _pick_redactor()


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":  # shown bare, as Python's own tracebacks do
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _headline(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{_type_name(exc)}: {message}" if message else _type_name(exc)


def _response_body(exc: BaseException) -> str | None:
    """The error body as the provider sent it; openai's ``exc.body`` when the response is gone."""
    response = getattr(exc, "response", None)
    try:
        text = getattr(response, "text", None)
    except Exception:  # httpx raises ResponseNotRead for a streamed, unread response
        text = None
    if isinstance(text, str) and text.strip():
        return text
    body = getattr(exc, "body", None)
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    try:
        return json.dumps(body, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(body)


def format_exception(exc: BaseException) -> str:
    """``module.Type: message`` plus, for SDK errors (duck-typed), status, headers and body.

    Works with the openai SDK (``APIStatusError.status_code``/``.body``/``.response``), httpx
    (``HTTPStatusError.response``) and plain exceptions; the direct cause is added on a line
    of its own because it often holds the real reason (a connect error under a wrapper).
    """
    lines = [_headline(exc)]
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(response, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        lines.append(f"status: {status}")
    headers = getattr(response, "headers", None)
    if headers is not None:
        for name in USEFUL_HEADERS:
            try:
                value = headers.get(name)
            except Exception:
                value = None
            if value:
                lines.append(f"{name}: {value}")
    body = _response_body(exc)
    if body:
        lines.append(f"body: {body}")
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None and cause is not exc:
        lines.append(f"caused by: {_headline(cause)}")
    return "\n".join(lines)[:MAX_TEXT]


def _redact_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_json(v) for v in value]
    return value


def build_envelope(exc_or_payload: Any, *, target: str = "openai",
                   at: datetime | None = None) -> dict[str, Any]:
    """The envelope sent to the bot: ``{"error": ..., "target": ..., "at": ...}``, redacted."""
    payload: Any
    if isinstance(exc_or_payload, BaseException):
        payload = format_exception(exc_or_payload)
    elif isinstance(exc_or_payload, (bytes, bytearray)):
        payload = bytes(exc_or_payload).decode("utf-8", errors="replace")
    elif isinstance(exc_or_payload, (str, dict, list)):
        payload = exc_or_payload
    else:
        payload = str(exc_or_payload)
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return {"error": _redact_json(payload), "target": target,
            "at": when.isoformat().replace("+00:00", "Z")}


_warned = False


def _warn_unconfigured() -> None:
    """Once per process: a silent False would hide a typo in the configuration for good."""
    global _warned
    if _warned:
        log.debug("sora-bot report skipped: no token (set %s)", ENV_TOKEN)
        return
    _warned = True
    log.warning("sora-bot: errors are not being reported: set %s to the bot's INGEST_TOKEN "
                "(and %s to its address, default %s)", ENV_TOKEN, ENV_URL, DEFAULT_URL)


def _request(exc_or_payload: Any, target: str, url: str | None,
             token: str | None) -> tuple[str, dict[str, str], bytes] | None:
    token = token if token is not None else os.environ.get(ENV_TOKEN)
    if not token:
        _warn_unconfigured()
        return None
    base = (url or os.environ.get(ENV_URL) or DEFAULT_URL).rstrip("/")
    endpoint = base if base.endswith(EVENTS_PATH) else base + EVENTS_PATH
    body = json.dumps(build_envelope(exc_or_payload, target=target), ensure_ascii=False,
                      default=str).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return endpoint, headers, body


def _accepted(response: httpx.Response) -> bool:
    if 200 <= response.status_code < 300:
        return True
    log.debug("sora-bot report refused: HTTP %s", response.status_code)
    return False


def report(exc_or_payload: Any, *, target: str = "openai", url: str | None = None,
           token: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
           transport: httpx.BaseTransport | None = None) -> bool:
    """Send one error to sora-bot from synchronous code. True when the bot accepted it."""
    try:
        prepared = _request(exc_or_payload, target, url, token)
        if prepared is None:
            return False
        endpoint, headers, body = prepared
        with httpx.Client(timeout=timeout, transport=transport) as client:
            return _accepted(client.post(endpoint, content=body, headers=headers))
    except Exception as exc:  # never into the caller's app
        log.debug("sora-bot report failed: %s", type(exc).__name__)
        return False


async def areport(exc_or_payload: Any, *, target: str = "openai", url: str | None = None,
                  token: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                  transport: httpx.AsyncBaseTransport | None = None) -> bool:
    """Send one error to sora-bot from asyncio code. True when the bot accepted it."""
    try:
        prepared = _request(exc_or_payload, target, url, token)
        if prepared is None:
            return False
        endpoint, headers, body = prepared
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            return _accepted(await client.post(endpoint, content=body, headers=headers))
    except Exception as exc:  # never into the caller's app
        log.debug("sora-bot report failed: %s", type(exc).__name__)
        return False


__all__ = ["report", "areport", "format_exception", "build_envelope", "redact", "ENV_URL",
           "ENV_TOKEN"]
