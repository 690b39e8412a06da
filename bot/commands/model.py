"""Platform-neutral command input: what an adapter hands the router.

An adapter translates a platform event into three things: where it came from
(``ChannelRef``), who sent it (``Caller``) and what kind of surface it is (``Surface``). The
router decides everything else (``bot.commands.chat``: command, paste, hint or nothing).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.commands.specs import COMMANDS
from bot.diagnosis.detect import looks_like_error

SUBCOMMANDS: tuple[str, ...] = tuple(COMMANDS)
SUBSCRIPTION_KINDS: tuple[str, ...] = ("all", "incidents", "status")

RightsCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class ChannelRef:
    """Where a command came from / where notices go. ``workspace`` is the Slack team id,
    the Discord guild id, or ``local`` for the shell; data is keyed by all three.

    ``private``: a one-to-one conversation outside any team (a Discord DM, whose workspace is
    shared by every DM): its team memory is its own (``bot.memory.team_of``)."""

    platform: str
    workspace: str
    channel: str
    private: bool = False

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}"


@dataclass(frozen=True)
class Caller:
    """Who typed the command.

    Rights default to *no*. An adapter that knows the answer cheaply sets ``can_manage``
    (Discord computes member permissions per interaction; the terminal's user owns it); one
    whose check costs API calls (Slack: channel membership, admin lists) passes ``rights``,
    which the router awaits only for a command whose spec needs it.
    """

    user_id: str | None = None
    display: str | None = None
    can_manage: bool = False
    rights: RightsCheck | None = field(default=None, compare=False, repr=False)

    async def may_manage(self) -> bool:
        if self.can_manage:
            return True
        if self.rights is None:
            return False
        return await self.rights()


@dataclass(frozen=True)
class Surface:
    """What kind of place the conversation is in, so replies speak of it correctly.

    ``noun`` is how a reply names the place ("channel", "terminal"); ``threads`` says whether
    notices continue in a thread; ``direct`` is a one-to-one conversation (a DM, the terminal),
    where a bare ``status`` is a command and small talk gets a hint.
    """

    noun: str = "channel"
    threads: bool = True
    direct: bool = False


CHANNEL = Surface()
TERMINAL = Surface(noun="terminal", threads=False, direct=True)


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    channel: ChannelRef
    caller: Caller = Caller()
    surface: Surface = CHANNEL


_PREFIX = re.compile(r"^/?sora\b[:,]?", re.IGNORECASE)


def strip_prefix(text: str) -> tuple[str, bool]:
    """``/sora x`` or ``sora x`` (any case) → ``("x", True)``; other text is returned as is."""
    body = text.strip()
    m = _PREFIX.match(body)
    if m is None:
        return body, False
    return body[m.end():].lstrip(), True


def first_word(text: str) -> str:
    parts = text.split(None, 1)
    return parts[0].lower() if parts else ""


def parse_command(text: str, channel: ChannelRef, caller: Caller = Caller(),
                  surface: Surface = CHANNEL) -> Command:
    """Parse ``/sora <sub> <args>`` or ``<sub> <args>`` (Slack hands us the text after /sora).

    The subcommand is matched in any case. An empty text is ``help``; an unknown subcommand is
    ``unknown`` with the whole text in args, so the router can say what it did not understand.
    """
    body, _ = strip_prefix(text)
    name, _, args = body.partition(" ")
    if "\n" in name:  # "/sora diagnose\n{...}"
        name, _, rest = name.partition("\n")
        args = rest + (" " + args if args else "")
    lowered = name.lower()
    if lowered in COMMANDS:
        return Command(lowered, args.strip(), channel, caller, surface)
    if not body:
        return Command("help", "", channel, caller, surface)
    return Command("unknown", body, channel, caller, surface)


def is_command_text(text: str, *, direct: bool) -> bool:
    """Is this chat text meant as a command?

    ``/sora …`` always is. In a direct conversation (a DM, the terminal, or a message that
    mentions the bot: the caller passes ``direct=True``) so is ``sora …`` or a bare subcommand
    in any case (``status``, ``HELP``). In a channel, "sora is slow today" or "status is red"
    is people talking, not a command.
    """
    stripped = text.lstrip()
    if stripped[:5].lower() == "/sora" and (len(stripped) == 5 or not stripped[5].isalnum()):
        return True
    if not direct:
        return False
    body, prefixed = strip_prefix(stripped)
    if prefixed or not body:
        return True
    if first_word(body) not in COMMANDS:
        return False
    # "status 503 Service Unavailable …" is a pasted error that starts with a command's name
    return not looks_like_error(body)
