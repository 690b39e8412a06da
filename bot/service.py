"""CoreServices: the one facade the command router (and the CLI) use to reach the core.

It gathers evidence from the store, runs probes and status polls on demand, and records what
they find, so every surface answers from the same data the scheduler keeps fresh.

Every database call runs in a worker thread (``_db``): the Store is synchronous SQLAlchemy, and
the event loop that runs these methods also owes Slack its 3-second acks, Discord its
interaction answers and other channels their replies. A slow or stalled database then delays
the one command that needs it, never everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import httpx

from bot.clock import Clock, as_utc, utcnow
from bot.commands.model import Caller, ChannelRef
from bot.commands.ports import IncidentSummary, PasteSettings
from bot.config import OFFICIAL_TARGET, Settings
from bot.diagnosis.model import Diagnosis
from bot.diagnosis.redact import redact
from bot.errors import ConfigError
from bot.evidence import ERROR_WINDOW_S, PROVIDER_INDICATORS, Evidence, ProbeView, StatusReport, decide
from bot.memory import Correction, Note, Recall, TopReport, Trend, Window, team_of
from bot.probes.result import ProbeResult
from bot.status_page import StatusSnapshot
from bot.store import Store

if TYPE_CHECKING:
    from bot.monitor.service import MonitorService
    from bot.web.metrics import Metrics

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)


class CoreServices:
    def __init__(self, settings: Settings, store: Store, *, now: Clock = utcnow,
                 transport: httpx.AsyncBaseTransport | None = None,
                 monitor: MonitorService | None = None) -> None:
        from bot.probes import Prober
        from bot.status_page import StatusWatcher

        self.settings = settings
        self.store = store
        self.now = now
        self.targets = settings.targets()
        self.monitor = monitor  # the scheduler's monitor, when the bot runs
        self.metrics: Metrics | None = None  # when the web app runs
        self.prober = Prober(self.targets, timeout=settings.PROBE_TIMEOUT, transport=transport,
                             now=now, generate=settings.PROBE_GENERATE,
                             budget=self._take_generate_budget)
        self.watcher = StatusWatcher(settings.SORA_STATUS_URL, settings.components,
                                     transport=transport, timeout=settings.PROBE_TIMEOUT, now=now)
        self._refresh_lock = asyncio.Lock()
        self._primed = False
        # Shell and CLI refresh stale evidence before answering /sora status; chat platforms
        # answer from what the scheduler keeps fresh (set by the composition root).
        self.auto_refresh = False
        # Told what live work is about to wait on (the CLI shows it on a terminal).
        self.on_progress: Callable[[str], None] | None = None

    def _progress(self, what: str) -> None:
        if self.on_progress is not None:
            self.on_progress(what)

    @staticmethod
    async def _db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one Store call in a worker thread (never on the event loop)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    # Evidence --------------------------------------------------------------------------------

    def _take_generate_budget(self) -> bool:
        # Called by the prober from its own code path; the budget row is one short UPDATE.
        day = self.now().strftime("%Y-%m-%d")
        return self.store.take_budget("generate", day, self.settings.GENERATE_DAILY_BUDGET)

    def read_evidence(self) -> Evidence:
        """What the store says now: page, newest probe per target and kind, team errors.
        Blocking (several queries): call it through ``evidence()`` from async code."""
        from bot.probes import KINDS
        from bot.store.status_read import read_status

        now = self.now()
        read = read_status(self.store, [t.name for t in self.targets], KINDS,
                           now - timedelta(seconds=ERROR_WINDOW_S))
        probes = tuple(ProbeView(target=r.target, kind=r.kind, ok=bool(r.ok),
                                 http_status=r.http_status, latency_ms=r.latency_ms,
                                 category=r.category, at=as_utc(r.at)) for r in read.probes)
        indicator, components, incidents, since = "unknown", (), (), None
        snap = read.snapshot
        if snap is not None:
            indicator = snap.indicator or "unknown"
            components = tuple(snap.components or ())
            incidents = tuple(snap.incidents or ())
            if indicator in PROVIDER_INDICATORS:  # "partial outage since 08:41"
                since = self.store.indicator_since(indicator)
        return Evidence(indicator=indicator, components=components, incidents=incidents,
                        indicator_since=since, probes=probes,
                        errors_total=sum(read.error_counts.values()),
                        errors_by_category=read.error_counts,
                        targets={t.name: t.base_url for t in self.targets},
                        official_target=OFFICIAL_TARGET)

    async def evidence(self) -> Evidence:
        return await self._db(self.read_evidence)

    async def fresh_evidence(self) -> Evidence:
        """Evidence for a diagnosis; the shell and CLI refresh it first when it is stale."""
        if self.auto_refresh and await self.is_stale():
            try:
                await asyncio.wait_for(self.refresh(), self.settings.PROBE_TIMEOUT + 5)
            except TimeoutError:
                log.warning("evidence refresh timed out; using stored evidence")
                self._progress(f"gave up after {self.settings.PROBE_TIMEOUT + 5:g} s; using what is stored")
        return await self.evidence()

    def _stale(self) -> bool:
        from bot.probes import KINDS
        from bot.store.status_read import read_status

        now = self.now()
        read = read_status(self.store, [t.name for t in self.targets], KINDS, now)
        snap = read.snapshot
        if snap is None or (now - as_utc(snap.fetched_at)).total_seconds() > self.settings.STATUS_POLL_INTERVAL:
            return True
        if not read.probes:
            return True
        newest = max(as_utc(r.at) for r in read.probes)
        return (now - newest).total_seconds() > self.settings.PROBE_INTERVAL

    async def is_stale(self) -> bool:
        """True when stored evidence is missing or older than its poll interval."""
        return await self._db(self._stale)

    async def status_report(self, refresh: bool | None = None) -> StatusReport:
        if refresh or (refresh is None and self.auto_refresh and await self.is_stale()):
            try:
                await asyncio.wait_for(self.refresh(), self.settings.PROBE_TIMEOUT + 5)
            except TimeoutError:
                log.warning("status refresh timed out; answering from stored evidence")
                self._progress(f"gave up after {self.settings.PROBE_TIMEOUT + 5:g} s; "
                               "answering from what is stored")
        ev = await self.evidence()
        return StatusReport(ev, decide(ev))

    # Live work -------------------------------------------------------------------------------

    async def poll_status(self) -> StatusSnapshot:
        """Poll the official page, store the snapshot, hand any change to the monitor."""
        if self.watcher.last is None and not self._primed:
            self._primed = True
            row = await self._db(self.store.latest_status_snapshot)
            if row is not None:  # compare against what we saw before a restart
                self.watcher.prime(StatusSnapshot.from_record(row))
        self._progress(f"reading the status page {self.settings.SORA_STATUS_URL} "
                       f"(times out after {self.settings.PROBE_TIMEOUT:g} s)")
        snap, changes = await self.watcher.poll_changes()
        await self._db(self.store.add_status_snapshot, snap)
        if self.monitor is not None:
            self.monitor.observe_page(snap)
            if changes:
                self.monitor.feed_status_changes(changes)
            # An official incident that ended while the bot was down is in no diff.
            self.monitor.sync_status(snap)
        return snap

    async def run_probes(self, target: str | None = None,
                         kinds: Sequence[str] | None = None) -> list[ProbeResult]:
        if target is not None and target not in {t.name for t in self.targets}:
            names = ", ".join(t.name for t in self.targets)
            raise ConfigError(f"unknown probe target {target!r}; configured: {names}")
        names = ", ".join(t.name for t in self.targets if target in (None, t.name))
        self._progress(f"probing {names} (each request times out after "
                       f"{self.settings.PROBE_TIMEOUT:g} s)")
        results = await self.prober.run(kinds=kinds, target=target)
        await self._db(self.store.add_probe_results, results)
        if self.monitor is not None:
            self.monitor.feed_probe_results(results)
        return results

    async def refresh(self) -> None:
        """Poll the page and run probes concurrently; used when evidence is stale."""
        async with self._refresh_lock:
            await asyncio.gather(self.poll_status(), self.run_probes())

    # Channels --------------------------------------------------------------------------------

    async def subscribe(self, channel: ChannelRef, kinds: str, by: str | None) -> bool:
        """True when the channel was not subscribed before (False: kinds changed)."""
        before = await self._db(self.store.get_subscription, channel.platform, channel.workspace,
                                channel.channel)
        await self._db(self.store.subscribe, channel.platform, channel.workspace, channel.channel,
                       kinds, by)
        return before is None

    async def set_paste_settings(self, channel: ChannelRef, *, detect: bool | None = None,
                                 count: bool | None = None) -> PasteSettings:
        row = await self._db(self.store.set_channel_setting, channel.platform, channel.workspace,
                             channel.channel, paste_detection=detect, count_pastes=count)
        return PasteSettings(detect=bool(row.paste_detection), count=bool(row.count_pastes))

    async def unsubscribe(self, channel: ChannelRef) -> bool:
        return await self._db(self.store.unsubscribe, channel.platform, channel.workspace,
                              channel.channel)

    async def mute(self, channel: ChannelRef, until: datetime, by: str | None) -> None:
        await self._db(self.store.mute, channel.platform, channel.workspace, channel.channel,
                       until, by)

    async def history(self, limit: int = 10) -> Sequence[IncidentSummary]:
        return await self._db(self.store.recent_incidents, limit)

    async def acknowledge(self, incident_id: int, channel: ChannelRef, by: str | None) -> bool:
        return await self._db(self.store.acknowledge_incident, incident_id, by or "someone",
                              channel.key)

    async def paste_settings(self, channel: ChannelRef) -> PasteSettings:
        s = await self._db(self.store.channel_settings, channel.platform, channel.workspace,
                           channel.channel)
        return PasteSettings(detect=bool(s.paste_detection), count=bool(s.count_pastes))

    # Team memory ------------------------------------------------------------------------------

    async def remember(self, diagnosis: Diagnosis, channel: ChannelRef, author: str | None, *,
                       record: bool) -> Recall:
        """One write transaction: the team error event (when ``record``), its memory and the
        read-back of the kind; then the monitor and metrics hear of it, as for any error."""
        event = {"at": self.now(), "source": "chat", "target": None,
                 "category": diagnosis.category, "fingerprint": diagnosis.fingerprint,
                 "http_status": diagnosis.http_status, "error_code": diagnosis.error_code,
                 "channel_key": channel.key, "redacted": diagnosis.redacted}
        recall = await self._db(self.store.remember, team_of(channel), event, author=author,
                                record=record)
        if record:
            if self.metrics is not None:
                self.metrics.count_errors(diagnosis.category, "chat")
            if self.monitor is not None:
                self.monitor.feed_error_events([event])
        return recall

    async def add_note(self, channel: ChannelRef, fingerprint: str, text: str,
                       caller: Caller) -> Note | None:
        """A note is text from a person, like a paste: redacted before it is stored."""
        return await self._db(self.store.add_note, team_of(channel), fingerprint,
                              redact(text.strip()), author_id=caller.user_id,
                              author=_who(caller))

    async def notes(self, channel: ChannelRef,
                    fingerprint: str) -> tuple[tuple[Note, ...], int] | None:
        return await self._db(self.store.notes, team_of(channel), fingerprint)

    async def correct(self, channel: ChannelRef, fingerprint: str, category: str,
                      caller: Caller) -> Correction | None:
        return await self._db(self.store.correct, team_of(channel), fingerprint, category,
                              by_id=caller.user_id, by=_who(caller))

    async def is_author(self, channel: ChannelRef, fingerprint: str, user: str | None) -> bool:
        return await self._db(self.store.is_author, team_of(channel), fingerprint, user)

    async def last_kind(self, channel: ChannelRef, user: str | None) -> str | None:
        return await self._db(self.store.last_kind, team_of(channel), user)

    async def top(self, channel: ChannelRef, window: Window) -> TopReport:
        return await self._db(self.store.top, team_of(channel), window)

    async def trend(self, channel: ChannelRef) -> Trend:
        return await self._db(self.store.trend, team_of(channel))


def _who(caller: Caller) -> str:
    """How a note or correction names its author (redacted: a display name is user text)."""
    return redact(caller.display or caller.user_id or "someone")
