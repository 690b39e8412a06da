"""What the command router needs from the rest of the core, as Protocols.

The router is the seam every chat surface goes through, so its dependencies are spelled out
here instead of being "whatever object the composition root passed": ``bot.service.CoreServices``
is the real implementation, tests pass small fakes. Every method is ``async`` because the real
one reaches the database, and a database call must never run on the event loop that also
answers Slack's 3-second acks and Discord's interactions (CoreServices runs them in a thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.commands.model import ChannelRef
from bot.diagnosis.model import Diagnosis
from bot.evidence import Evidence, StatusReport
from bot.probes.result import ProbeResult


@dataclass(frozen=True)
class PasteSettings:
    """A channel's two paste switches: answer pasted errors here; count them as team errors."""

    detect: bool = True
    count: bool = True


class IncidentSummary(Protocol):
    """The fields of an incident that ``/sora history`` shows (a stored Incident row has them)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def resolved_at(self) -> datetime | None: ...


class ChatServices(Protocol):
    async def fresh_evidence(self) -> Evidence: ...
    async def status_report(self) -> StatusReport: ...
    async def run_probes(self, target: str | None = None) -> Sequence[ProbeResult]: ...
    async def subscribe(self, channel: ChannelRef, kinds: str, by: str | None) -> bool: ...
    async def unsubscribe(self, channel: ChannelRef) -> bool: ...
    async def mute(self, channel: ChannelRef, until: datetime, by: str | None) -> None: ...
    async def history(self, limit: int = 10) -> Sequence[IncidentSummary]: ...
    async def paste_settings(self, channel: ChannelRef) -> PasteSettings: ...
    async def set_paste_settings(self, channel: ChannelRef, *, detect: bool | None = None,
                                 count: bool | None = None) -> PasteSettings: ...
    async def record_paste(self, diagnosis: Diagnosis, channel: ChannelRef) -> None: ...
    async def acknowledge(self, incident_id: int, channel: ChannelRef, by: str | None) -> bool: ...
