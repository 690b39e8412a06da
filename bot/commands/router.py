"""The platform-neutral command router: Command → handler → Reply.

One dispatch entry (like slack-bolt's ``App.dispatch``); handlers are looked up in a table and
ask the ``Services`` facade for data, then a renderer in ``bot.commands.views`` turns the typed
result into a Reply. Adapters call ``handle_text`` (a ``/sora`` command) or ``handle_message``
(a chat message that may hold a pasted error) and only translate the Reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock, utcnow
from bot.commands import views
from bot.commands.model import SUBSCRIPTION_KINDS, Caller, ChannelRef, Command, parse_command
from bot.commands.reply import Reply
from bot.diagnosis import Diagnosis, diagnose
from bot.diagnosis.detect import looks_like_error

log = logging.getLogger(__name__)

MAX_PASTE_CHARS = 200_000
_DURATION_RE = re.compile(r"^\s*(\d{1,6})\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w)?\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600,
                 "hrs": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800}
MAX_MUTE = timedelta(days=30)


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``1h``, ``2d``, ``90`` (minutes) → timedelta; None when unreadable."""
    total = 0
    parts = re.findall(r"\d+\s*[a-zA-Z]*", text.strip())
    if not parts or "".join(p.replace(" ", "") for p in parts) != text.replace(" ", ""):
        return None
    for part in parts:
        m = _DURATION_RE.match(part)
        if not m:
            return None
        unit = (m.group(2) or "m").lower()
        total += int(m.group(1)) * _UNIT_SECONDS[unit]
    return timedelta(seconds=total) if total > 0 else None


class Services(Protocol):
    """What the router needs from the core. ``bot.service.CoreServices`` is the real one."""

    async def fresh_evidence(self): ...  # -> bot.evidence.Evidence
    async def status_report(self): ...  # -> bot.evidence.StatusReport
    async def run_probes(self, target: str | None): ...  # -> list[ProbeResult]
    def subscribe(self, channel: ChannelRef, kinds: str, by: str | None) -> bool: ...
    def unsubscribe(self, channel: ChannelRef) -> bool: ...
    def mute(self, channel: ChannelRef, until, by: str | None) -> None: ...
    def history(self, limit: int = 10) -> list: ...
    def paste_settings(self, channel: ChannelRef) -> tuple[bool, bool]: ...
    def set_paste_settings(self, channel: ChannelRef, *, detect: bool | None = None,
                           count: bool | None = None) -> tuple[bool, bool]: ...
    def record_paste(self, diagnosis: Diagnosis, channel: ChannelRef) -> None: ...


Handler = Callable[[Command], Awaitable[Reply]]


class Router:
    def __init__(self, services: Services | None = None, *, now: Clock = utcnow) -> None:
        self.services = services
        self.now = now
        self._handlers: dict[str, Handler] = {
            "help": self._help,
            "unknown": self._unknown,
            "diagnose": self._diagnose,
            "status": self._status,
            "probe": self._probe,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "mute": self._mute,
            "history": self._history,
            "paste": self._paste,
        }

    # Entry points ----------------------------------------------------------------------------

    async def handle_text(self, text: str, channel: ChannelRef, caller: Caller = Caller()) -> Reply:
        return await self.dispatch(parse_command(text, channel, caller))

    async def dispatch(self, command: Command) -> Reply:
        handler = self._handlers.get(command.name, self._unknown)
        try:
            return await handler(command)
        except Exception:  # a handler bug must not kill the adapter; log it, answer plainly
            log.exception("command %s failed", command.name)
            return views.error_reply(f"Sorry, `/sora {command.name}` failed inside the bot. "
                                     "The operator can find the details in the logs.")

    async def handle_message(self, text: str, channel: ChannelRef,
                             caller: Caller = Caller()) -> Reply | None:
        """A plain chat message: answer only when it holds an error payload."""
        if not text or not looks_like_error(text[:MAX_PASTE_CHARS]):
            return None
        detect, count = self.services.paste_settings(channel) if self.services else (True, False)
        if not detect:
            return None
        diagnosis = await self._diagnose_text(text)
        if count and self.services is not None:
            self.services.record_paste(diagnosis, channel)
        return views.diagnosis_reply(diagnosis)

    # Handlers -------------------------------------------------------------------------------

    async def _help(self, command: Command) -> Reply:
        words = command.args.strip().lower().split()
        if words[:1] == ["errors"]:
            return views.errors_reference_reply(words[1] if len(words) > 1 else None)
        return views.help_reply()

    async def _unknown(self, command: Command) -> Reply:
        return views.help_reply(unknown=command.args.split()[0] if command.args.split() else "")

    async def _diagnose_text(self, text: str) -> Diagnosis:
        evidence = await self.services.fresh_evidence() if self.services is not None else None
        return diagnose(text[:MAX_PASTE_CHARS], evidence)

    async def _diagnose(self, command: Command) -> Reply:
        paste = command.args.strip()
        if not paste:
            return views.usage_reply("diagnose <paste the error>",
                                     "Paste the error text, JSON body or exception line after the command.")
        diagnosis = await self._diagnose_text(paste)
        if self.services is not None:
            _, count = self.services.paste_settings(command.channel)
            if count:
                self.services.record_paste(diagnosis, command.channel)
        return views.diagnosis_reply(diagnosis)

    async def _status(self, command: Command) -> Reply:
        if self.services is None:
            return views.error_reply("Status is not available in this mode.")
        public = command.args.strip().lower() in ("public", "share", "channel")
        report = await self.services.status_report()
        return views.status_reply(report, ephemeral=not public)

    async def _probe(self, command: Command) -> Reply:
        if self.services is None:
            return views.error_reply("Probes are not available in this mode.")
        target = command.args.strip() or None
        results = await self.services.run_probes(target)
        return views.probe_reply(results)

    def _forbidden(self, command: Command) -> Reply | None:
        if command.caller.can_manage:
            return None
        return views.error_reply(
            f"You are not allowed to `{command.name}` here: only people who may manage this "
            "channel's alerts can (channel admins, or the configured admin users or group).",
            title="Not allowed")

    async def _subscribe(self, command: Command) -> Reply:
        if (denied := self._forbidden(command)) is not None:
            return denied
        kinds = (command.args.strip().lower() or "all")
        if kinds not in SUBSCRIPTION_KINDS:
            return views.usage_reply("subscribe [all|incidents|status]",
                                     f"`{kinds}` is not a subscription kind.")
        created = self.services.subscribe(command.channel, kinds, command.caller.user_id)
        return views.subscription_reply(kinds, created)

    async def _unsubscribe(self, command: Command) -> Reply:
        if (denied := self._forbidden(command)) is not None:
            return denied
        removed = self.services.unsubscribe(command.channel)
        return views.unsubscribed_reply(removed)

    async def _mute(self, command: Command) -> Reply:
        if (denied := self._forbidden(command)) is not None:
            return denied
        duration = parse_duration(command.args) if command.args.strip() else None
        if duration is None:
            return views.usage_reply("mute <duration>", "Give a duration such as `30m`, `1h` or `2d`.")
        if duration > MAX_MUTE:
            return views.usage_reply("mute <duration>", "A mute can last at most 30 days.")
        until = self.now() + duration
        self.services.mute(command.channel, until, command.caller.user_id)
        return views.muted_reply(until, duration)

    async def _history(self, command: Command) -> Reply:
        incidents = self.services.history(10)
        return views.history_reply(incidents)

    async def _paste(self, command: Command) -> Reply:
        """`paste on|off` (answer pasted errors here) and `paste counting on|off` (count them in
        the team's error rate)."""
        words = command.args.lower().split()
        usage = "paste [on|off] | paste counting [on|off]"
        if self.services is None:
            return views.error_reply("Channel settings are not available in this mode.")
        if not words:
            detect, count = self.services.paste_settings(command.channel)
            return views.paste_settings_reply(detect, count, changed=False)
        if (denied := self._forbidden(command)) is not None:
            return denied
        switch = {"on": True, "off": False}
        if len(words) == 1 and words[0] in switch:
            detect, count = self.services.set_paste_settings(command.channel, detect=switch[words[0]])
        elif len(words) == 2 and words[0] in ("counting", "count") and words[1] in switch:
            detect, count = self.services.set_paste_settings(command.channel, count=switch[words[1]])
        else:
            return views.usage_reply(usage, f"`{command.args.strip()}` is not a paste setting.")
        return views.paste_settings_reply(detect, count, changed=True)
