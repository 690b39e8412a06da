"""The Store's plumbing: sessions, short transactions, one-line errors, dialect helpers.

Split from the query methods so each area (evidence, incidents, outbox) reads on its own.

Two guards run at the start of every write transaction:

* **the SQLite file is still the one opened.** Deleting ``sora-bot.db`` (and its -wal/-shm)
  while the bot runs does not stop SQLite: the open descriptors keep writing into a file no
  name points to any more, and the next start creates an empty database. So the file's
  device and inode are recorded when the first connection opens it; once the path is gone or
  names another file, writes raise StoreError (the web app answers 503 and /healthz fails)
  instead of being accepted and lost, and one line is logged.
* **the fence.** Scheduler jobs run under a :class:`Fence` (a context variable, which
  ``asyncio.to_thread`` carries into worker threads). A write made under a fence first checks
  the holder's own deadline and, on PostgreSQL, takes a share lock on the lease row with the
  fence's term in the same transaction, so a replica whose leadership ended can never commit
  a write after another replica took over (bot.scheduler.lease).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, Table, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utcnow
from bot.errors import StoreError
from bot.store.db import READ_ONLY, connect_error, describe
from bot.store.models import PLATFORM_NAME

log = logging.getLogger("bot.store")


class LeaseLost(StoreError):
    """A write under a fence whose leadership has ended; nothing was written."""


class DatabaseLost(StoreError):
    """The SQLite file was deleted or replaced under the running bot; writes are refused.

    ``short`` says it without the file's path (for HTTP answers to other apps)."""

    def __init__(self, message: str, short: str) -> None:
        super().__init__(message)
        self.short = short


@dataclass(frozen=True)
class Fence:
    """The leadership a write is made under.

    ``lease`` names the ``scheduler_lease`` row checked in the database (None: a lease that
    only this host can hold, such as SQLite's file lock); ``valid()`` is the holder's own
    view, true until its local deadline.
    """

    holder: str
    term: int
    lease: str | None
    valid: Callable[[], bool]


CURRENT_FENCE: ContextVar[Fence | None] = ContextVar("sora_bot_fence", default=None)

_FENCE_CHECK = text("SELECT term FROM scheduler_lease WHERE name = :name AND holder = :holder "
                    "AND term = :term AND expires_at > now() FOR SHARE")


class _FileWatch:
    """The identity (device, inode) of a SQLite database file, and whether it was lost."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None
        self.lost: DatabaseLost | None = None

    def opened(self, *_: object) -> None:
        """A connection opened the file: remember which file, the first time."""
        if self.identity is None:
            try:
                st = os.stat(self.path)
            except OSError:
                return
            self.identity = (st.st_dev, st.st_ino)

    def check(self) -> DatabaseLost | None:
        """None while the path still names the opened file; else why not (sticky)."""
        if self.lost is not None or self.identity is None:
            return self.lost
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            what = "was deleted"
        except OSError as exc:
            what = f"cannot be checked ({exc.strerror or type(exc).__name__})"
        else:
            if (st.st_dev, st.st_ino) == self.identity:
                return None
            what = "was replaced by another file"
        self.lost = DatabaseLost(
            f"the SQLite database file {self.path} {what} while sora-bot was running; writes "
            "are refused so nothing is silently lost: restore the file from a backup and "
            "restart sora-bot",
            short=f"the database file {what} while sora-bot was running; an operator must "
                  "restore it and restart sora-bot")
        log.error("%s", self.lost)
        return self.lost


def _sqlite_path(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


def check_value(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """Reject a value outside its table of allowed values (a typo fails loudly, at once)."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_platform(platform: str) -> str:
    """A platform name as adapters register them: lower-case letters, digits, underscores."""
    if not PLATFORM_NAME.match(platform):
        raise ValueError(f"platform must be a lower-case name such as 'slack'; got {platform!r}")
    return platform


def dialect_insert(dialect: str, table: type[Any] | Table) -> Any:
    """The dialect's INSERT (PostgreSQL or SQLite), which has on_conflict_do_nothing /
    on_conflict_do_update; for statements built once per dialect (``bot.store.memory``)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


class StoreBase:
    """Owns the Engine and hands out short transactions (one per public method)."""

    def __init__(self, engine: Engine, *, now: Clock = utcnow) -> None:
        self.engine = engine
        self.now = now
        self.dialect = engine.dialect.name
        self._session = sessionmaker(engine, expire_on_commit=False)
        self._read_engine = engine.execution_options(**{READ_ONLY: True})
        self._read_session = sessionmaker(self._read_engine, expire_on_commit=False)
        path = _sqlite_path(engine)
        self._file = _FileWatch(path) if path is not None else None
        if self._file is not None:
            event.listen(engine, "connect", self._file.opened)

    def check_writable(self) -> None:
        """Raise StoreError (one line) when writes could not be kept (the SQLite file is gone)."""
        lost = self._file.check() if self._file is not None else None
        if lost is not None:
            raise lost

    def _check_fence(self, session: Session, fence: Fence) -> None:
        if not fence.valid():
            raise LeaseLost(f"leadership (term {fence.term}) has ended; write refused")
        if fence.lease is not None and self.dialect == "postgresql":
            held = session.execute(_FENCE_CHECK, {"name": fence.lease, "holder": fence.holder,
                                                  "term": fence.term}).first()
            if held is None:
                raise LeaseLost(f"another replica leads now (term {fence.term} is over); "
                                "write refused")

    @contextmanager
    def _tx(self, *, read_only: bool = False) -> Iterator[Session]:
        """One transaction; commits on success. Database failures become one-line StoreErrors.

        A write transaction first runs the guards of the module docstring."""
        if not read_only:
            self.check_writable()
        maker = self._read_session if read_only else self._session
        fence = None if read_only else CURRENT_FENCE.get()
        with self._one_line_errors():
            with maker.begin() as session:
                if fence is not None:
                    self._check_fence(session, fence)
                yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection for hot read paths (no ORM session), with the same one-line errors."""
        with self._one_line_errors():
            with self._read_engine.connect() as conn:
                yield conn

    @contextmanager
    def _one_line_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            if exc.connection_invalidated or "connect" in str(exc.orig).lower():
                raise connect_error(self.engine, exc) from exc
            raise StoreError(f"database error: {describe(exc)}") from exc
        except DBAPIError as exc:
            raise StoreError(f"database error: {describe(exc)}") from exc

    @staticmethod
    def _affected(s: Session, statement: Executable, params: Mapping[str, object] | None = None) -> int:
        """Run an UPDATE/DELETE and return how many rows it touched (compare-and-set checks)."""
        result = cast("CursorResult[Any]", s.execute(statement, params))
        return int(result.rowcount)

    def _insert(self, table: type[Any] | Table) -> Any:
        """The dialect's INSERT, which has on_conflict_do_nothing / on_conflict_do_update."""
        return dialect_insert(self.dialect, table)

    def close(self) -> None:
        self.engine.dispose()
