"""Probes of API targets: is the official API (or a gateway) up, and does it take our key?

Kinds, cheapest first:

* ``reachability`` — ``GET {base}/models`` with no key. A fast 401 (or 200) in JSON means the
  API edge is up; a 5xx, an HTML page from a proxy/CDN or a timeout means it is not.
* ``auth`` — ``GET {base}/models`` with the key (skipped when the target has none).
* ``videos`` — ``GET {base}/videos?limit=1`` with the key: the Sora endpoints answer for us.
* ``generate`` — opt-in, costs money: ``POST /videos`` (sora-2, 4 s, a neutral prompt), then
  polls the job to completed/failed honouring ``openai-poll-after-ms``. Checked against a daily
  budget first; a job's own failure (e.g. moderation) is diagnosed like any error.

Every failure — HTTP error, HTML body, timeout, DNS, refused connection, TLS — becomes a
``ProbeResult`` diagnosed with Contract 1 (``bot.diagnosis.diagnose``); nothing is raised out of
``run`` except a ConfigError for an unknown target or kind. Keys go into the Authorization header
and nowhere else: details are scrubbed of the exact key and redacted by pattern.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.clock import Clock, utcnow
from bot.config import Target
from bot.errors import ConfigError
from bot.probes.http import make_client
from bot.probes.result import DEFAULT_KINDS, KINDS, ProbeResult

log = logging.getLogger(__name__)

USER_AGENT = "sora-bot-probe/0.1"
NEUTRAL_PROMPT = "a calm ocean at sunrise"
MAX_BODY = 256 * 1024          # enough for any API error; a huge HTML page is cut here
DETAIL_MAX = 240
POLL_DEFAULT_MS = 1000         # the SDK's default when openai-poll-after-ms is absent
POLL_MAX_MS = 30_000
JOB_PENDING = frozenset({"queued", "in_progress"})

Budget = Callable[[], "bool | Awaitable[bool]"]


@dataclass(frozen=True)
class KindSpec:
    """How one listing probe talks to the API and which answers mean healthy."""

    method: str
    path: str
    needs_key: bool
    ok_statuses: frozenset[int]


SPECS: Mapping[str, KindSpec] = {
    "reachability": KindSpec("GET", "/models", False, frozenset({200, 401})),
    "auth": KindSpec("GET", "/models", True, frozenset({200})),
    "videos": KindSpec("GET", "/videos?limit=1", True, frozenset({200})),
}

# Facts used only when the diagnosis engine cannot tell ("unknown"): the status code alone.
STATUS_FALLBACK: Mapping[int, str] = {400: "bad_request", 401: "auth", 402: "quota",
                                      403: "permission", 404: "not_found", 408: "network",
                                      409: "server", 422: "bad_request", 429: "rate_limit"}

# Exception classes in a transport error's chain → what to tell a person (first match wins).
NETWORK_CLASSES: tuple[tuple[type[BaseException], str], ...] = (
    (socket.gaierror, "DNS lookup failed"),
    (ConnectionRefusedError, "connection refused"),
    (ssl.SSLCertVerificationError, "TLS certificate not accepted"),
    (ssl.SSLError, "TLS handshake failed"),
    (ConnectionResetError, "connection reset"),
)
# Error codes whose HTTP status misleads (quota comes as 429), used only when the engine says
# "unknown"; the engine's own tables are the real knowledge.
CODE_FALLBACK: Mapping[str, str] = {"insufficient_quota": "quota",
                                    "moderation_blocked": "content_policy",
                                    "invalid_api_key": "auth"}

# Words in a transport error → what to tell a person (first match wins).
NETWORK_HINTS: tuple[tuple[str, str], ...] = (
    ("name or service not known", "DNS lookup failed"),
    ("temporary failure in name resolution", "DNS lookup failed"),
    ("nodename nor servname", "DNS lookup failed"),
    ("no address associated", "DNS lookup failed"),
    ("getaddrinfo", "DNS lookup failed"),
    ("connection refused", "connection refused"),
    ("certificate", "TLS certificate not accepted"),
    ("ssl", "TLS handshake failed"),
    ("tls", "TLS handshake failed"),
    ("server disconnected", "connection closed by the server"),
    ("connection reset", "connection reset"),
    ("network is unreachable", "network unreachable"),
)


@dataclass
class _Exchange:
    """One HTTP attempt: either a response (status, headers, body) or a transport error."""

    latency_ms: float
    status: int | None = None
    headers: httpx.Headers | None = None
    body: bytes = b""
    error: BaseException | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def header(self, name: str) -> str | None:
        return None if self.headers is None else self.headers.get(name)


def _diagnose(text: str) -> Any:
    """Contract-1 diagnosis, or None if the engine fails (a probe must never raise)."""
    try:
        from bot.diagnosis import diagnose

        return diagnose(text)
    except Exception:  # noqa: BLE001 - evidence collection goes on without a diagnosis
        log.warning("diagnosis engine failed on a probe result; using status facts")
        return None


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove the exact key values (gateway keys may match no known secret pattern)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text


def _redact(text: str, secrets: Iterable[str]) -> str:
    """Short, one-line, secret-free text for ``ProbeResult.detail``."""
    text = _scrub(text, secrets)
    try:
        from bot.diagnosis.redact import redact

        text = redact(text)
    except Exception:  # noqa: BLE001 - the exact-key scrub above already ran
        pass
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_MAX else text[:DETAIL_MAX - 1] + "…"


def _retry_after(headers: httpx.Headers | None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
        return max((when - utcnow()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def _error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) from an OpenAI-style ``{"error": {...}}`` body, or a job's error object."""
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, dict):
            code, message = err.get("code"), err.get("message")
            return (str(code) if code is not None else None,
                    str(message) if message is not None else None)
        if isinstance(err, str):
            return None, err
    return None, None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first (httpx wraps the OS error twice)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _is_html(ex: _Exchange) -> bool:
    ctype = (ex.header("content-type") or "").lower()
    head = ex.body[:200].lstrip().lower()
    return "html" in ctype or head.startswith((b"<!doctype", b"<html"))


class Prober:
    """Probe the configured targets concurrently; see the module docstring for the kinds."""

    def __init__(self, targets: Sequence[Target], *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None, now: Clock = utcnow,
                 generate: bool = False, budget: Budget | None = None,
                 generate_timeout: float = 600.0, prompt: str = NEUTRAL_PROMPT,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if timeout <= 0:
            raise ConfigError("probe timeout must be > 0 seconds")
        self.targets = list(targets)
        self._timeout = float(timeout)
        self._transport = transport
        self._now = now
        self._generate = generate
        self._budget = budget
        self._generate_timeout = float(generate_timeout)
        self._prompt = prompt
        self._sleep = sleep

    # selection ---------------------------------------------------------------------------------

    def _select(self, target: str | None) -> list[Target]:
        if target is None:
            return list(self.targets)
        chosen = [t for t in self.targets if t.name == target]
        if not chosen:
            names = ", ".join(t.name for t in self.targets) or "none"
            raise ConfigError(f"unknown probe target {target!r}; configured: {names}")
        return chosen

    def _kinds(self, kinds: Sequence[str] | None) -> tuple[str, ...]:
        if kinds is None:
            return DEFAULT_KINDS + (("generate",) if self._generate else ())
        for kind in kinds:
            if kind not in KINDS:
                raise ConfigError(f"unknown probe kind {kind!r}; one of: {', '.join(KINDS)}")
        return tuple(dict.fromkeys(kinds))

    async def run(self, kinds: Sequence[str] | None = None, target: str | None = None, *,
                  include_skipped: bool = False) -> list[ProbeResult]:
        """Run the probes (all targets × kinds concurrently); results in target, kind order."""
        targets, chosen = self._select(target), self._kinds(kinds)
        async with make_client(self._transport, self._timeout, user_agent=USER_AGENT) as client:
            results = await asyncio.gather(*(self._guarded(client, t, k)
                                             for t in targets for k in chosen))
        for r in results:
            level = logging.DEBUG if r.ok or r.skipped else logging.INFO
            log.log(level, "probe %s/%s ok=%s skipped=%s http=%s latency_ms=%s category=%s %s",
                    r.target, r.kind, r.ok, r.skipped, r.http_status, r.latency_ms, r.category,
                    r.detail)
        return [r for r in results if include_skipped or not r.skipped]

    async def _guarded(self, client: httpx.AsyncClient, target: Target,
                       kind: str) -> ProbeResult:
        try:
            if kind == "generate":
                return await self._probe_generate(client, target)
            return await self._probe_listing(client, target, kind)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
            log.warning("probe %s/%s failed unexpectedly: %s", target.name, kind,
                        type(exc).__name__)
            return self._result(target, kind, ok=False, category="unknown",
                                detail=f"probe failed unexpectedly ({type(exc).__name__})")

    # building blocks -----------------------------------------------------------------------------

    @staticmethod
    def _key(target: Target) -> str | None:
        return target.api_key.get_secret_value() if target.api_key is not None else None

    def _secrets(self, target: Target) -> list[str]:
        key = self._key(target)
        return [key] if key else []

    @staticmethod
    def _url(target: Target, path: str) -> str:
        return target.base_url.rstrip("/") + path

    def _result(self, target: Target, kind: str, *, ok: bool, detail: str,
                http_status: int | None = None, latency_ms: float | None = None,
                category: str | None = None, error_code: str | None = None,
                request_id: str | None = None, retry_after_s: float | None = None,
                skipped: bool = False) -> ProbeResult:
        return ProbeResult(target=target.name, kind=kind, ok=ok, http_status=http_status,
                           latency_ms=None if latency_ms is None else round(latency_ms, 1),
                           category=None if ok else category, error_code=error_code,
                           request_id=request_id, detail=_redact(detail, self._secrets(target)),
                           at=self._now(), retry_after_s=retry_after_s, skipped=skipped)

    def _skipped(self, target: Target, kind: str, why: str) -> ProbeResult:
        return self._result(target, kind, ok=True, detail=f"skipped: {why}", skipped=True)

    async def _send(self, client: httpx.AsyncClient, method: str, url: str, *,
                    key: str | None, **kwargs: Any) -> _Exchange:
        """One request with a hard deadline; transport failures are returned, not raised."""
        headers = {"Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        started = time.perf_counter()

        def elapsed() -> float:
            return (time.perf_counter() - started) * 1000

        try:
            async with asyncio.timeout(self._timeout * 2):
                async with client.stream(method, url, headers=headers, **kwargs) as resp:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.aiter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size >= MAX_BODY:
                            break
                    return _Exchange(elapsed(), resp.status_code, resp.headers,
                                     b"".join(chunks)[:MAX_BODY])
        except (httpx.HTTPError, OSError, TimeoutError, ValueError) as exc:
            return _Exchange(elapsed(), error=exc)

    def _from_error(self, target: Target, kind: str, ex: _Exchange) -> ProbeResult:
        exc = ex.error
        assert exc is not None
        name = type(exc).__name__
        chain = _chain(exc)
        msg = str(chain[-1]) or name
        # The request never completed: that is Contract 1's definition of ``network``, so the
        # category is a fact here and needs no engine; the detail says which failure it was.
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            detail = f"timed out after {self._timeout:g} s ({name})"
        else:
            low = " ".join(str(e) for e in chain).lower()
            hint = next((h for e in chain for cls, h in NETWORK_CLASSES if isinstance(e, cls)),
                        None) or next((h for word, h in NETWORK_HINTS if word in low),
                                      "connection failed")
            detail = f"{hint} ({name}: {msg})"
        return self._result(target, kind, ok=False, detail=detail, latency_ms=ex.latency_ms,
                            category="network")

    def _from_response(self, target: Target, kind: str, ex: _Exchange,
                       ok_statuses: frozenset[int]) -> ProbeResult:
        status = ex.status
        assert status is not None
        payload = ex.json()
        html = _is_html(ex)
        request_id = ex.header("x-request-id")
        if status in ok_statuses and payload is not None and not html:
            return self._result(target, kind, ok=True, http_status=status,
                                latency_ms=ex.latency_ms, request_id=request_id,
                                detail=f"HTTP {status} in {ex.latency_ms:.0f} ms")
        text_body = ex.body.decode("utf-8", "replace")
        extra = [f"{h}: {ex.header(h)}" for h in ("retry-after", "retry-after-ms",
                                                  "x-ratelimit-remaining-requests",
                                                  "x-ratelimit-reset-requests", "x-request-id")
                 if ex.header(h)]
        text = "\n".join([f"Error code: {status} - {text_body}", *extra])
        diagnosis = _diagnose(_scrub(text, self._secrets(target)))
        code, message = _error_fields(payload)
        if diagnosis is not None and diagnosis.category != "unknown":
            category = diagnosis.category
        elif code is not None and code in CODE_FALLBACK:
            category = CODE_FALLBACK[code]
        elif status >= 500:
            category = "server"
        else:
            category = STATUS_FALLBACK.get(status, "unknown")
        if diagnosis is not None:
            code = code or diagnosis.error_code
        if html:
            detail = f"HTTP {status} with an HTML page (a proxy or CDN answered, not the API)"
        elif payload is None:
            detail = f"HTTP {status} and a body that is not JSON"
        else:
            detail = f"HTTP {status}" + (f" {code}" if code else "") + (
                f": {message}" if message else "")
        retry_after = _retry_after(ex.headers)
        if retry_after is None and diagnosis is not None:
            retry_after = diagnosis.retry_after_s
        return self._result(target, kind, ok=False, http_status=status,
                            latency_ms=ex.latency_ms, category=category, error_code=code,
                            request_id=request_id, retry_after_s=retry_after, detail=detail)

    def _judge(self, target: Target, kind: str, ex: _Exchange,
               ok_statuses: frozenset[int]) -> ProbeResult:
        if ex.error is not None:
            return self._from_error(target, kind, ex)
        return self._from_response(target, kind, ex, ok_statuses)

    # the kinds -----------------------------------------------------------------------------

    async def _probe_listing(self, client: httpx.AsyncClient, target: Target,
                             kind: str) -> ProbeResult:
        spec = SPECS[kind]
        key = self._key(target) if spec.needs_key else None
        if spec.needs_key and not key:
            return self._skipped(target, kind, f"no API key ({target.key_env or 'not set'})")
        ex = await self._send(client, spec.method, self._url(target, spec.path), key=key)
        return self._judge(target, kind, ex, spec.ok_statuses)

    async def _take_budget(self) -> bool:
        if self._budget is None:
            return True
        allowed = self._budget()
        if inspect.isawaitable(allowed):
            allowed = await allowed
        return bool(allowed)

    async def _probe_generate(self, client: httpx.AsyncClient, target: Target) -> ProbeResult:
        kind = "generate"
        if not self._generate:
            return self._skipped(target, kind, "generation probe is off (PROBE_GENERATE)")
        key = self._key(target)
        if not key:
            return self._skipped(target, kind, f"no API key ({target.key_env or 'not set'})")
        if not await self._take_budget():
            return self._skipped(target, kind, "daily generation budget is spent")
        started = time.perf_counter()
        deadline = started + self._generate_timeout

        def total_ms() -> float:
            return (time.perf_counter() - started) * 1000

        form = {"model": (None, "sora-2"), "prompt": (None, self._prompt),
                "seconds": (None, "4"), "size": (None, "720x1280")}
        ex = await self._send(client, "POST", self._url(target, "/videos"), key=key, files=form)
        video = ex.json() if ex.error is None else None
        if ex.error is not None or ex.status is None or not 200 <= ex.status < 300 \
                or not isinstance(video, dict) or "id" not in video:
            return self._judge(target, kind, ex, frozenset())
        while video.get("status") in JOB_PENDING:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return self._result(
                    target, kind, ok=False, http_status=ex.status, latency_ms=total_ms(),
                    category="server", request_id=ex.header("x-request-id"),
                    detail=f"video job still {video.get('status')} after "
                           f"{self._generate_timeout:g} s; gave up waiting")
            await self._sleep(min(self._poll_after(ex), remaining))
            ex = await self._send(client, "GET", self._url(target, f"/videos/{video['id']}"),
                                  key=key)
            polled = ex.json() if ex.error is None else None
            if ex.error is not None or ex.status != 200 or not isinstance(polled, dict):
                return self._judge(target, kind, ex, frozenset())
            video = polled
        return self._job_result(target, video, ex, total_ms())

    @staticmethod
    def _poll_after(ex: _Exchange) -> float:
        raw = ex.header("openai-poll-after-ms")
        try:
            ms = float(raw) if raw else POLL_DEFAULT_MS
        except ValueError:
            ms = POLL_DEFAULT_MS
        return min(max(ms, 0.0), POLL_MAX_MS) / 1000

    def _job_result(self, target: Target, video: dict[str, Any], ex: _Exchange,
                    latency_ms: float) -> ProbeResult:
        status = video.get("status")
        rid = ex.header("x-request-id")
        if status == "completed":
            return self._result(target, "generate", ok=True,
                                detail=f"video job completed in {latency_ms / 1000:.1f} s",
                                http_status=ex.status, latency_ms=latency_ms, request_id=rid)
        code, message = _error_fields(video.get("error") or {})
        if status == "failed":
            text = json.dumps({"error": video.get("error") or {}})
            diagnosis = _diagnose(f"Video generation failed: {text}")
            category = (diagnosis.category if diagnosis is not None
                        and diagnosis.category != "unknown"
                        else CODE_FALLBACK.get(code or "", "unknown"))
            detail = "video job failed" + (f": {code}" if code else "") + (
                f": {message}" if message else "")
            return self._result(target, "generate", ok=False, category=category,
                                error_code=code, detail=detail, http_status=ex.status,
                                latency_ms=latency_ms, request_id=rid)
        return self._result(target, "generate", ok=False, category="unknown",
                            detail=f"video job ended in unexpected status {status!r}",
                            http_status=ex.status, latency_ms=latency_ms, request_id=rid)
