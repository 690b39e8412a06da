"""Slack's request signature, checked in front of bolt, before the body is parsed.

Why in front: bolt parses the body (JSON, form, the ``payload`` field) before its own signature
middleware runs, so an unsigned ``{bad``, a junk form, JSON nested 5,000 deep or
``X-Slack-Request-Timestamp: abc`` raised inside bolt: a 500 and a traceback per request,
cheap for anyone to send. Here the headers are checked first (a timestamp of digits, fresh
within 5 minutes; a ``v0=`` signature of 64 hex digits), then the raw bytes are read (bounded)
and their HMAC compared with slack_sdk's ``SignatureVerifier``; only a request that passes
reaches bolt. A refusal is 401 with one line and a DEBUG log line: no traceback, no body
parsed, nothing echoed back.

Docs: docs.slack.dev/authentication/verifying-requests-from-slack (``v0:{ts}:{body}``, HMAC
SHA-256, reject timestamps older than five minutes).
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable

from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message

log = logging.getLogger(__name__)

MAX_AGE_S = 5 * 60
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are far smaller; more is not from Slack
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")

Endpoint = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SignatureGate:
    """Checks one request; ``now`` is injectable (seconds since the epoch) for tests."""

    def __init__(self, signing_secret: str, *, now: Callable[[], float] = time.time,
                 max_age_s: float = MAX_AGE_S, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.now = now
        self.max_age_s = max_age_s
        self.max_body_bytes = max_body_bytes

    def check_headers(self, request: Request) -> tuple[str, str]:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            raise Refused(401, "missing Slack signature")
        if not _TIMESTAMP.match(timestamp):
            raise Refused(401, "invalid Slack request timestamp")
        if abs(self.now() - int(timestamp)) > self.max_age_s:
            raise Refused(401, "stale Slack request timestamp")
        if not _SIGNATURE.match(signature):
            raise Refused(401, "invalid Slack signature")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Refused(413, "request body too large")
        return timestamp, signature

    async def read_body(self, request: Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Refused(413, "request body too large")
            chunks.append(chunk)
        return b"".join(chunks)

    def check_signature(self, body: bytes, timestamp: str, signature: str) -> None:
        try:
            expected = self.verifier.generate_signature(timestamp=timestamp, body=body)
        except UnicodeDecodeError:  # Slack signs UTF-8 text; other bytes are not from Slack
            raise Refused(401, "invalid Slack signature") from None
        if expected is None or not hmac.compare_digest(expected, signature):
            raise Refused(401, "invalid Slack signature")

    async def verified(self, request: Request) -> Request:
        """The same request with its body buffered, or ``Refused``."""
        timestamp, signature = self.check_headers(request)
        body = await self.read_body(request)
        self.check_signature(body, timestamp, signature)
        sent = False

        async def replay() -> Message:  # the body, once more, for bolt
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return Request(request.scope, replay)


def signed_only(endpoint: Endpoint, signing_secret: str, *,
                now: Callable[[], float] = time.time) -> Endpoint:
    """``endpoint`` behind the signature check; a signed body bolt still cannot handle is 400."""
    gate = SignatureGate(signing_secret, now=now)

    async def guarded(request: Request) -> Response:
        try:
            request = await gate.verified(request)
        except Refused as refused:
            log.debug("slack: refused a request to %s (%s)", request.url.path, refused.reason)
            return PlainTextResponse(refused.reason + "\n", status_code=refused.status)
        try:
            return await endpoint(request)
        except Exception as exc:  # noqa: BLE001 - a signed but unusable body: one line, not a 500
            log.warning("slack: a signed request could not be handled (%s)", type(exc).__name__)
            return PlainTextResponse("bad request\n", status_code=400)

    return guarded
