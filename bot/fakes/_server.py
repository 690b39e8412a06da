"""A loopback aiohttp server in its own thread and event loop, and a clock-driven scenario.

Why a thread: the same fake must serve sync tests, async tests (whose loop must stay free for
the client under test) and the ``--demo`` run, so it owns its loop and never shares one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from bot.clock import Clock, utcnow

T = TypeVar("T")

REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it. The Authorization value is never kept, only a hash.

    ``key_sha256`` (first 12 hex chars of the bearer token's SHA-256) lets a test check which key
    was sent without the fake ever holding the key itself.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: datetime
    key_sha256: str | None = None

    @property
    def has_bearer(self) -> bool:
        return self.key_sha256 is not None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def key_hash(key: str) -> str:
    """The short hash the fakes record in place of a bearer token."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _redact_headers(headers: Any) -> tuple[dict[str, str], str | None]:
    out: dict[str, str] = {}
    digest: str | None = None
    for name, value in headers.items():
        lname = name.lower()
        if lname in ("authorization", "proxy-authorization", "api-key", "x-api-key"):
            scheme, _, token = value.partition(" ")
            if lname == "authorization" and scheme.lower() == "bearer" and token.strip():
                digest = key_hash(token.strip())
                out[lname] = f"Bearer {REDACTED}"
            else:
                out[lname] = REDACTED
        else:
            out[lname] = value
    return out, digest


class Scenario(Generic[T]):
    """Steps ``(seconds_from_start, value)`` read against an injected clock.

    Nothing runs in the background: the fake asks ``index_at(clock())`` when a request arrives,
    so a test moves a ``FakeClock`` and the next request sees the new step, exactly.
    """

    def __init__(self, steps: Sequence[tuple[float, T]], start: datetime) -> None:
        if not steps:
            raise ValueError("a scenario needs at least one step")
        ordered = sorted(((float(t), v) for t, v in steps), key=lambda s: s[0])
        if ordered[0][0] < 0:
            raise ValueError("scenario step times must be >= 0")
        self.steps: tuple[tuple[float, T], ...] = tuple(ordered)
        self.start = start

    def index_at(self, now: datetime) -> int | None:
        """Index of the step in force at ``now``; None before the first step."""
        elapsed = (now - self.start).total_seconds()
        found: int | None = None
        for i, (t, _) in enumerate(self.steps):
            if elapsed >= t:
                found = i
            else:
                break
        return found

    def value_at(self, now: datetime) -> T | None:
        i = self.index_at(now)
        return None if i is None else self.steps[i][1]

    def step_time(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.steps[index][0])

    def duration(self) -> float:
        return self.steps[-1][0]


@dataclass
class _Recorder:
    requests: list[RecordedRequest] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)


class LoopbackServer:
    """Base for the fakes: start/stop, context manager, request record, hung-request release."""

    name = "fake"

    def __init__(self, *, clock: Clock = utcnow, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock = clock
        self.host = host
        self._want_port = port
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._release: asyncio.Event | None = None
        self._rec = _Recorder()
        self.lock = threading.RLock()

    # lifecycle ------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{self.name} is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-{id(self):x}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"{self.name} did not start within 15 s")
        if self._startup_error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"{self.name} failed to start: {self._startup_error}")
        return self

    def stop(self) -> None:
        """Release hung requests, close the listener and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if self._release is not None:
            loop.call_soon_threadsafe(self._release.set)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        self._thread = None
        self._loop = None
        self.port = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _startup(self) -> None:
        self._release = asyncio.Event()
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.middlewares.append(self._record_middleware)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._want_port, shutdown_timeout=1.0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # to be filled by subclasses ---------------------------------------------------------------

    def routes(self, app: web.Application) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # helpers for handlers ---------------------------------------------------------------------

    async def hang(self) -> web.StreamResponse:
        """Never answer until the fake stops (or the client gives up and goes away)."""
        assert self._release is not None
        await self._release.wait()
        raise web.HTTPServiceUnavailable(text="fake stopped")

    async def pause(self, seconds: float) -> None:
        """Delay an answer; returns early if the fake is stopping."""
        assert self._release is not None
        try:
            await asyncio.wait_for(self._release.wait(), timeout=seconds)
        except TimeoutError:
            pass

    @web.middleware
    async def _record_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        headers, digest = _redact_headers(request.headers)
        rec = RecordedRequest(method=request.method, path=request.path,
                              query=dict(parse_qsl(request.query_string, keep_blank_values=True)),
                              headers=headers, body=body, at=self.clock(), key_sha256=digest)
        with self._rec.cond:
            self._rec.requests.append(rec)
            self._rec.cond.notify_all()
        response: web.StreamResponse = await handler(request)
        return response

    # the request record -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._rec.cond:
            return list(self._rec.requests)

    def clear_requests(self) -> None:
        with self._rec.cond:
            self._rec.requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0,
                          path: str | None = None) -> list[RecordedRequest]:
        """Block until ``count`` requests (optionally to ``path``) arrived; raise on timeout."""

        def matching() -> list[RecordedRequest]:
            return [r for r in self._rec.requests if path is None or r.path == path]

        with self._rec.cond:
            if not self._rec.cond.wait_for(lambda: len(matching()) >= count, timeout):
                raise TimeoutError(f"{self.name}: expected {count} request(s)"
                                   f"{' to ' + path if path else ''}, got {len(matching())}")
            return matching()
