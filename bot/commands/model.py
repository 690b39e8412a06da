"""Platform-neutral command input: what an adapter hands the router."""

from __future__ import annotations

from dataclasses import dataclass

SUBCOMMANDS: tuple[str, ...] = (
    "status", "diagnose", "probe", "subscribe", "unsubscribe", "mute", "history", "help",
    "paste",  # per-channel opt-out of paste detection / counting (beyond Contract 4's list)
)
SUBSCRIPTION_KINDS: tuple[str, ...] = ("all", "incidents", "status")


@dataclass(frozen=True)
class ChannelRef:
    """Where a command came from / where notices go. ``workspace`` is the Slack team id,
    the Discord guild id, or ``local`` for the shell; data is keyed by all three."""

    platform: str
    workspace: str
    channel: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}"


@dataclass(frozen=True)
class Caller:
    """Who typed the command. ``can_manage`` is decided by the adapter (Slack: channel member,
    admin or configured group) because only the platform knows; the router enforces it."""

    user_id: str | None = None
    display: str | None = None
    can_manage: bool = True


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    channel: ChannelRef
    caller: Caller = Caller()


def parse_command(text: str, channel: ChannelRef, caller: Caller = Caller()) -> Command:
    """Parse ``/sora <sub> <args>`` or ``<sub> <args>`` (Slack hands us the text after /sora).

    An empty text is ``help``; an unknown subcommand is ``unknown`` with the whole text in args,
    so the router can say what it did not understand and show the short help.
    """
    body = text.strip()
    if body.lower().startswith("/sora"):
        body = body[5:].lstrip()
    name, _, args = body.partition(" ")
    if "\n" in name:  # "/sora diagnose\n{...}"
        name, _, rest = name.partition("\n")
        args = rest + (" " + args if args else "")
    lowered = name.lower()
    if lowered in SUBCOMMANDS:
        return Command(lowered, args.strip(), channel, caller)
    return Command("unknown", body, channel, caller) if body else Command("help", "", channel, caller)
