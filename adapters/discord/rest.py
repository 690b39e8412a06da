"""Discord REST for alert delivery, and Discord failures → ``SendError``.

Why not discord.py's HTTP client for alerts: it sleeps through 429s and retries 5xx by itself
(up to five times), which would hold an outbox worker asleep and hide "maybe posted" answers
from the outbox. Alerts go through one ``httpx.AsyncClient`` (a ``transport`` seam, an explicit
timeout, no retries) on ``DISCORD_API_URL``; the outbox's single retry policy decides.

Classification (``send_error``):

- 429 → retryable after ``retry_after`` from the JSON body (or the ``Retry-After`` header);
- 5xx, timeouts, connection errors → retryable (the message may have been posted: the outbox
  reconciles through ``find_existing`` before posting again);
- 401 (token), 403 (``50001 Missing Access``, ``50013 Missing Permissions``), 404 (``10003
  Unknown Channel``), 400 (``50035 Invalid Form Body``) → not retryable: dead letter, with
  Discord's error code and name as the reason.

No message ever holds the token: messages are built from the operation, the HTTP status and
Discord's error code and text, and that text is passed through redaction and token masking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from bot.diagnosis.redact import mask_values, redact
from bot.errors import SendError

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_TIMEOUT_S = 15.0
USER_AGENT = "DiscordBot (https://github.com/sora-bot, 1.0) sora-bot"

# Discord JSON error codes → (retryable, short name). Unknown codes follow the HTTP status.
DISCORD_ERROR_CODES: dict[int, tuple[bool, str]] = {
    0: (False, "general error"),
    10003: (False, "unknown channel"),
    10004: (False, "unknown guild"),
    10008: (False, "unknown message"),
    20028: (True, "channel write rate limit"),
    30046: (False, "maximum edits to messages older than 1 hour"),
    40001: (False, "unauthorized"),
    40005: (False, "request entity too large"),
    50001: (False, "missing access"),
    50006: (False, "cannot send an empty message"),
    50008: (False, "cannot send messages in a non-text channel"),
    50013: (False, "missing permissions"),
    50035: (False, "invalid form body"),
    130000: (True, "API resource overloaded"),
    160005: (False, "thread is locked"),
}
# HTTP statuses that are not retried whatever the code says (nothing will change by waiting).
FINAL_STATUSES = frozenset({400, 401, 403, 404, 405, 413})


def api_base(api_url: str | None) -> str:
    """``DISCORD_API_URL`` (e.g. ``http://127.0.0.1:P/api/v10``) or Discord's own, no trailing /."""
    return (api_url or DEFAULT_API_URL).rstrip("/")


def make_http_client(token: str, api_url: str | None = None, *,
                     transport: httpx.AsyncBaseTransport | None = None,
                     timeout: float = DEFAULT_TIMEOUT_S) -> httpx.AsyncClient:
    """The alert sink's client: Discord's bot authorization, our timeout, no redirects."""
    return httpx.AsyncClient(base_url=api_base(api_url) + "/", transport=transport,
                             timeout=httpx.Timeout(timeout), follow_redirects=False,
                             headers={"Authorization": f"Bot {token}", "User-Agent": USER_AGENT})


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _body(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _safe(text: str, token: str | None) -> str:
    text = redact(text[:200])
    return mask_values(text, {token}) if token else text


def send_error(op: str, *, response: httpx.Response | None = None,
               exc: BaseException | None = None, token: str | None = None) -> SendError:
    """Classify a failed REST call for the one retry policy (bot.notify)."""
    if response is None:
        # Timeout, reset, DNS: the request may or may not have reached Discord.
        return SendError(f"discord {op}: {type(exc).__name__ if exc else 'no response'}",
                         retryable=True)
    status = response.status_code
    body = _body(response)
    if status == 429:
        retry_after = _seconds(body.get("retry_after"))
        if retry_after is None:
            retry_after = _seconds(response.headers.get("retry-after"))
        scope = " (global)" if body.get("global") else ""
        return SendError(f"discord {op}: rate limited{scope}", retryable=True,
                         retry_after=retry_after if retry_after is not None else 1.0, status=429)
    code = body.get("code")
    known = DISCORD_ERROR_CODES.get(code) if isinstance(code, int) else None
    detail = _safe(str(body.get("message") or (known[1] if known else "")), token)
    where = f"HTTP {status}" + (f" {code}" if isinstance(code, int) else "")
    message = f"discord {op}: {where}" + (f" {detail}" if detail else "")
    if status >= 500:
        return SendError(message, retryable=True, retry_after=_seconds(response.headers.get("retry-after")),
                         status=status)
    retryable = False if status in FINAL_STATUSES else bool(known and known[0])
    return SendError(message, retryable=retryable, status=status)


async def call(http: httpx.AsyncClient, method: str, path: str, op: str, *, token: str | None = None,
               **kwargs: Any) -> Any:
    """One REST call; the JSON answer, or ``SendError`` (classified, token-free)."""
    try:
        response = await http.request(method, path.lstrip("/"), **kwargs)
    except httpx.HTTPError as exc:
        raise send_error(op, exc=exc, token=token) from None
    if response.status_code >= 300:
        raise send_error(op, response=response, token=token)
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        # status None: the call may have done its work, so the outbox reconciles first
        raise SendError(f"discord {op}: HTTP {response.status_code} answer is not JSON",
                        retryable=True) from None
