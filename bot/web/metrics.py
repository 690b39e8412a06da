"""Prometheus metrics of one sora-bot process, in a registry of its own.

Why a dedicated ``CollectorRegistry``: tests (and a process that builds several apps) create many
``Metrics`` objects; the global registry would refuse the second set of the same names.

Counters and histograms are pushed by the parts that see the events (probes, the outbox worker,
the ingest API, the monitor); numbers that live in the database (outbox depth, open incidents)
are read from the store at scrape time by a custom collector, so every replica reports the same
truth and a restart does not reset them to zero. The web app reads them in a worker thread with
a deadline (``read_gauges``), so a stalled database makes a scrape say ``sora_bot_db_up 0``
within seconds instead of hanging it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot import connectivity as conn
from bot.store import Store
from bot.store.base import DatabaseLost

log = logging.getLogger(__name__)

# Probe latencies: a healthy API edge answers in tens of milliseconds, a slow one in seconds;
# the top buckets cover PROBE_TIMEOUT (default 10 s, at most 120 s).
LATENCY_BUCKETS_S: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
OUTBOX_STATES_REPORTED: tuple[str, ...] = ("pending", "sending", "sent", "dead", "suppressed")

CONTENT_TYPE = CONTENT_TYPE_LATEST
CONNECTIVITY_HELP = ("1 when every probe target and the status page fail at the network level "
                     "(the bot's own connectivity, not the provider)")


class ProbeLike(Protocol):
    """What ``observe_probe`` reads from a probe result (``bot.probes`` result or store row)."""

    @property
    def target(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def latency_ms(self) -> float | None: ...


@dataclass(frozen=True)
class StoreGauges:
    """What the store says at scrape time; ``up`` false when it could not be read."""

    up: bool
    depth: dict[str, int] = field(default_factory=dict)
    open_incidents: int = 0
    # The own-connectivity rule on the stored latest evidence (bot.connectivity): ok, partial
    # or lost; None when not asked (no targets given).
    connectivity: str | None = None


DOWN = StoreGauges(up=False)


def read_connectivity(store: Store, targets: Sequence[str]) -> conn.Connectivity:
    """The own-connectivity rule on the newest stored result per (target, kind) and the newest
    page poll: every replica and the CLI judge the same evidence. Blocking."""
    from bot.probes.result import KINDS
    from bot.store.status_read import read_status

    read = read_status(store, list(targets), KINDS, store.now())
    return conn.assess(read.probes, read.snapshot)


def read_gauges(store: Store, targets: Sequence[str] | None = None) -> StoreGauges:
    """Blocking (call it in a worker thread); never raises: a failing store is ``DOWN``."""
    try:
        store.check_writable()
        depth = dict(store.outbox_counts())
        open_incidents = len(store.open_incidents())
        link = None if targets is None else read_connectivity(store, targets).state
    except DatabaseLost:  # the store logged it once already; every scrape need not repeat it
        return DOWN
    except Exception as exc:  # the scrape must still answer: report the store as down
        log.warning("metrics: cannot read the store: %s", str(exc).splitlines()[0][:200]
                    if str(exc) else type(exc).__name__)
        return DOWN
    return StoreGauges(up=True, depth=depth, open_incidents=open_incidents, connectivity=link)


class _StoreCollector(Collector):
    """Gauges from the store; a failing store yields ``sora_bot_db_up 0``. ``given`` (set for
    one render by ``Metrics.render(gauges)``) saves reading the store during the render."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.given: StoreGauges | None = None

    def describe(self) -> list[Metric]:
        # Declared without values so registration never touches the database.
        return [GaugeMetricFamily("sora_bot_db_up", "1 when the last scrape could read the store"),
                GaugeMetricFamily("sora_bot_outbox_depth", "Outbox rows by status",
                                  labels=["status"]),
                GaugeMetricFamily("sora_bot_incidents_open", "Incidents currently open"),
                GaugeMetricFamily("sora_bot_connectivity_lost", CONNECTIVITY_HELP)]

    def collect(self) -> Iterator[Metric]:
        gauges = self.given if self.given is not None else read_gauges(self.store)
        up = GaugeMetricFamily("sora_bot_db_up", "1 when the last scrape could read the store")
        up.add_metric([], 1 if gauges.up else 0)
        yield up
        if not gauges.up:
            return
        gauge = GaugeMetricFamily("sora_bot_outbox_depth", "Outbox rows by status",
                                  labels=["status"])
        for status in sorted(set(OUTBOX_STATES_REPORTED) | set(gauges.depth)):
            gauge.add_metric([status], float(gauges.depth.get(status, 0)))
        yield gauge
        yield GaugeMetricFamily("sora_bot_incidents_open", "Incidents currently open",
                                value=gauges.open_incidents)
        if gauges.connectivity is not None:
            yield GaugeMetricFamily("sora_bot_connectivity_lost", CONNECTIVITY_HELP,
                                    value=1 if gauges.connectivity == conn.LOST else 0)


class _LeaderCollector(Collector):
    """``sora_bot_scheduler_leader``: 1 on the replica that leads (alert when the sum over
    replicas is not exactly 1)."""

    def __init__(self, is_leader: Callable[[], bool]) -> None:
        self.is_leader = is_leader

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily("sora_bot_scheduler_leader", "1 when this replica leads")]

    def collect(self) -> Iterator[Metric]:
        try:
            leading = bool(self.is_leader())
        except Exception:  # a broken source counts as not leading
            leading = False
        yield GaugeMetricFamily("sora_bot_scheduler_leader", "1 when this replica leads",
                                value=1 if leading else 0)


class Metrics:
    """The metric objects others call; one instance per process, shared by every component.

    >>> m = Metrics(); m.count_delivery("slack", "sent"); b"sora_bot_deliveries_total" in m.render()
    True
    """

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.probes = Counter("sora_bot_probes", "Probe runs by target, kind and outcome",
                              ["target", "kind", "ok"], registry=self.registry)
        self.probe_latency = Histogram("sora_bot_probe_latency_seconds",
                                       "Probe latency by target and kind", ["target", "kind"],
                                       buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.incidents = Counter("sora_bot_incidents", "Incidents opened, by kind", ["kind"],
                                 registry=self.registry)
        self.deliveries = Counter("sora_bot_deliveries", "Notice delivery attempts by outcome",
                                  ["platform", "outcome"], registry=self.registry)
        self.errors = Counter("sora_bot_errors", "Error events by category and source",
                              ["category", "source"], registry=self.registry)
        self.ingest_refused = Counter("sora_bot_ingest_refused",
                                      "Ingest requests answered 503, by reason "
                                      "(overloaded: the writer is behind; store: the database)",
                                      ["reason"], registry=self.registry)
        self._store_collector: _StoreCollector | None = None
        self._leader: _LeaderCollector | None = None
        if store is not None:
            self.attach_store(store)

    def attach_store(self, store: Store) -> None:
        """Read outbox depth and open incidents from ``store`` at scrape time (one collector)."""
        if self._store_collector is not None:
            self._store_collector.store = store
            return
        self._store_collector = _StoreCollector(store)
        self.registry.register(self._store_collector)

    @property
    def has_store(self) -> bool:
        return self._store_collector is not None

    def watch_leader(self, is_leader: Callable[[], bool]) -> None:
        """Report ``is_leader()`` at scrape time as ``sora_bot_scheduler_leader``."""
        if self._leader is None:
            self._leader = _LeaderCollector(is_leader)
            self.registry.register(self._leader)
        else:
            self._leader.is_leader = is_leader

    # Calls made by the rest of the bot ---------------------------------------------------------

    def observe_probe(self, result: ProbeLike) -> None:
        """Count one probe result and, when it has one, record its latency."""
        self.probes.labels(result.target, result.kind, "true" if result.ok else "false").inc()
        if result.latency_ms is not None:
            self.probe_latency.labels(result.target, result.kind).observe(
                max(0.0, float(result.latency_ms)) / 1000.0)

    def count_incident(self, kind: str) -> None:
        """An incident of ``kind`` (outage, surge, official, flapping) was opened."""
        self.incidents.labels(kind).inc()

    def count_delivery(self, platform: str, outcome: str) -> None:
        """One delivery attempt finished: outcome 'sent', 'retry', 'dead' or 'suppressed'."""
        self.deliveries.labels(platform, outcome).inc()

    def count_errors(self, category: str, source: str, n: int = 1) -> None:
        """``n`` error events of ``category`` arrived from ``source`` (probe, chat, ingest)."""
        if n > 0:
            self.errors.labels(category, source).inc(n)

    def render(self, gauges: StoreGauges | None = None) -> bytes:
        """The Prometheus text exposition of this registry. Without ``gauges`` it reads the
        store (blocking: call it off the loop); with them it only formats."""
        collector = self._store_collector
        if collector is None or gauges is None:
            return generate_latest(self.registry)
        collector.given = gauges
        try:
            return generate_latest(self.registry)
        finally:
            collector.given = None


__all__ = ["Metrics", "ProbeLike", "CONTENT_TYPE", "LATENCY_BUCKETS_S", "StoreGauges",
           "read_gauges", "read_connectivity", "DOWN"]
