"""The one ASGI app of ``sora-bot run``: ingest API, /healthz, /metrics, plus mounted routes.

Why one app: a team opens a single port (``PORT``) for Slack's HTTP mode, their own apps'
error reports and the monitoring system. The Slack endpoint is built by the Slack adapter and
passed in as ``extra_routes``, so ``bot.web`` never imports an adapter.

Every answer is JSON with one clear line in ``{"error": ...}`` when something is wrong; no
traceback and no submitted value is ever echoed, and no exception escapes to uvicorn
(``bot.web.guard``). The store is synchronous (SQLAlchemy), so every database call runs in a
worker thread with a deadline, never on the event loop: with the database stalled, /healthz
still answers at once-ish (503, ``db: false``), a wrong token still gets its 401, /metrics
says ``sora_bot_db_up 0``. /healthz also reports ``connectivity`` (``ok``, ``partial``,
``lost``: ``bot.connectivity`` on the stored latest evidence); lost connectivity never makes it
503 on its own — the process is healthy and restarting it would not bring the network back —
and /metrics carries it as ``sora_bot_connectivity_lost``. Ingest writes go through one group-commit writer
(``bot.web.group_commit``); small bodies are parsed and diagnosed on the loop (tens of
microseconds), large ones in the thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.clock import Clock, as_utc, utcnow
from bot.config import OFFICIAL_TARGET, Settings, secret_value
from bot.diagnosis import diagnose
from bot.errors import StoreError
from bot.memory.model import check_team
from bot.store import JobRun, Store
from bot.store.base import DatabaseLost
from bot.web.group_commit import GroupCommit, Overloaded
from bot.web.guard import LastResort
from bot.web.ingest import IngestError, diagnose_items, parse_body
from bot.web.metrics import (
    CONTENT_TYPE,
    DOWN,
    Metrics,
    StoreGauges,
    read_connectivity,
    read_gauges,
)

log = logging.getLogger(__name__)

EventsCallback = Callable[[list[dict[str, Any]]], object]  # may return an awaitable
# A health check must answer even when the database hangs; past this the DB counts as down.
DB_CHECK_TIMEOUT_S = 1.5
# Bodies up to this size are parsed and diagnosed on the event loop (well under a
# millisecond); larger ones in a worker thread, as the chat path does with large pastes.
INLINE_BODY_BYTES = 16_384
# A job is overdue when its last success is older than this many of its intervals (+ grace).
STALE_INTERVALS = 3
STALE_GRACE_S = 30.0
ERROR_LINE_MAX = 200


@runtime_checkable
class HealthSource(Protocol):
    """What /healthz asks the scheduler. ``job_intervals`` (name -> seconds) is optional:
    when present, a job whose last success is older than 3 intervals makes the status degraded.
    """

    def scheduler_alive(self) -> bool: ...

    def is_leader(self) -> bool: ...


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))


def _one_line(text: str | None) -> str | None:
    if text is None:
        return None
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return (lines[0] if lines else "")[:ERROR_LINE_MAX]


# /healthz ------------------------------------------------------------------------------------

def job_health(rows: Sequence[Any], now: datetime,
               intervals: Mapping[str, float] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Per-job ages and errors from job_runs rows, and the names of jobs failing or overdue.

    A job is failing when its latest run ended in an error (no success since it started);
    overdue when its interval is known and its last success is older than 3 intervals + 30 s.
    """
    jobs: dict[str, Any] = {}
    bad: list[str] = []
    for row in rows:
        success = as_utc(row.last_success_at) if row.last_success_at else None
        started = as_utc(row.last_started_at) if row.last_started_at else None
        age = None if success is None else round(max(0.0, (now - success).total_seconds()), 3)
        failing = row.last_error is not None and (
            success is None or (started is not None and started > success))
        interval = (intervals or {}).get(row.name)
        overdue = (interval is not None and age is not None
                   and age > STALE_INTERVALS * interval + STALE_GRACE_S)
        jobs[row.name] = {"last_success_age_s": age, "last_error": _one_line(row.last_error)}
        if failing or overdue:
            bad.append(row.name)
    return jobs, bad


def overall_health(db_ok: bool, alive: bool, leader: bool, bad_jobs: Sequence[str]) -> str:
    """``fail`` when the DB is down or the leading scheduler is dead; ``degraded`` when a job
    fails or is overdue; else ``ok``. Only ``fail`` makes /healthz answer 503."""
    if not db_ok or (leader and not alive):
        return "fail"
    return "degraded" if bad_jobs else "ok"


def _safe_bool(fn: Callable[[], bool], what: str) -> bool:
    try:
        return bool(fn())
    except Exception as exc:  # a broken health source is a failed check, not a 500
        log.warning("healthz: %s check raised %s", what, type(exc).__name__)
        return False


class _SingleFlight:
    """One blocking store read at a time, shared by concurrent requests, each waiting at most
    ``timeout_s``. A read that hangs (a stalled database) then holds one worker thread, not
    one per request, and every request still answers on time."""

    def __init__(self, fn: Callable[[], Any], timeout_s: float) -> None:
        self.fn = fn
        self.timeout_s = timeout_s
        self._task: asyncio.Future[Any] | None = None

    async def __call__(self) -> Any:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(asyncio.to_thread(self.fn))
            self._task.add_done_callback(lambda f: f.cancelled() or f.exception())
        return await asyncio.wait_for(asyncio.shield(self._task), self.timeout_s)


class _Throttle:
    """At most one log line per ``every_s`` for a condition that repeats per request (an
    overloaded writer, a database that is down), with how many were not logged."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last = float("-inf")
        self._quiet = 0

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            self._quiet += 1
            return
        suffix = f" ({self._quiet} more since the last such line)" if self._quiet else ""
        log.warning(message + suffix, *args)
        self._last, self._quiet = now, 0


def _bearer_ok(request: Request, token: bytes) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)


# The app ---------------------------------------------------------------------------------------

class _Ingest:
    """POST /v1/events. Checks in order: enabled, token, encoding, declared size, streamed size,
    body; so an unauthenticated caller never makes the server read a byte of its body."""

    def __init__(self, *, store: Store, settings: Settings, metrics: Metrics,
                 on_events: EventsCallback | None, now: Clock) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.on_events = on_events
        self.now = now
        self.max_bytes = settings.INGEST_MAX_BYTES
        self.targets = frozenset(t.name for t in settings.targets())
        token = settings.INGEST_TOKEN.get_secret_value() if settings.INGEST_TOKEN else ""
        self._token = token.encode() if token.strip() else None
        # One writer for every request: concurrent requests share a transaction.
        self.writer = GroupCommit(store.remember_ingest)
        self._refusals = _Throttle()

    def _authorized(self, request: Request) -> JSONResponse | None:
        if self._token is None:
            return _error(503, "ingest disabled: set INGEST_TOKEN")
        challenge = {"WWW-Authenticate": 'Bearer realm="sora-bot"'}
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _error(401, "missing bearer token: send Authorization: Bearer <INGEST_TOKEN>",
                          challenge)
        if not _bearer_ok(request, self._token):
            return _error(401, "invalid ingest token", challenge)
        return None

    def _too_large(self, size: int | None = None) -> JSONResponse:
        got = "" if size is None else f" ({size} bytes)"
        return _error(413, f"body too large{got}: at most {self.max_bytes} bytes per request")

    async def _read(self, request: Request) -> bytes | JSONResponse:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):  # a compressed body would be diagnosed as junk
            return _error(415, "Content-Encoding is not supported: send the body uncompressed")
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return _error(400, "bad Content-Length header")
            if size > self.max_bytes:
                return self._too_large(size)
        chunks: list[bytes] = []
        total = 0
        try:
            async for chunk in request.stream():
                total += len(chunk)
                if total > self.max_bytes:  # stop reading: never buffer an unbounded body
                    return self._too_large()
                chunks.append(chunk)
        except ClientDisconnect:
            return _error(400, "client disconnected before the body was complete")
        return b"".join(chunks)

    def _diagnose(self, body: bytes, content_type: str | None) -> list[tuple[dict[str, Any], Any]]:
        """Parse and diagnose (which redacts) every event; CPU work, run in a worker thread."""
        items = parse_body(body, content_type, now=self.now(), default_target=OFFICIAL_TARGET,
                           targets=self.targets)
        return diagnose_items(items, diagnose)

    async def handle(self, request: Request) -> Response:
        denied = self._authorized(request)
        if denied is not None:
            return denied
        team = request.query_params.get("team") or self.settings.INGEST_TEAM
        try:  # team memory: whose events these are (the token is the deployment's, not a team's)
            check_team(team)
        except ValueError as exc:
            return _error(422, f"team: {exc}")
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        content_type = request.headers.get("content-type")
        try:
            if len(body) <= INLINE_BODY_BYTES:
                diagnosed = self._diagnose(body, content_type)
            else:
                diagnosed = await run_in_threadpool(self._diagnose, body, content_type)
        except IngestError as exc:
            return _error(exc.status, str(exc))
        events = [event for event, _ in diagnosed]
        try:  # all of this request's events commit together or not at all: a resend is safe
            # each event names its team: one group commit may carry several teams' events
            await self.writer.submit([{**event, "team": team} for event in events])
        except Overloaded as exc:
            self.metrics.ingest_refused.labels("overloaded").inc()
            self._refusals.warn("ingest: refusing requests, the writer is behind (%s)", exc)
            return _error(503, "ingest is falling behind; retry shortly",
                          {"Retry-After": str(exc.retry_after_s)})
        except DatabaseLost as exc:
            self.metrics.ingest_refused.labels("store").inc()
            return _error(503, f"cannot store events: {exc.short}", {"Retry-After": "60"})
        except (StoreError, SQLAlchemyError) as exc:
            self.metrics.ingest_refused.labels("store").inc()
            self._refusals.warn("ingest: cannot store events: %s",
                                _one_line(str(exc)) or type(exc).__name__)
            return _error(503, "cannot store events right now; retry later",
                          {"Retry-After": "5"})
        for (category, source), n in Counter((e["category"], "ingest") for e in events).items():
            self.metrics.count_errors(category, source, n)
        await self._notify(events)
        return JSONResponse(
            {"accepted": len(events), "team": team,
             "events": [{"category": d.category, "fingerprint": d.fingerprint,
                         "retryable": d.retryable} for _, d in diagnosed]},
            status_code=202)

    async def _notify(self, events: list[dict[str, Any]]) -> None:
        """Hand stored events to the monitor; its failure must not fail an accepted request."""
        if self.on_events is None:
            return
        try:
            result = self.on_events(events)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("ingest: on_events callback failed (events are stored)")


def build_web_app(*, store: Store, settings: Settings, health: HealthSource, metrics: Metrics,
                  on_events: EventsCallback | None = None,
                  extra_routes: Sequence[BaseRoute] = (), now: Clock = utcnow) -> Starlette:
    """The web app: ``POST /v1/events``, ``GET /healthz``, ``GET /metrics`` and ``extra_routes``.

    ``on_events(events)`` (sync or async) receives each accepted batch of error-event dicts
    (the shape ``Store.add_error_events`` takes) after they are stored.
    """
    if not metrics.has_store:
        metrics.attach_store(store)
    metrics.watch_leader(lambda: _safe_bool(health.is_leader, "is_leader"))
    ingest = _Ingest(store=store, settings=settings, metrics=metrics, on_events=on_events,
                     now=now)
    target_names = [t.name for t in settings.targets()]
    db_check = _SingleFlight(lambda: _db_check(store, target_names), DB_CHECK_TIMEOUT_S)
    gauges = _SingleFlight(lambda: read_gauges(store, target_names), DB_CHECK_TIMEOUT_S)
    metrics_token = secret_value(settings.METRICS_TOKEN)

    async def healthz(request: Request) -> Response:
        alive = _safe_bool(health.scheduler_alive, "scheduler_alive")
        leader = _safe_bool(health.is_leader, "is_leader")
        intervals_fn = getattr(health, "job_intervals", None)
        intervals = None
        if callable(intervals_fn):
            try:
                intervals = dict(intervals_fn())
            except Exception as exc:
                log.warning("healthz: job_intervals raised %s", type(exc).__name__)
        db_ok, rows, db_error, link = False, [], None, None
        try:
            rows, link = await db_check()
            db_ok = True
        except TimeoutError:
            db_error = f"no answer from the database within {DB_CHECK_TIMEOUT_S:g} s"
        except DatabaseLost as exc:
            db_error = exc.short
        except Exception as exc:
            db_error = "database unreachable"
            log.warning("healthz: database check failed: %s",
                        _one_line(str(exc)) or type(exc).__name__)
        jobs, bad = job_health(rows, now(), intervals)
        status = overall_health(db_ok, alive, leader, bad)
        body: dict[str, Any] = {"status": status, "db": db_ok,
                                "scheduler": {"alive": alive, "leader": leader}, "jobs": jobs}
        if link is not None:
            # Reported, never a failure by itself: the bot process is fine, its network is not
            # (a restart would not help); alert on sora_bot_connectivity_lost instead.
            body["connectivity"] = link
        if db_error is not None:
            body["db_error"] = db_error
        return JSONResponse(body, status_code=503 if status == "fail" else 200,
                            headers={"Cache-Control": "no-store"})

    async def metrics_endpoint(request: Request) -> Response:
        if metrics_token is not None and not _bearer_ok(request, metrics_token.encode()):
            return _error(401, "send Authorization: Bearer <METRICS_TOKEN>",
                          {"WWW-Authenticate": 'Bearer realm="sora-bot metrics"'})
        try:
            read: StoreGauges = await gauges()
        except TimeoutError:
            read = DOWN
        return Response(metrics.render(read), media_type=CONTENT_TYPE)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), exc.headers)

    routes: list[BaseRoute] = [
        Route("/v1/events", ingest.handle, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *extra_routes,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        ingest.writer.close()  # the server has finished its requests

    app = Starlette(routes=routes, middleware=[Middleware(LastResort)],
                    exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.ingest_writer = ingest.writer  # for tests and benchmarks: queue depth, commits
    return app


def _db_check(store: Store, targets: Sequence[str]) -> tuple[list[JobRun], str]:
    """Reach the database and read job_runs and the own-connectivity state in one go (a
    successful read proves it is up), after checking that writes could be kept (a deleted
    SQLite file fails health)."""
    store.check_writable()
    return list(store.job_runs().values()), read_connectivity(store, targets).state


__all__ = ["build_web_app", "HealthSource", "EventsCallback", "job_health", "overall_health"]
