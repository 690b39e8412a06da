"""Router.handle_chat: one decision for every surface — command, paste, hint or nothing — and
what it counts. A table, run against the real Router over a small in-memory ChatServices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from bot.commands.model import CHANNEL, TERMINAL, Caller, ChannelRef
from bot.commands.ports import IncidentSummary, PasteSettings
from bot.commands.reply import ActionKind
from bot.commands.router import Router
from bot.diagnosis import Diagnosis
from bot.evidence import Evidence, StatusReport, decide
from bot.memory import Recall, Trend
from bot.probes.result import ProbeResult

SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'
HERE = ChannelRef("slack", "T1", "C1")


@dataclass
class MemoryServices:
    """ChatServices in memory: just enough state to see what the router did."""

    settings: dict[ChannelRef, PasteSettings] = field(default_factory=dict)
    recorded: list[str] = field(default_factory=list)
    subscribed: list[tuple[ChannelRef, str]] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)

    async def fresh_evidence(self) -> Evidence:
        return Evidence()

    async def status_report(self) -> StatusReport:
        ev = Evidence()
        return StatusReport(ev, decide(ev))

    async def run_probes(self, target: str | None = None) -> Sequence[ProbeResult]:
        return []

    async def subscribe(self, channel: ChannelRef, kinds: str, by: str | None) -> bool:
        self.subscribed.append((channel, kinds))
        return True

    async def unsubscribe(self, channel: ChannelRef) -> bool:
        return True

    async def mute(self, channel: ChannelRef, until: datetime, by: str | None) -> None:
        return None

    async def history(self, limit: int = 10) -> Sequence[IncidentSummary]:
        return []

    async def paste_settings(self, channel: ChannelRef) -> PasteSettings:
        return self.settings.get(channel, PasteSettings())

    async def set_paste_settings(self, channel: ChannelRef, *, detect: bool | None = None,
                                 count: bool | None = None) -> PasteSettings:
        old = self.settings.get(channel, PasteSettings())
        new = PasteSettings(old.detect if detect is None else detect, old.count if count is None else count)
        self.settings[channel] = new
        return new

    async def remember(self, diagnosis: Diagnosis, channel: ChannelRef, author: str | None, *,
                       record: bool) -> Recall:
        if record:
            self.recorded.append(diagnosis.category)
        return Recall(diagnosis.fingerprint, counted=record)

    async def trend(self, channel: ChannelRef) -> Trend:
        return Trend("15m", (0,) * 15)

    async def acknowledge(self, incident_id: int, channel: ChannelRef, by: str | None) -> bool:
        self.acked.append(incident_id)
        return True


@pytest.mark.parametrize("text, mentioned, is_dm, surface, kind", [
    ("/sora help", False, False, CHANNEL, "help"),          # /sora is always a command
    ("/SORA HELP", False, False, CHANNEL, "help"),          # in any case
    ("sora help", False, False, CHANNEL, None),             # "sora …" in a channel is talk
    ("sora help", True, False, CHANNEL, "help"),            # …unless the bot is spoken to
    ("help", False, True, CHANNEL, "help"),                 # a DM
    ("Status", False, False, TERMINAL, "status"),           # the terminal is direct
    ("status is red today", False, False, CHANNEL, None),   # talk
    ("hello there", False, False, TERMINAL, "hint"),        # small talk, spoken to: a hint
    ("hello there", False, False, CHANNEL, None),           # small talk in a channel: quiet
    (SEED, False, False, CHANNEL, "diagnosis"),             # a paste anywhere
    (SEED, False, False, TERMINAL, "diagnosis"),
    ("there is an error in my code", False, False, CHANNEL, None),  # says "error", is no error
    ("", True, False, CHANNEL, "help"),                     # a bare mention
])
async def test_what_a_chat_message_is(text, mentioned, is_dm, surface, kind):
    services = MemoryServices()
    reply = await Router(services).handle_chat(text, HERE, Caller("U1"), mentioned=mentioned,
                                               is_dm=is_dm, surface=surface)
    assert (reply.kind.value if reply else None) == kind
    assert services.recorded == (["risk_control"] if kind == "diagnosis" else [])


async def test_paste_switches_detection_and_counting_per_channel():
    services = MemoryServices()
    router = Router(services)
    boss = Caller("U1", can_manage=True)
    assert (await router.handle_command("paste off", HERE, boss)).kind == "subscription"
    assert await router.handle_chat(SEED, HERE, boss) is None                  # not answered
    asked = await router.handle_chat(SEED, HERE, boss, mentioned=True)         # asked directly
    assert asked is not None and asked.kind == "diagnosis"
    hint = await router.handle_chat(SEED, HERE, boss, surface=TERMINAL)        # off in a terminal
    assert hint is not None and hint.kind == "hint" and "paste detection is off" in hint.text
    await router.handle_command("paste on", HERE, boss)
    await router.handle_command("paste counting off", HERE, boss)
    services.recorded.clear()
    assert (await router.handle_chat(SEED, HERE, boss)).kind == "diagnosis"
    assert services.recorded == []                                             # answered, not counted


async def test_manage_rights_default_to_no_and_are_asked_only_when_needed():
    asked: list[str] = []

    async def rights() -> bool:
        asked.append("asked")
        return False

    services = MemoryServices()
    router = Router(services)
    nobody = Caller("U2", rights=rights)
    assert (await router.handle_command("help", HERE, nobody)).kind == "help"
    assert (await router.handle_command("paste", HERE, nobody)).kind == "subscription"  # only shows
    assert asked == []                                   # read-only commands never check
    refused = await router.handle_command("subscribe", HERE, nobody)
    assert refused.kind == "error" and refused.title.startswith("Not allowed") and asked == ["asked"]
    assert (await router.handle_command("mute 1h", HERE, Caller("U3"))).title.startswith("Not allowed")
    assert services.subscribed == []


async def test_a_failure_is_one_line_and_a_known_problem_says_what_it_is():
    class Broken(MemoryServices):
        async def history(self, limit: int = 10) -> Sequence[IncidentSummary]:
            raise RuntimeError("boom at line 3")

        async def run_probes(self, target: str | None = None) -> Sequence[ProbeResult]:
            from bot.errors import ConfigError

            raise ConfigError(f"unknown probe target {target!r}; configured: openai")

    router = Router(Broken())
    crash = await router.handle_command("history", HERE, Caller("U1"))
    assert crash.kind == "error" and "\n" not in crash.title and not crash.text
    assert "boom" not in crash.title                     # internals stay in the log
    known = await router.handle_command("probe nope", HERE, Caller("U1"))
    assert known.title == "Unknown probe target 'nope'; configured: openai"


async def test_controls_ack_mute_share():
    services = MemoryServices()
    router = Router(services)
    ack = await router.handle_action(ActionKind.ACK, "42", HERE, Caller("U1"))
    assert ack.mark is not None and ack.mark.line("<@U1>").startswith("✋ Acknowledged by <@U1> at ")
    assert services.acked == [42]
    legacy = await router.handle_action(ActionKind.MUTE, "mute 1h", HERE, Caller("U1", can_manage=True))
    assert legacy.mark is not None and legacy.mark.line("x") == "🔕 Muted for 1h by x"
    refused = await router.handle_action(ActionKind.MUTE, "1h", HERE, Caller("U2"))
    assert refused.mark is None and refused.reply is not None and refused.reply.kind == "error"
    shared = await router.handle_action(ActionKind.SHARE, "status public", HERE, Caller("U1"))
    assert shared.reply is not None and not shared.reply.ephemeral
    assert ActionKind.SHARE not in {a.kind for a in shared.reply.actions}
    assert shared.credit_line("<@U1>") == "Shared by <@U1>"
