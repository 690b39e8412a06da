"""The scripted outage that ``sora-bot run --demo`` plays against loopback fakes.

One timeline drives both fakes from the same clock, so what the probes see and what the official
page says stay in step: healthy → error spike (5xx and timeouts) → official incident (partial
outage of Sora) → updates → recovery → resolved, within ``timeline_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock, utcnow
from bot.fakes.sora import FakeSoraAPI
from bot.fakes.status import FakeStatusPage, StatusStep

INCIDENT = "Elevated error rates for Sora video generation"
DEMO_KEY = "sk-demo-loopback-not-a-real-key"

# (fraction of the timeline, Sora API mode)
SORA_TIMELINE: tuple[tuple[float, str], ...] = (
    (0.00, "ok"),
    (0.15, "flaky"),        # error spike: 500, 503, HTML 502, hung (timeouts)
    (0.65, "ok"),           # fix rolled out
)
# (fraction of the timeline, what the official page says)
STATUS_TIMELINE: tuple[tuple[float, StatusStep], ...] = (
    (0.00, StatusStep("operational")),
    (0.30, StatusStep("partial_outage", {
        "name": INCIDENT, "status": "investigating",
        "message": "We are seeing elevated error rates for video generation requests and are "
                   "investigating."}, {"Sora": "partial_outage",
                                        "Video generation": "degraded_performance"})),
    (0.50, StatusStep("partial_outage", {
        "status": "identified",
        "message": "We have identified the cause and are working on a fix."},
        {"Sora": "partial_outage", "Video generation": "degraded_performance"})),
    (0.70, StatusStep("degraded_performance", {
        "status": "monitoring",
        "message": "A fix has been implemented and we are monitoring the results."},
        {"Sora": "degraded_performance"})),
    (0.85, StatusStep("operational", {
        "status": "resolved", "message": "This incident has been resolved."})),
)


@dataclass
class DemoFakes:
    """The running demo fakes; ``env()`` gives the settings that point sora-bot at them."""

    sora: FakeSoraAPI
    status: FakeStatusPage
    started_at: datetime
    timeline_seconds: float

    @property
    def sora_base_url(self) -> str:
        return self.sora.base_url

    @property
    def status_url(self) -> str:
        return self.status.base_url

    def env(self) -> dict[str, str]:
        return {"SORA_API_BASE_URL": self.sora_base_url, "SORA_STATUS_URL": self.status_url,
                "OPENAI_API_KEY": DEMO_KEY}

    def stop(self) -> None:
        self.sora.stop()
        self.status.stop()

    def __enter__(self) -> DemoFakes:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_demo_fakes(timeline_seconds: float = 60, *, clock: Clock = utcnow) -> DemoFakes:
    """Start both fakes and the scripted outage; call ``stop()`` (or use ``with``) when done."""
    if timeline_seconds <= 0:
        raise ValueError("timeline_seconds must be > 0")
    sora = FakeSoraAPI(clock=clock, poll_after_ms=500)
    status = FakeStatusPage(clock=clock)
    sora.start()
    try:
        status.start()
    except BaseException:
        sora.stop()
        raise
    start = clock()
    sora.set_scenario([(f * timeline_seconds, m) for f, m in SORA_TIMELINE], start)
    status.set_scenario([(f * timeline_seconds, s) for f, s in STATUS_TIMELINE], start)
    return DemoFakes(sora=sora, status=status, started_at=start,
                     timeline_seconds=timeline_seconds)
