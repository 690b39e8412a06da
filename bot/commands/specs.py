"""The command table: every ``/sora`` subcommand's rules, written once for every surface.

Why a table: the rules a chat platform needs *before* the answer exists — is it slow (ack or
defer first), does it need manage rights (ask the platform who the caller is), will the answer
be public (a deferral fixes its visibility), what does help say — used to live in each adapter,
twice, and the copies disagreed. Adapters now read them from here, and the router enforces
them, so a new command is one row and one handler.

Manage rights default to "no": a spec must say ``manage=True`` to be guarded, and a caller has
rights only when the adapter proved them (``Caller``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from bot.diagnosis.model import CATEGORIES


class Visibility(str, Enum):
    """Who sees the answer."""

    PRIVATE = "private"          # only the caller (Slack ephemeral, Discord ephemeral)
    ANNOUNCE = "announce"        # the channel, when a caller with rights changed something
    ON_REQUEST = "on_request"    # private unless the arguments ask for it (``status public``)


@dataclass(frozen=True)
class Option:
    """A typed argument, for surfaces that show options (Discord app commands)."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str                      # after ``/sora ``: "subscribe [all|incidents|status]"
    summary: str                    # one line for help and for Discord's command picker
    slow: bool = False              # may take seconds: acknowledge / defer at once
    working: str = "⏳ Working on it…"  # what the caller sees while a slow command runs
    manage: bool = False            # changes the channel's alerts: needs manage rights
    visibility: Visibility = Visibility.PRIVATE
    public_words: frozenset[str] = frozenset()  # ON_REQUEST: arguments that make it public
    options: tuple[Option, ...] = ()
    listed: bool = True             # shown in help (``unknown`` is not)
    needs_args_to_announce: bool = False  # ``paste`` alone only shows the settings

    def needs_rights(self, args: str) -> bool:
        """Does this invocation change something only a manager may change? (``paste`` alone
        only shows the channel's settings, so anyone may.)"""
        return self.manage and (bool(args.strip()) or not self.needs_args_to_announce)

    def is_public(self, args: str, *, may_manage: bool) -> bool:
        """Will the answer be posted for the channel to see? Known before the answer exists."""
        words = set(args.lower().split())
        if self.visibility is Visibility.ON_REQUEST:
            return bool(words & self.public_words)
        if self.visibility is Visibility.ANNOUNCE:
            return may_manage and (bool(words) or not self.needs_args_to_announce)
        return False


PUBLIC_WORDS = frozenset({"public", "share", "channel"})

_SPECS: tuple[CommandSpec, ...] = (
    # Not slow: in chat it answers from what the scheduler keeps fresh (a slow database is
    # covered by the adapters' inline budget).
    CommandSpec("status", "status [public]",
                "official status, live probes, team error rate and one verdict",
                visibility=Visibility.ON_REQUEST, public_words=PUBLIC_WORDS,
                options=(Option("public", "Post the answer in the channel instead of only to you"),)),
    CommandSpec("diagnose", "diagnose <paste>",
                "explain an error: category, retryable, causes, actions",
                options=(Option("paste", "The error text, JSON body or exception line", required=True),)),
    CommandSpec("probe", "probe [target]", "probe the API (and gateways) now",
                slow=True, working="⏳ Running probes…",
                options=(Option("target", "Only this target (e.g. openai or a gateway name)"),)),
    CommandSpec("subscribe", "subscribe [all|incidents|status]",
                "post incident notices to this channel", manage=True,
                visibility=Visibility.ANNOUNCE,
                options=(Option("kinds", "Which notices (default: all)",
                                choices=("all", "incidents", "status")),)),
    CommandSpec("unsubscribe", "unsubscribe", "stop incident notices here", manage=True,
                visibility=Visibility.ANNOUNCE),
    CommandSpec("mute", "mute <duration>", "silence notices here for a while, e.g. 30m, 2h",
                manage=True, visibility=Visibility.ANNOUNCE,
                options=(Option("duration", "How long, e.g. 30m, 2h, 1d (at most 30 days)",
                                required=True),)),
    CommandSpec("history", "history", "recent incidents"),
    CommandSpec("paste", "paste [on|off] | paste counting [on|off]",
                "answer pasted errors in this channel (counting on|off: count them)",
                manage=True, visibility=Visibility.ANNOUNCE, needs_args_to_announce=True,
                options=(Option("detection", "on: answer pasted errors here; off: only /sora diagnose",
                                choices=("on", "off")),
                         Option("counting", "on: count pasted errors in the team's error rate",
                                choices=("on", "off")))),
    # Team memory (Contract 5)
    CommandSpec("top", "top [1h|24h|7d]",
                "this team's most frequent error kinds: counts, first/last seen, sparkline",
                options=(Option("window", "How far back (default: 24h)",
                                choices=("1h", "24h", "7d")),)),
    CommandSpec("note", "note <fingerprint|last> [text]",
                "add the team's note to an error kind (what fixed it), or list its notes",
                options=(Option("fingerprint", "The kind's fingerprint (fp_…), or last",
                                required=True),
                         Option("text", "The note; leave it out to list the kind's notes"))),
    CommandSpec("correct", "correct <fingerprint|last> <category>",
                "correct an error kind's category for this team (managers or its paster)",
                options=(Option("fingerprint", "The kind's fingerprint (fp_…), or last",
                                required=True),
                         Option("category", "The category it really is", required=True,
                                choices=tuple(c for c in CATEGORIES if c != "unknown")))),
    CommandSpec("help", "help [errors [category]]", "this help, or the error quick reference",
                options=(Option("topic", "errors: each error type and code, what it means, what to do",
                                choices=("errors",)),)),
)

COMMANDS: MappingProxyType[str, CommandSpec] = MappingProxyType({s.name: s for s in _SPECS})
UNKNOWN = CommandSpec("unknown", "", "", listed=False)


def spec_for(name: str) -> CommandSpec:
    return COMMANDS.get(name, UNKNOWN)


@dataclass(frozen=True)
class HelpLine:
    usage: str
    summary: str


def help_lines() -> tuple[HelpLine, ...]:
    return tuple(HelpLine(f"/sora {s.usage}", s.summary) for s in _SPECS if s.listed)


__all__ = ["COMMANDS", "CommandSpec", "HelpLine", "Option", "PUBLIC_WORDS", "UNKNOWN",
           "Visibility", "help_lines", "spec_for"]
