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
from bot.evidence import apply_evidence
from bot.memory import CORRECTABLE, Recall, clean_fingerprint, parse_window, recategorize
from bot.memory.model import FINGERPRINT_RE

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
            "top": self._top,
            "note": self._note,
            "correct": self._correct,
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
                return await self._answer_paste(body, channel, caller, surface,
                                                record=settings.count)
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

    async def _answer_paste(self, text: str, channel: ChannelRef, caller: Caller,
                            surface: Surface, *, record: bool) -> Reply:
        """Diagnose a paste and answer with what the team knows about its kind.

        The diagnosis needs no database; then the live evidence and the team memory (which
        also counts the paste as a team error event when ``record``) are read side by side.
        A team correction re-explains the diagnosis before the evidence is applied, so the
        verdict and the re-ranked causes are those of the corrected category."""
        paste = text[:MAX_PASTE_CHARS]
        if len(paste) > THREAD_DIAGNOSIS_CHARS:
            diagnosis = await asyncio.to_thread(diagnose, paste)
        else:
            diagnosis = diagnose(paste)
        if self.services is None:
            return views.diagnosis_reply(diagnosis, surface=surface)
        evidence, recall = await asyncio.gather(
            self.services.fresh_evidence(), self._remember(diagnosis, channel, caller, record))
        if recall is not None and recall.correction is not None:
            diagnosis = recategorize(diagnosis, recall.correction.category)
        return views.diagnosis_reply(apply_evidence(diagnosis, evidence), surface=surface,
                                     recall=recall)

    async def _remember(self, diagnosis: Diagnosis, channel: ChannelRef, caller: Caller,
                        record: bool) -> Recall | None:
        """Team memory, best effort: if the database fails here the diagnosis still answers
        (without the team's lines), and the log says why."""
        assert self.services is not None
        try:
            return await self.services.remember(diagnosis, channel, caller.user_id, record=record)
        except Exception:
            log.exception("team memory failed for %s", diagnosis.fingerprint)
            return None

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
        record = (await self._paste_settings(command.channel)).count
        return await self._answer_paste(paste, command.channel, command.caller, command.surface,
                                        record=record)

    async def _status(self, command: Command) -> Reply:
        services = self._need_services()
        public = spec_for("status").is_public(command.args, may_manage=False)
        report, trend = await asyncio.gather(services.status_report(),
                                             services.trend(command.channel))
        return views.status_reply(report, ephemeral=not public, trend=trend)

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

    # Team memory ------------------------------------------------------------------------------

    async def _kind(self, command: Command, ref: str, usage: str) -> str | Reply:
        """``last`` or a fingerprint as typed → the fingerprint, or the Reply saying why not."""
        if ref.lower() == "last":
            found = await self._need_services().last_kind(command.channel, command.caller.user_id)
            if found is None:
                return views.error_reply("No error kind remembered in this team yet: paste one "
                                         "first")
            return found
        fingerprint = clean_fingerprint(ref)
        if not FINGERPRINT_RE.match(fingerprint):
            return views.usage_reply(usage, "Give the fingerprint shown under a diagnosis "
                                            "(fp_ and 16 hex digits), or last.")
        return fingerprint

    async def _top(self, command: Command) -> Reply:
        window = parse_window(command.args)
        if window is None:
            return views.usage_reply("top [1h|24h|7d]", "The window is 1h, 24h or 7d.")
        return views.top_reply(await self._need_services().top(command.channel, window))

    async def _note(self, command: Command) -> Reply:
        """``note <fp|last> <text>`` adds the team's note; ``note <fp|last>`` lists them."""
        services = self._need_services()
        usage = "note <fingerprint|last> [text]"
        parts = command.args.strip().split(None, 1)
        if not parts:
            return views.usage_reply(usage, "Name the error kind: its fingerprint, or last.")
        fingerprint = await self._kind(command, parts[0], usage)
        if isinstance(fingerprint, Reply):
            return fingerprint
        text = parts[1].strip() if len(parts) > 1 else ""
        if not text:
            listed = await services.notes(command.channel, fingerprint)
            if listed is None:
                return views.unknown_kind_reply(fingerprint)
            return views.notes_reply(fingerprint, *listed)
        note = await services.add_note(command.channel, fingerprint, text, command.caller)
        if note is None:
            return views.unknown_kind_reply(fingerprint)
        return views.note_added_reply(fingerprint, note)

    async def _correct(self, command: Command) -> Reply:
        """``correct <fp|last> <category>``: managers, or whoever pasted an error of the kind."""
        services = self._need_services()
        usage = "correct <fingerprint|last> <category>"
        parts = command.args.strip().split()
        if len(parts) != 2 or parts[1].lower() not in CORRECTABLE:
            return views.usage_reply(usage, "Give the kind and one of: " + ", ".join(CORRECTABLE)
                                     + ".")
        fingerprint = await self._kind(command, parts[0], usage)
        if isinstance(fingerprint, Reply):
            return fingerprint
        caller = command.caller
        if not (await services.is_author(command.channel, fingerprint, caller.user_id)
                or await caller.may_manage()):
            return views.error_reply(f"Not allowed: only people who may manage this "
                                     f"{command.surface.noun}, or who pasted an error of this "
                                     "kind, can correct it")
        correction = await services.correct(command.channel, fingerprint, parts[1].lower(), caller)
        if correction is None:
            return views.unknown_kind_reply(fingerprint)
        return views.corrected_reply(fingerprint, correction)
