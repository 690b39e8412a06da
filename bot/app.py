"""Composition root: builds the core from settings and runs it (``sora-bot run``).

Only this module knows every part of the core; the parts know only their own inputs. Chat
platforms are not known here either: they are found through the adapter registry
(``bot.platform``), started in a loop, and hand back their sinks, routes and closers.

``run`` reads as its three steps: ``build_core`` (store, monitor, services, router),
``start_adapters`` (every enabled platform; the terminal chat when none is), ``serve`` (the
scheduler under leader election, the web app, the foreground loop, a graceful shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import signal
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from starlette.routing import BaseRoute

from bot.clock import utcnow
from bot.commands.router import Router
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.evidence import Evidence, StatusReport
from bot.monitor.model import Decision
from bot.monitor.service import MonitorService
from bot.notify import DeliveryWorker
from bot.notify.model import Sink
from bot.platform import Adapter, AdapterContext, Closer, Started, enabled_adapters, registered_adapters
from bot.probes.result import ProbeResult
from bot.scheduler import FileLockLeader, JobSpec, LeaseElector, Scheduler, always_leader
from bot.service import CoreServices
from bot.store import Store
from bot.web.metrics import Metrics
from bot.web.server import WebServer

if TYPE_CHECKING:
    from bot.fakes.demo import DemoFakes

log = logging.getLogger("bot.app")

OUTBOX_DRAIN_INTERVAL_S = 1.0
RETENTION_INTERVAL_S = 3600.0
# Worker threads for blocking calls (the store, large diagnoses). The default (cores + 4) is
# too few when a stalled database holds some of them for up to DB_TIMEOUT each.
WORKER_THREADS = 32
MONITOR_INBOX_MAX = 100_000  # observations waiting for the next evaluation (a follower's bound)


def _open_store(settings: Settings, *, upgrade: bool = True) -> Store:
    from bot.store import open_store

    store = open_store(settings.DATABASE_URL, timeout_s=settings.DB_TIMEOUT)
    if upgrade:
        store.upgrade()
    else:
        store.check_schema()
    return store


def _services(settings: Settings, store: Store, *, monitor: MonitorService | None = None) -> CoreServices:
    return CoreServices(settings, store, monitor=monitor)


# One-shot CLI entry points ---------------------------------------------------------------------

def db_upgrade() -> str | None:
    settings = load_settings()
    store = _open_store(settings)
    return store.current_revision()


def corrections_export() -> Iterator[dict[str, object]]:
    """``sora-bot corrections export``: every team's corrections, oldest first."""
    store = _open_store(load_settings())
    try:
        yield from store.corrections()
    finally:
        store.close()


def _cli_services() -> CoreServices:
    """Services for a one-shot command: refresh stale evidence before answering, saying on a
    terminal what it waits for (a target that never answers otherwise looks like a hang)."""
    settings = load_settings()
    services = _services(settings, _open_store(settings))
    services.auto_refresh = True
    if sys.stderr is not None and sys.stderr.isatty():
        services.on_progress = lambda what: print(f"⏳ {what}…", file=sys.stderr, flush=True)
    return services


async def status_once() -> StatusReport:
    """``sora-bot status``: answer from stored evidence, refreshing first when it is stale."""
    return await _cli_services().status_report()


async def probe_once(target: str | None) -> Sequence[ProbeResult]:
    return await _cli_services().run_probes(target)


async def gather_evidence_once() -> Evidence:
    return await _cli_services().fresh_evidence()


# The long-running bot ----------------------------------------------------------------------------

class OffLoopMonitor(MonitorService):
    """The MonitorService with its evaluation off the event loop.

    ``evaluate_and_apply`` writes incidents and outbox rows (blocking store calls), so the
    scheduler runs it in a thread of its own (``evaluate_off_loop``). The Monitor's windows are
    plain lists, so producers on the loop (probe results, team errors, status-page changes)
    do not touch them: they queue what they saw, and the evaluation applies the queue first,
    in order, under one lock. Decisions are the same: observations carry their own times and
    only an evaluation turns them into decisions. A stalled database then blocks one
    evaluation thread (bounded by DB_TIMEOUT), never the loop that answers chat and HTTP.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox: deque[Callable[[], object]] = deque(maxlen=MONITOR_INBOX_MAX)
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor")

    def feed_probe_results(self, results: Iterable[Any]) -> int:
        batch = list(results)
        self._inbox.append(lambda: MonitorService.feed_probe_results(self, batch))
        return len(batch)

    def feed_error_events(self, events: Iterable[Any]) -> int:
        batch = list(events)
        self._inbox.append(lambda: MonitorService.feed_error_events(self, batch))
        return len(batch)

    def feed_status_changes(self, changes: Iterable[Any]) -> list[Decision]:
        batch = list(changes)
        self._inbox.append(lambda: MonitorService.feed_status_changes(self, batch))
        return []  # decided at the next evaluation

    def observe_page(self, snapshot: Any) -> None:
        self._inbox.append(lambda: MonitorService.observe_page(self, snapshot))

    def sync_status(self, snapshot: Any) -> list[Decision]:
        self._inbox.append(lambda: MonitorService.sync_status(self, snapshot))
        return []

    def evaluate_and_apply(self) -> list[Decision]:
        """Blocking: apply what was fed, then evaluate and apply (one thread at a time)."""
        with self._lock:
            while self._inbox:
                self._inbox.popleft()()
            return super().evaluate_and_apply()

    async def evaluate_off_loop(self) -> list[Decision]:
        """``evaluate_and_apply`` in the monitor's thread, in the caller's context (so the
        scheduler's fence applies to its writes)."""
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, ctx.run, self.evaluate_and_apply)


@dataclass
class Core:
    """The platform-free part of a running bot, built once from settings."""

    settings: Settings
    store: Store
    services: CoreServices
    router: Router
    monitor: OffLoopMonitor
    metrics: Metrics
    worker: DeliveryWorker | None = None
    scheduler: Scheduler | None = None
    leader: LeaseElector | FileLockLeader | None = None  # None: this process always leads
    demo: DemoFakes | None = None  # --demo: the loopback fakes and their script
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Platforms:
    """What the started adapters handed back, gathered for the core."""

    started: list[tuple[Adapter, Started]] = field(default_factory=list)

    @property
    def sinks(self) -> dict[str, Sink]:
        return {a.name: s.sink for a, s in self.started if s.sink is not None}

    @property
    def routes(self) -> list[BaseRoute]:
        return [r for _, s in self.started for r in s.routes]

    @property
    def foreground(self) -> list[Callable[[], Awaitable[None]]]:
        return [s.foreground for _, s in self.started if s.foreground is not None]

    @property
    def leader_parts(self) -> list[tuple[str, Callable[[], Awaitable[Closer]]]]:
        return [(a.name, s.leader) for a, s in self.started if s.leader is not None]

    async def close(self) -> None:
        """Close in reverse start order; one failing closer does not stop the others."""
        while self.started:
            adapter, started = self.started.pop()
            if started.close is None:
                continue
            try:
                await started.close()
            except Exception as exc:  # noqa: BLE001 - shutdown goes on
                log.warning("%s: close failed (%s)", adapter.name, type(exc).__name__)


def _demo_settings(settings: Settings, fakes: DemoFakes) -> Settings:
    """Point the bot at the loopback fakes, with fast intervals and a throwaway database."""
    db_dir = tempfile.mkdtemp(prefix="sora-bot-demo-")
    interval = max(0.5, min(2.0, fakes.timeline_seconds / 30))
    return settings.model_copy(update={
        "SORA_API_BASE_URL": fakes.sora_base_url,
        "SORA_STATUS_URL": fakes.status_url,
        "OPENAI_API_KEY": SecretStr(fakes.env()["OPENAI_API_KEY"]),
        "SORA_GATEWAYS": "",
        "PROBE_INTERVAL": interval,
        "STATUS_POLL_INTERVAL": interval,
        "PROBE_TIMEOUT": 1.5,
        "DATABASE_URL": f"sqlite:///{os.path.join(db_dir, 'demo.db')}",
        "SLACK_BOT_TOKEN": None, "SLACK_APP_TOKEN": None, "DISCORD_TOKEN": None,
    })


def _jobs(rt: Core) -> list[JobSpec]:
    """The scheduler's jobs. The probe job also applies the own-connectivity rule after each
    round (the monitor logs each change of it once) and, when a target failed and the bot's
    connectivity is not lost, confirms at once: ``confirm_probes`` re-probes of that
    target, ``confirm_interval_s`` apart (at most a third of PROBE_INTERVAL, so all of them
    fit before the next round), each fed to the monitor and evaluated, like Uptime Kuma's
    retryInterval. It delays only the next probe round (max_instances=1), no other job."""
    from bot import connectivity as conn

    s = rt.settings
    policies = rt.monitor.monitor.policies
    confirm_interval = min(policies.confirm_interval_s, s.PROBE_INTERVAL / 3)

    def observe(results: Sequence[ProbeResult]) -> None:
        for r in results:
            rt.metrics.observe_probe(r)
            if not r.ok and r.category:
                rt.metrics.count_errors(r.category, "probe")

    async def confirm(target: str) -> list[ProbeResult]:
        results = list(await rt.services.run_probes(target))
        observe(results)
        return results

    async def probes() -> None:
        results = list(await rt.services.run_probes())
        observe(results)
        await evaluate()
        latest = {(r.target, r.kind): r for r in results}
        failed = sorted({r.target for r in results if not r.ok})

        def lost() -> bool:
            # The monitor's rule on what this job saw last and the page's latest poll (which
            # may be newer than the round): a lost connection is no confirmation.
            return conn.assess(list(latest.values()), rt.services.watcher.last).lost

        if lost():
            return
        for _ in range(policies.confirm_probes):
            if not failed:
                return
            await asyncio.sleep(confirm_interval)
            if lost():
                return
            rounds = await asyncio.gather(*(confirm(t) for t in failed))
            for r in (r for batch in rounds for r in batch):
                latest[(r.target, r.kind)] = r
            await evaluate()
            failed = sorted({t for t, batch in zip(failed, rounds, strict=True)
                             if any(not r.ok for r in batch)})

    async def status() -> None:
        await rt.services.poll_status()
        await evaluate()

    async def evaluate() -> None:
        decisions = await rt.monitor.evaluate_off_loop()
        for d in decisions:
            if d.action == "open":
                rt.metrics.count_incident(d.kind)
        if decisions and rt.worker is not None:
            await rt.worker.drain()

    async def drain() -> None:
        if rt.worker is not None:
            await rt.worker.drain()

    async def retention() -> None:
        cutoff = utcnow() - timedelta(days=s.RETENTION_DAYS)
        pruned = await asyncio.to_thread(rt.store.prune, cutoff)
        # team memory's counters: roll every window, drop buckets past their span's keep
        pruned.update(await asyncio.to_thread(rt.store.prune_memory))
        if any(pruned.values()):
            log.info("retention: pruned %s", pruned)

    return [
        JobSpec("probes", probes, s.PROBE_INTERVAL, jitter_s=min(5.0, s.PROBE_INTERVAL * 0.1)),
        JobSpec("status_poll", status, s.STATUS_POLL_INTERVAL, jitter_s=min(5.0, s.STATUS_POLL_INTERVAL * 0.1)),
        JobSpec("monitor", evaluate, rt.monitor.monitor.policies.evaluate_interval_s),
        JobSpec("outbox", drain, OUTBOX_DRAIN_INTERVAL_S),
        JobSpec("retention", retention, RETENTION_INTERVAL_S),
    ]


async def run(demo: bool = False, demo_seconds: float = 60.0) -> int:
    from bot.logs import setup_logging

    settings = load_settings()
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="sora-bot"))
    fakes: DemoFakes | None = None
    if demo:
        from bot.fakes.demo import start_demo_fakes

        fakes = start_demo_fakes(timeline_seconds=demo_seconds)
        settings = _demo_settings(settings, fakes)
    try:
        adapters = enabled_adapters(registered_adapters(), settings)
        on_terminal = (sys.stdin is not None and sys.stdin.isatty()
                       and any(a.uses_terminal for a in adapters))
        # In a terminal chat the log would drown the conversation: it goes to sora-bot.log.
        setup_logging(settings.LOG_LEVEL, file="sora-bot.log" if on_terminal else None,
                      fmt=settings.LOG_FORMAT)
        if on_terminal:
            print("(logs: sora-bot.log)", file=sys.stderr)
        if fakes is not None:
            log.info("demo mode: fake Sora API at %s, fake status page at %s",
                     fakes.sora_base_url, fakes.status_url)
        core = build_core(settings, adapters, demo=fakes)
        # First thing after building: a SIGTERM during start-up must still end gracefully.
        _install_signal_handlers(core.stop)
        platforms = await start_adapters(core, adapters)
        return await serve(core, platforms, web_required=any(not a.fallback for a in adapters))
    finally:
        if fakes is not None:
            fakes.stop()


def build_core(settings: Settings, adapters: Sequence[Adapter] = (), *,
               demo: DemoFakes | None = None) -> Core:
    """Store (migrated), monitor (restored), services and router: everything but the platforms."""
    from bot.monitor import DEFAULT_POLICIES, Monitor

    store = _open_store(settings)
    log.info("database ready (%s)", store.describe_url())
    metrics = Metrics()
    # today's defaults, sized for the probe interval, then the operator file's overrides
    policies = settings.operator_config().policies(DEFAULT_POLICIES.for_probe_interval(settings.PROBE_INTERVAL))
    monitor = OffLoopMonitor(store, Monitor(policies))
    monitor.restore()
    services = _services(settings, store, monitor=monitor)
    services.metrics = metrics
    # The terminal and the CLI refresh stale evidence before answering; chat platforms answer
    # from what the scheduler keeps fresh.
    services.auto_refresh = bool(adapters) and all(a.fallback for a in adapters)
    return Core(settings=settings, store=store, services=services, router=Router(services),
                monitor=monitor, metrics=metrics, demo=demo)


def _data_dir(settings: Settings) -> str:
    db_file = _sqlite_file(settings.DATABASE_URL)
    return os.path.dirname(db_file) if db_file else os.getcwd()


async def start_adapters(core: Core, adapters: Sequence[Adapter]) -> Platforms:
    """Start every enabled adapter in turn; if one fails, close the ones already started."""
    ctx = AdapterContext(settings=core.settings, router=core.router,
                         single_process=core.store.dialect != "postgresql",
                         data_dir=_data_dir(core.settings))
    platforms = Platforms()
    try:
        for adapter in adapters:
            started = await adapter.start(ctx)
            platforms.started.append((adapter, started))
            for channel, kinds in started.subscribe:
                await core.services.subscribe(channel, kinds, adapter.name)
            for note in started.notes:
                log.info("%s: %s", adapter.name, note)
    except BaseException:
        await platforms.close()
        raise
    log.info("chat adapters started: %s", ", ".join(a.name for a, _ in platforms.started) or "none")
    return platforms


async def serve(core: Core, platforms: Platforms, *, web_required: bool) -> int:
    """Run until the foreground loop ends or a signal arrives, then shut down in order."""
    core.worker = DeliveryWorker(core.store, platforms.sinks, on_outcome=core.metrics.count_delivery)
    if core.store.dialect == "postgresql":
        core.leader = LeaseElector(core.store, ttl_s=core.settings.LEADER_LEASE)
    elif (db_file := _sqlite_file(core.settings.DATABASE_URL)) is not None:
        core.leader = FileLockLeader(db_file + ".leader")
    leader = core.leader
    # Jobs start only while the lead is valid and write under its fence (bot.scheduler.lease).
    core.scheduler = Scheduler(_jobs(core), record=core.store.record_job_run,
                               fence=(lambda: leader.fence) if leader is not None else None)
    leader_closers: list[tuple[str, Closer]] = []

    async def on_elected() -> None:
        assert core.scheduler is not None
        core.scheduler.start()
        for name, part in platforms.leader_parts:
            try:
                leader_closers.append((name, await part()))
            except Exception as exc:  # noqa: BLE001 - the scheduler runs without it
                log.error("%s: leader-only work could not start: %s", name, exc)

    async def on_lost() -> None:
        assert core.scheduler is not None
        await core.scheduler.stop(timeout=0)  # the lead is gone: cancel runs at once
        while leader_closers:
            name, closer = leader_closers.pop()
            with contextlib.suppress(Exception):
                await closer()

    election = (core.leader.run(on_elected, on_lost, core.stop) if core.leader is not None
                else always_leader(on_elected, on_lost, core.stop))
    tasks = [asyncio.create_task(election, name="leader-election")]
    web: WebServer | None = None
    try:
        web = await _start_web(core, platforms.routes, required=web_required)
        foreground = platforms.foreground
        if foreground:
            async def conversation() -> None:
                await asyncio.gather(*(f() for f in foreground))

            await _first(asyncio.create_task(conversation(), name="foreground"), core.stop)
            if core.demo is not None:
                await _wait_demo(core)
        else:
            await core.stop.wait()
    finally:
        await _shutdown(core, platforms, web, tasks)
    return 0


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite:///") or url in ("sqlite:///", "sqlite:///:memory:"):
        return None
    return os.path.abspath(url[len("sqlite:///"):].split("?", 1)[0])


async def _first(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Wait for ``task`` or the stop signal, whichever comes first; cancel the other."""
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    for t in (task, waiter):
        if t not in done:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
    if task in done:
        task.result()  # a failure of the foreground loop is the run's failure


async def _wait_demo(core: Core) -> None:
    """Non-interactive demo: keep running until the scripted incident has resolved."""
    demo = core.demo
    assert demo is not None
    loop = asyncio.get_running_loop()
    end = loop.time() + demo.timeline_seconds + 60
    while loop.time() < end and not core.stop.is_set():
        timeline_over = (utcnow() - demo.started_at).total_seconds() >= demo.timeline_seconds
        if (timeline_over and await asyncio.to_thread(core.store.open_incident_count) == 0
                and await asyncio.to_thread(core.store.outbox_pending_count) == 0):
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(core.stop.wait(), 0.5)


class _Health:
    """What /healthz asks about the scheduler, read from the running core."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def scheduler_alive(self) -> bool:
        return bool(self.core.scheduler and self.core.scheduler.running)

    def is_leader(self) -> bool:
        return self.core.leader.is_leader if self.core.leader is not None else True

    def job_intervals(self) -> dict[str, float]:
        sched = self.core.scheduler
        return {j.name: j.interval_s for j in sched.jobs} if sched else {}


def web_host(settings: Settings, *, only_terminal: bool) -> str:
    """``HOST`` when set; else loopback when only the terminal chat runs (nothing outside needs
    to reach /healthz, /metrics or ingest), else every interface (Slack's HTTP mode, other
    hosts' ingest, the container's health check)."""
    if settings.HOST:
        return settings.HOST
    return "127.0.0.1" if only_terminal else "0.0.0.0"


async def _start_web(core: Core, routes: Sequence[BaseRoute], *, required: bool) -> WebServer | None:
    from bot.web.app import build_web_app

    app = build_web_app(store=core.store, settings=core.settings, health=_Health(core),
                        metrics=core.metrics, on_events=core.monitor.feed_error_events,
                        extra_routes=list(routes))
    server = WebServer(app, host=web_host(core.settings, only_terminal=not required),
                       port=core.settings.PORT,
                       log_level="debug" if core.settings.LOG_LEVEL == "DEBUG" else "warning")
    try:
        await server.start()
    except OSError as exc:
        msg = f"PORT: cannot listen on port {core.settings.PORT}: {exc.strerror or exc}"
        if required:
            raise ConfigError(msg) from None
        log.warning("%s; web app (/healthz, /metrics, ingest) not started", msg)
        return None
    log.info("web app listening on %s:%d (%s)", server.host, server.port, server.url)
    return server


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _shutdown(core: Core, platforms: Platforms, web: WebServer | None,
                    tasks: Sequence[asyncio.Task[None]]) -> None:
    """Graceful stop: no new jobs, in-flight deliveries finish (bounded), then close."""
    core.stop.set()
    if core.scheduler is not None:
        await core.scheduler.stop(timeout=5.0)
    if web is not None:
        await web.stop()
    await platforms.close()
    for task in tasks:
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5.0)
    if core.worker is not None:
        await core.worker.release()
    log.info("sora-bot stopped")
