"""The Store's plumbing: sessions, short transactions, one-line errors, dialect helpers.

Split from the query methods so each area (evidence, incidents, outbox) reads on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, Table
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utcnow
from bot.errors import StoreError
from bot.store.db import READ_ONLY, connect_error, describe
from bot.store.models import PLATFORM_NAME


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

    @contextmanager
    def _tx(self, *, read_only: bool = False) -> Iterator[Session]:
        """One transaction; commits on success. Database failures become one-line StoreErrors."""
        maker = self._read_session if read_only else self._session
        with self._one_line_errors():
            with maker.begin() as session:
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
