"""The platform-neutral command router: every chat surface's one way into the core.

Three entry points, like slack-bolt's single ``App.dispatch``:

* ``handle_command`` — an explicit command (Slack's ``/sora`` text, a Discord app command, a
  terminal line starting with ``/sora``);
* ``handle_chat`` — any chat message: the router decides whether it is a command, a pasted
  error, small talk that deserves a hint (only where the bot is spoken to directly), or
  nothing;
* ``handle_action`` — a click on a control the core declared on a Reply (Acknowledge, Mute,
  Share, Note, Correct).

Rules live here once, not in the adapters: what each command needs (``bot.commands.specs``:
manage rights are checked here, and default to "no"), what counts as a paste, what is counted
as a team error, and how a failure reads (one line naming the problem; the traceback goes to
the log only).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, utcnow
from bot.commands import views
from bot.commands.model import (
    CHANNEL,
    SUBSCRIPTION_KINDS,
    Caller,
    ChannelRef,
    Command,
    Surface,
    is_command_text,
    parse_command,
)
from bot.commands.ports import ChatServices, PasteSettings
from bot.commands.reply import ActionKind, Reply, ReplyKind
from bot.commands.specs import spec_for
from bot.diagnosis import Diagnosis, diagnose
from bot.diagnosis.detect import looks_like_error
from bot.errors import SoraBotError

log = logging.getLogger(__name__)

MAX_PASTE_CHARS = 200_000
# Pastes above this size are diagnosed in a worker thread: the engine is linear, but a
# megabyte still takes tens of milliseconds that the event loop owes to other channels.
THREAD_DIAGNOSIS_CHARS = 16_384
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


@dataclass(frozen=True)
class Mark:
    """A line to show on the message a control was clicked on ("✋ Acknowledged by …").

    ``slot`` names the line so a second click replaces it instead of adding another;
    ``template`` holds ``{who}``, which the adapter fills with its own mention syntax."""

    slot: str
    template: str

    def line(self, who: str) -> str:
        return self.template.replace("{who}", who)


@dataclass(frozen=True)
class ActionOutcome:
    """What a click produced: a Reply for the person who clicked (or the channel, when it is
    not ephemeral), and/or a mark on the message that carried the control. ``credit`` is a
    line to add under a public Reply, with ``{who}`` for the adapter's mention."""

    reply: Reply | None = None
    mark: Mark | None = None
    credit: str | None = None

    def credit_line(self, who: str) -> str | None:
        return self.credit.replace("{who}", who) if self.credit else None


Handler = Callable[[Command], Awaitable[Reply]]


class Router:
    def __init__(self, services: ChatServices | None = None, *, now: Clock = utcnow) -> None:
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

    async def handle_command(self, text: str, channel: ChannelRef, caller: Caller = Caller(),
                             surface: Surface = CHANNEL) -> Reply:
        """An explicit command: ``/sora <sub> …`` or the text after it."""
        return await self.dispatch(parse_command(text, channel, caller, surface))

    async def dispatch(self, command: Command) -> Reply:
        """Run one command. The only place a command's failure is turned into words: a known
        problem (an unknown probe target, a bad setting) is its one line; anything else is a
        neutral line for the user and the traceback in the log."""
        handler = self._handlers.get(command.name, self._unknown)
        try:
            if spec_for(command.name).needs_rights(command.args) and not await command.caller.may_manage():
                return views.not_allowed_reply(command)
            return await handler(command)
        except SoraBotError as exc:
            log.info("command %s refused: %s", command.name, exc)
            return views.error_reply(str(exc))
        except Exception:
            log.exception("command %s failed", command.name)
            return views.error_reply(f"/sora {command.name} failed inside the bot; the operator "
                                     "can find the details in the log")

    async def handle_chat(self, text: str, channel: ChannelRef, caller: Caller = Caller(), *,
                          mentioned: bool = False, is_dm: bool = False,
                          surface: Surface = CHANNEL) -> Reply | None:
        """A chat message (mention already stripped by the adapter). Returns the Reply to post,
        or None when the bot should stay quiet.

        * a command (``/sora …`` anywhere; ``sora …`` or a bare subcommand when spoken to
          directly: a DM, the terminal, a mention) runs as a command;
        * an error paste is diagnosed, where paste detection is on or the bot was asked
          directly, and counted as a team error where counting is on;
        * anything else gets a short hint when the bot was spoken to directly, else nothing
          (and is never counted).
        """
        direct = mentioned or is_dm or surface.direct
        body = text.strip()
        if is_command_text(body, direct=direct):
            return await self.handle_command(body, channel, caller, surface)
        if not body:
            return None
        paste = looks_like_error(body[:MAX_PASTE_CHARS])
        try:
            settings = await self._paste_settings(channel) if paste else PasteSettings()
            if paste and (settings.detect or mentioned):
                diagnosis = await self._diagnose_text(body)
                if settings.count:
                    await self._record(diagnosis, channel)
                return views.diagnosis_reply(diagnosis, surface=surface)
        except Exception:
            log.exception("paste handling failed")
            return views.error_reply("this paste could not be diagnosed inside the bot; the "
                                     "operator can find the details in the log") if direct else None
        if not direct:
            return None
        return views.hint_reply(surface, paste_off=paste)

    async def handle_action(self, kind: ActionKind, value: str, channel: ChannelRef,
                            caller: Caller = Caller(), *, text: str | None = None,
                            surface: Surface = CHANNEL) -> ActionOutcome:
        """A click on a control declared by ``bot.commands.reply.Action``. ``text`` is what the
        person typed into the control's prompt, or the option they chose from its menu."""
        at = f"{self.now():%H:%M} UTC"
        if kind is ActionKind.ACK:
            try:
                incident_id = int(value)
            except ValueError:
                incident_id = 0
            if incident_id and self.services is not None:
                try:
                    await self.services.acknowledge(incident_id, channel, caller.user_id)
                except Exception:  # the mark still shows; the timeline entry is best effort
                    log.exception("acknowledging incident %s failed", incident_id)
            return ActionOutcome(mark=Mark("ack", f"✋ Acknowledged by {{who}} at {at}"))
        if kind is ActionKind.MUTE:
            # alerts posted by earlier versions carry "mute 1h" as the button's value
            duration = value.removeprefix("mute").strip() or "1h"
            reply = await self.dispatch(Command("mute", duration, channel, caller, surface))
            if reply.kind is ReplyKind.ERROR:
                return ActionOutcome(reply=reply)
            return ActionOutcome(mark=Mark("mute", f"🔕 {reply.title} by {{who}}"))
        if kind is ActionKind.SHARE:
            reply = await self.dispatch(Command("status", "public", channel, caller, surface))
            if reply.kind is ReplyKind.ERROR:
                return ActionOutcome(reply=reply)
            return ActionOutcome(reply=reply.without(ActionKind.SHARE), credit="Shared by {who}")
        if kind is ActionKind.NOTE:
            return ActionOutcome(reply=await self.handle_command(
                f"note {value} {text or ''}".strip(), channel, caller, surface))
        if kind is ActionKind.CORRECT:
            return ActionOutcome(reply=await self.handle_command(
                f"correct {value} {text or ''}".strip(), channel, caller, surface))
        return ActionOutcome(reply=views.error_reply("that control is no longer supported"))

    # Helpers --------------------------------------------------------------------------------

    async def _paste_settings(self, channel: ChannelRef) -> PasteSettings:
        if self.services is None:
            return PasteSettings(detect=True, count=False)
        return await self.services.paste_settings(channel)

    async def _record(self, diagnosis: Diagnosis, channel: ChannelRef) -> None:
        if self.services is not None:
            await self.services.record_paste(diagnosis, channel)

    async def _diagnose_text(self, text: str) -> Diagnosis:
        evidence = await self.services.fresh_evidence() if self.services is not None else None
        paste = text[:MAX_PASTE_CHARS]
        if len(paste) > THREAD_DIAGNOSIS_CHARS:
            return await asyncio.to_thread(diagnose, paste, evidence)
        return diagnose(paste, evidence)

    def _need_services(self) -> ChatServices:
        if self.services is None:
            raise SoraBotError("live status is not available in this mode")
        return self.services

    # Handlers -------------------------------------------------------------------------------

    async def _help(self, command: Command) -> Reply:
        words = command.args.strip().lower().split()
        if words[:1] == ["errors"]:
            return views.errors_reference_reply(words[1] if len(words) > 1 else None)
        return views.help_reply(surface=command.surface)

    async def _unknown(self, command: Command) -> Reply:
        word = command.args.split()[0] if command.args.split() else ""
        return views.help_reply(unknown=word, surface=command.surface)

    async def _diagnose(self, command: Command) -> Reply:
        paste = command.args.strip()
        if not paste:
            return views.usage_reply("diagnose <paste the error>",
                                     "Paste the error text, JSON body or exception line after the command.")
        diagnosis = await self._diagnose_text(paste)
        if (await self._paste_settings(command.channel)).count:
            await self._record(diagnosis, command.channel)
        return views.diagnosis_reply(diagnosis, surface=command.surface)

    async def _status(self, command: Command) -> Reply:
        services = self._need_services()
        public = spec_for("status").is_public(command.args, may_manage=False)
        report = await services.status_report()
        return views.status_reply(report, ephemeral=not public)

    async def _probe(self, command: Command) -> Reply:
        services = self._need_services()
        target = command.args.strip() or None
        results = await services.run_probes(target)
        return views.probe_reply(results)

    async def _subscribe(self, command: Command) -> Reply:
        services = self._need_services()
        kinds = (command.args.strip().lower() or "all")
        if kinds not in SUBSCRIPTION_KINDS:
            return views.usage_reply("subscribe [all|incidents|status]",
                                     f"`{kinds}` is not a subscription kind.")
        created = await services.subscribe(command.channel, kinds, command.caller.user_id)
        return views.subscription_reply(kinds, created, surface=command.surface)

    async def _unsubscribe(self, command: Command) -> Reply:
        removed = await self._need_services().unsubscribe(command.channel)
        return views.unsubscribed_reply(removed, surface=command.surface)

    async def _mute(self, command: Command) -> Reply:
        services = self._need_services()
        duration = parse_duration(command.args) if command.args.strip() else None
        if duration is None:
            return views.usage_reply("mute <duration>", "Give a duration such as `30m`, `1h` or `2d`.")
        if duration > MAX_MUTE:
            return views.usage_reply("mute <duration>", "A mute can last at most 30 days.")
        until = self.now() + duration
        await services.mute(command.channel, until, command.caller.user_id)
        return views.muted_reply(until, duration, surface=command.surface)

    async def _history(self, command: Command) -> Reply:
        return views.history_reply(await self._need_services().history(10))

    async def _paste(self, command: Command) -> Reply:
        """`paste on|off` (answer pasted errors here) and `paste counting on|off` (count them in
        the team's error rate)."""
        services = self._need_services()
        words = command.args.lower().split()
        usage = "paste [on|off] | paste counting [on|off]"
        if not words:
            return views.paste_settings_reply(await services.paste_settings(command.channel),
                                              changed=False, surface=command.surface)
        switch = {"on": True, "off": False}
        if len(words) == 1 and words[0] in switch:
            settings = await services.set_paste_settings(command.channel, detect=switch[words[0]])
        elif len(words) == 2 and words[0] in ("counting", "count") and words[1] in switch:
            settings = await services.set_paste_settings(command.channel, count=switch[words[1]])
        else:
            return views.usage_reply(usage, f"`{command.args.strip()}` is not a paste setting.")
        return views.paste_settings_reply(settings, changed=True, surface=command.surface)
