"""The adapter contract: what a chat platform plugs into, and how the core finds them.

A chat platform (Slack, Discord, the terminal, a Mattermost someone adds next year) is an
``Adapter``: it says whether the settings enable it, and ``start`` turns the core's router
into a running connection, returning what the core needs back (``Started``): the sink that
delivers incident notices, HTTP routes to mount on the web app, a close function, and, where
the platform has them, a foreground loop (the terminal) and leader-only work (Discord sends
every event to every gateway session, so with several replicas only the scheduler's leader
holds one).

The core never imports an adapter (not even lazily): adapters are found through the
``sora_bot.adapters`` entry-point group, which each installed package declares in its
metadata. ``sora-bot run`` loops over the enabled ones; adding a platform is one folder plus
one entry-point line (docs/adding-a-platform.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol, runtime_checkable

from starlette.routing import BaseRoute

from bot.commands.model import ChannelRef, Surface
from bot.commands.router import Router
from bot.config import Settings
from bot.errors import ConfigError
from bot.notify.model import Sink

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sora_bot.adapters"

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class AdapterContext:
    """What the core hands an adapter at start."""

    settings: Settings
    router: Router
    # True when no other process shares this database (SQLite): work that must run on one
    # replica only may start right away; otherwise it waits for ``Started.leader``.
    single_process: bool
    # Where local files of the run belong (the terminal's notice log): the SQLite file's
    # folder, or the working directory.
    data_dir: str

    def env(self, name: str) -> str | None:
        """A variable of the adapter's own (environment first, then ``.env``)."""
        value = self.settings.environ().get(name)
        return value.strip() or None if value is not None else None


@dataclass
class Started:
    """A running adapter, as ``Adapter.start`` returns it."""

    sink: Sink | None = None                 # delivers notices for this platform
    routes: Sequence[BaseRoute] = ()         # mounted on the web app (Slack's /slack/events)
    close: Closer | None = None              # called once at shutdown, in reverse start order
    # The adapter's own loop in the foreground (the terminal chat): ``sora-bot run`` ends when
    # it returns (end of piped input, Ctrl-D).
    foreground: Callable[[], Awaitable[None]] | None = None
    # Channels that get notices without typing /sora subscribe (the terminal).
    subscribe: Sequence[tuple[ChannelRef, str]] = ()
    # Work for the scheduler's leader only: started when this replica is elected, closed with
    # the returned function when it loses the lead.
    leader: Callable[[], Awaitable[Closer]] | None = None
    notes: list[str] = field(default_factory=list)  # one-line facts for the start-up log


@runtime_checkable
class Adapter(Protocol):
    """One chat platform. ``name`` is the platform key of its channels and its sink."""

    name: str
    # Started only when no other adapter is enabled (the terminal chat is the embedded default).
    fallback: bool
    # The adapter talks on this terminal: the log goes to a file instead (when stdin is a tty).
    uses_terminal: bool
    surface: Surface

    def enabled(self, settings: Settings) -> bool: ...

    async def start(self, ctx: AdapterContext) -> Started: ...


def _load(ep: EntryPoint) -> Adapter:
    try:
        obj = ep.load()
    except Exception as exc:  # a broken plugin is a configuration problem: one line
        raise ConfigError(f"chat adapter {ep.name!r} ({ep.value}) could not be loaded: "
                          f"{type(exc).__name__}: {exc}") from None
    adapter = obj() if isinstance(obj, type) else obj
    if not isinstance(adapter, Adapter):
        raise ConfigError(f"chat adapter {ep.name!r} ({ep.value}) is not an Adapter "
                          "(needs name, fallback, uses_terminal, surface, enabled, start)")
    return adapter


def registered_adapters(group: str = ENTRY_POINT_GROUP) -> list[Adapter]:
    """Every adapter installed under the entry-point group, sorted by name."""
    found = sorted(entry_points(group=group), key=lambda ep: ep.name)
    if not found:
        raise ConfigError(f"no chat adapters are registered (entry-point group {group!r}); "
                          "install sora-bot with `pip install -e .` (make run does)")
    adapters = [_load(ep) for ep in found]
    names = [a.name for a in adapters]
    if len(set(names)) != len(names):
        raise ConfigError(f"two chat adapters claim the same platform name: {sorted(names)}")
    return adapters


def enabled_adapters(adapters: Sequence[Adapter], settings: Settings) -> list[Adapter]:
    """The adapters to start: every enabled one; the fallback ones only when no other is."""
    chosen = [a for a in adapters if not a.fallback and a.enabled(settings)]
    if chosen:
        return chosen
    return [a for a in adapters if a.fallback and a.enabled(settings)]


def surfaces(adapters: Sequence[Adapter]) -> Mapping[str, Surface]:
    return {a.name: a.surface for a in adapters}
