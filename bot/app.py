"""Composition root: builds the core from settings and runs it (``sora-bot run``).

Only this module knows every part; the parts know only their own inputs. Adapters are imported
here lazily, by token, and register their delivery sinks with the notify worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from bot.clock import utcnow
from bot.config import Settings, load_settings
from bot.errors import ConfigError

log = logging.getLogger("bot.app")

OUTBOX_DRAIN_INTERVAL_S = 1.0
RETENTION_INTERVAL_S = 3600.0


def _open_store(settings: Settings, *, upgrade: bool = True):
    from bot.store import open_store

    store = open_store(settings.DATABASE_URL)
    if upgrade:
        store.upgrade()
    else:
        store.check_schema()
    return store


def _services(settings: Settings, store, **kw):
    from bot.service import CoreServices

    return CoreServices(settings, store, **kw)


# One-shot CLI entry points ---------------------------------------------------------------------

def db_upgrade() -> str:
    settings = load_settings()
    store = _open_store(settings)
    return store.current_revision()


def _cli_services():
    """Services for a one-shot command: refresh stale evidence before answering."""
    settings = load_settings()
    services = _services(settings, _open_store(settings))
    services.auto_refresh = True
    return services


async def status_once():
    """``sora-bot status``: answer from stored evidence, refreshing first when it is stale."""
    return await _cli_services().status_report()


async def probe_once(target: str | None):
    return await _cli_services().run_probes(target)


async def gather_evidence_once():
    return await _cli_services().fresh_evidence()


# The long-running bot ----------------------------------------------------------------------------

@dataclass
class Runtime:
    """Everything ``run`` started, so shutdown can stop it in reverse order."""

    settings: Settings
    store: Any
    services: Any
    router: Any
    monitor: Any
    worker: Any
    scheduler: Any
    metrics: Any
    sinks: dict[str, Any] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    leader: Any = None
    web_server: Any = None
    demo: Any = None
    closers: list[Any] = field(default_factory=list)


def _demo_settings(settings: Settings, fakes) -> Settings:
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


def _jobs(rt: Runtime):
    from bot.scheduler import JobSpec

    s = rt.settings

    async def probes() -> None:
        results = await rt.services.run_probes()
        for r in results:
            rt.metrics.observe_probe(r)
            if not r.ok and r.category:
                rt.metrics.count_errors(r.category, "probe")
        await evaluate()

    async def status() -> None:
        await rt.services.poll_status()
        await evaluate()

    async def evaluate() -> None:
        decisions = rt.monitor.evaluate_and_apply()
        for d in decisions:
            if d.action == "open":
                rt.metrics.count_incident(d.kind)
        if decisions:
            await rt.worker.drain()

    async def drain() -> None:
        await rt.worker.drain()

    async def retention() -> None:
        cutoff = utcnow() - timedelta(days=s.RETENTION_DAYS)
        pruned = rt.store.prune(cutoff)
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
    interactive_shell = (sys.stdin is not None and sys.stdin.isatty()
                         and not (settings.SLACK_BOT_TOKEN or settings.DISCORD_TOKEN))
    # In a terminal chat the log would drown the conversation: it goes to sora-bot.log.
    setup_logging(settings.LOG_LEVEL, file="sora-bot.log" if interactive_shell else None)
    if interactive_shell:
        print("(logs: sora-bot.log)", file=sys.stderr)
    fakes = None
    if demo:
        from bot.fakes.demo import start_demo_fakes

        fakes = start_demo_fakes(timeline_seconds=demo_seconds)
        settings = _demo_settings(settings, fakes)
        log.info("demo mode: fake Sora API at %s, fake status page at %s",
                 fakes.sora_base_url, fakes.status_url)
    try:
        return await _run(settings, demo_fakes=fakes)
    finally:
        if fakes is not None:
            fakes.stop()


async def _run(settings: Settings, *, demo_fakes=None) -> int:
    from bot.commands.router import Router
    from bot.monitor import DEFAULT_POLICIES, Monitor
    from bot.monitor.service import MonitorService
    from bot.notify import DeliveryWorker
    from bot.scheduler import FileLockLeader, LeaderElector, Scheduler, always_leader
    from bot.web.metrics import Metrics

    store = _open_store(settings)
    log.info("database ready (%s)", store.describe_url())
    metrics = Metrics()
    policies = DEFAULT_POLICIES.for_probe_interval(settings.PROBE_INTERVAL)
    monitor = MonitorService(store, Monitor(policies))
    monitor.restore()
    services = _services(settings, store, monitor=monitor)
    services.metrics = metrics
    router = Router(services)
    has_slack = settings.SLACK_BOT_TOKEN is not None
    has_discord = settings.DISCORD_TOKEN is not None
    shell_mode = not (has_slack or has_discord)
    services.auto_refresh = shell_mode

    rt = Runtime(settings=settings, store=store, services=services, router=router, monitor=monitor,
                 worker=None, scheduler=None, metrics=metrics, demo=demo_fakes)
    # First thing: a SIGTERM during start-up must still end in a graceful shutdown.
    _install_signal_handlers(rt.stop)
    extra_routes: list[Any] = []
    shell = None
    if shell_mode:
        from adapters.shell import SHELL_CHANNEL, ShellAdapter, shell_sink

        shell = ShellAdapter(router)
        rt.sinks["shell"] = shell_sink(shell, _shell_log_path(settings))
        services.subscribe(SHELL_CHANNEL, "all", "shell")
    discord_gateway = None  # with several replicas only the leader holds the gateway session
    try:
        if has_slack:
            from adapters.slack.runtime import start_slack

            slack = await start_slack(settings, router)
            rt.sinks["slack"] = slack.sink
            extra_routes.extend(slack.routes)
            rt.closers.append(slack.close)
        if has_discord:
            from adapters.discord.runtime import start_discord

            single = store.dialect != "postgresql"
            discord_rt = await start_discord(settings, router, gateway=single)
            rt.sinks["discord"] = discord_rt.sink
            rt.closers.append(discord_rt.close)
            if not single:
                discord_gateway = start_discord
    except BaseException:  # one adapter failed to start: close the ones already connected
        for closer in rt.closers:
            with contextlib.suppress(Exception):
                await closer()
        raise

    rt.worker = DeliveryWorker(store, rt.sinks, on_outcome=metrics.count_delivery)
    rt.scheduler = Scheduler(_jobs(rt), record=store.record_job_run)
    elector: Any = None
    if store.dialect == "postgresql":
        elector = LeaderElector(store.engine)
    elif (db_file := _sqlite_file(settings.DATABASE_URL)) is not None:
        elector = FileLockLeader(db_file + ".leader")
    rt.leader = elector

    leader_closers: list[Any] = []

    async def on_elected() -> None:
        rt.scheduler.start()
        if discord_gateway is not None:  # Discord sends every event to every session
            try:
                leader_rt = await discord_gateway(settings, router)
            except Exception as exc:
                log.error("discord: the leader could not open the gateway: %s", exc)
            else:
                leader_closers.append(leader_rt.close)

    async def on_lost() -> None:
        await rt.scheduler.stop()
        while leader_closers:
            with contextlib.suppress(Exception):
                await leader_closers.pop()()

    if elector is not None:
        rt.tasks.append(asyncio.create_task(elector.run(on_elected, on_lost, rt.stop)))
    else:
        rt.tasks.append(asyncio.create_task(always_leader(on_elected, on_lost, rt.stop)))

    try:
        await _start_web(rt, extra_routes, required=not shell_mode)
        if shell is not None:
            if sys.stdin is not None and sys.stdin.isatty():
                shell_task = asyncio.create_task(shell.run_interactive())
                await _first(shell_task, rt.stop)
            else:
                if sys.stdin is not None:
                    await _first(asyncio.create_task(shell.run_stream(sys.stdin)), rt.stop)
                if demo_fakes is not None:
                    await _wait_demo(rt)
        else:
            await rt.stop.wait()
    finally:
        await _shutdown(rt)
    return 0


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite:///") or url in ("sqlite:///", "sqlite:///:memory:"):
        return None
    return os.path.abspath(url[len("sqlite:///"):].split("?", 1)[0])


def _shell_log_path(settings: Settings) -> str:
    db_file = _sqlite_file(settings.DATABASE_URL)
    base = os.path.dirname(db_file) if db_file else os.getcwd()
    return os.path.join(base, "sora-bot-notices.log")


async def _first(task: asyncio.Task, stop: asyncio.Event) -> None:
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    for t in (task, waiter):
        if t not in done:
            t.cancel()


async def _wait_demo(rt: Runtime) -> None:
    """Non-interactive demo: keep running until the scripted incident has resolved."""
    loop = asyncio.get_running_loop()
    end = loop.time() + rt.demo.timeline_seconds + 60
    while loop.time() < end and not rt.stop.is_set():
        timeline_over = (utcnow() - rt.demo.started_at).total_seconds() >= rt.demo.timeline_seconds
        if (timeline_over and rt.store.open_incident_count() == 0
                and rt.store.outbox_pending_count() == 0):
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(rt.stop.wait(), 0.5)


async def _start_web(rt: Runtime, extra_routes: list[Any], *, required: bool) -> None:
    from bot.web.app import build_web_app
    from bot.web.server import WebServer

    class _Health:
        def scheduler_alive(self) -> bool:
            return bool(rt.scheduler and rt.scheduler.running)

        def is_leader(self) -> bool:
            return rt.leader.is_leader if rt.leader is not None else True

        def job_intervals(self) -> dict[str, float]:
            return {j.name: j.interval_s for j in rt.scheduler.jobs} if rt.scheduler else {}

    app = build_web_app(store=rt.store, settings=rt.settings, health=_Health(), metrics=rt.metrics,
                        on_events=rt.monitor.feed_error_events, extra_routes=extra_routes)
    server = WebServer(app, host=os.environ.get("HOST", "0.0.0.0"), port=rt.settings.PORT,
                       log_level="debug" if rt.settings.LOG_LEVEL == "DEBUG" else "warning")
    try:
        await server.start()
    except OSError as exc:
        msg = f"PORT: cannot listen on port {rt.settings.PORT}: {exc.strerror or exc}"
        if required:
            raise ConfigError(msg) from None
        log.warning("%s; web app (/healthz, /metrics, ingest) not started", msg)
        return
    log.info("web app listening on %s", server.url)
    rt.web_server = server


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _shutdown(rt: Runtime) -> None:
    """Graceful stop: no new jobs, in-flight deliveries finish (bounded), then close."""
    rt.stop.set()
    if rt.scheduler is not None:
        await rt.scheduler.stop(timeout=5.0)
    if rt.web_server is not None:
        await rt.web_server.stop()
    for closer in rt.closers:
        with contextlib.suppress(Exception):
            await closer()
    for task in rt.tasks:
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5.0)
    if rt.worker is not None:
        await rt.worker.release()
    log.info("sora-bot stopped")
