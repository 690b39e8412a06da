"""Fixtures for the web app: a real store on a temp SQLite file and the app served by uvicorn on
127.0.0.1:0 in the test's own event loop (the socket is bound before the test gets the URL, so
nothing waits for readiness), with an httpx client pointed at it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.clock import Clock, utcnow
from bot.config import Settings, load_settings
from bot.store import Store, open_store
from bot.web import Metrics, WebServer, build_web_app

TOKEN = "ingest-test-token-0123456789"
OPENAI_KEY_SAMPLE = "sk-proj-PgPgPgPgPgPgPgPgPgPg0123456789abcdefABCDEF"
GATEWAY = "relay"


class StubHealth:
    """The scheduler's side of /healthz, with switches a test flips."""

    def __init__(self, alive: bool = True, leader: bool = True,
                 intervals: Mapping[str, float] | None = None) -> None:
        self.alive = alive
        self.leader = leader
        self.intervals = intervals

    def scheduler_alive(self) -> bool:
        return self.alive

    def is_leader(self) -> bool:
        return self.leader

    def job_intervals(self) -> Mapping[str, float]:
        return self.intervals or {}


@dataclass
class Live:
    """One running app: its server, a client on it, and what it was built with."""

    server: WebServer
    client: httpx.AsyncClient
    store: Any
    settings: Settings
    metrics: Metrics
    health: StubHealth
    received: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def rows(self) -> list[Any]:
        from datetime import datetime, timezone

        return self.store.error_events_since(datetime(2000, 1, 1, tzinfo=UTC))


def make_settings(tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "INGEST_TOKEN": TOKEN,
        "INGEST_MAX_BYTES": 4096,
        "SORA_GATEWAYS": f"{GATEWAY}=https://relay.example.com/v1",
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: Any) -> Path:
    """One migrated SQLite file per session; each test gets a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "web.db"
    template = open_store(f"sqlite:///{path}")
    template.upgrade()
    template.close()
    return path


@pytest.fixture
def store(tmp_path: Any, migrated_db: Path) -> Any:
    for part in migrated_db.parent.glob("web.db*"):
        shutil.copy(part, tmp_path / part.name)
    s = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    s.check_schema()
    yield s
    s.close()


StartApp = Callable[..., Awaitable[Live]]


@pytest.fixture
async def start_app(store: Store, tmp_path: Any) -> AsyncIterator[StartApp]:
    started: list[Live] = []

    async def start(*, health: StubHealth | None = None, on_events: Any = "record",
                    now: Clock = utcnow, app_store: Any = None, metrics: Metrics | None = None,
                    extra_routes: Any = (), **overrides: Any) -> Live:
        settings = make_settings(tmp_path, **overrides)
        health = health or StubHealth()
        metrics = metrics or Metrics()
        live_store = app_store if app_store is not None else store
        live: Live
        if on_events == "record":
            def on_events(events: list[dict[str, Any]]) -> None:
                live.received.append(events)
        app = build_web_app(store=live_store, settings=settings, health=health, metrics=metrics,
                            on_events=on_events, extra_routes=extra_routes, now=now)
        server = WebServer(app, host="127.0.0.1", port=0, shutdown_timeout=5)
        await server.start()
        client = httpx.AsyncClient(base_url=server.url, timeout=10)
        live = Live(server=server, client=client, store=live_store, settings=settings,
                    metrics=metrics, health=health)
        started.append(live)
        return live

    yield start
    for live in reversed(started):
        await live.client.aclose()
        await live.server.stop()


@pytest.fixture
async def live(start_app: StartApp) -> Live:
    return await start_app()


async def raw_exchange(port: int, head: bytes, chunks: AsyncIterator[bytes] | None = None,
                       timeout: float = 10.0) -> bytes:
    """Send a hand-written request (headers, then body chunks until the server answers) and
    return the response's status line. For bodies httpx will not send: a lying Content-Length,
    an endless chunked stream."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def pump() -> None:
        writer.write(head)
        await writer.drain()
        if chunks is None:
            return
        try:
            async for chunk in chunks:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server closed the connection after answering: expected

    sender = asyncio.create_task(pump())
    try:
        status = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        sender.cancel()
        try:
            await sender
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
    return status
