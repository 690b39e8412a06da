"""The Store: every query sora-bot makes, as methods named for what they do.

Sync SQLAlchemy by project decision: each method is one short transaction. Async code calls
it through a worker thread (``asyncio.to_thread``), never on the event loop: a database that
stalls then holds up the one call, bounded by ``DB_TIMEOUT``, not every chat and HTTP answer.
Objects returned are detached ORM rows (plain attribute bags); changing them writes nothing.
"""

from __future__ import annotations

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.clock import Clock, utcnow
from bot.errors import StoreError
from bot.store.channels import ChannelsMixin
from bot.store.db import (
    DEFAULT_TIMEOUT_S,
    alembic_config,
    connect_error,
    describe,
    head_revision,
    known_revisions,
    make_engine,
    mask_url,
    unbounded,
)
from bot.store.evidence import EvidenceMixin
from bot.store.incidents import IncidentsMixin
from bot.store.memory import MemoryMixin
from bot.store.outbox import OutboxMixin

MIGRATION_LOCK_KEY = 0x50_52_41_BD  # pg_advisory_xact_lock key: one replica migrates at a time


class Store(EvidenceMixin, IncidentsMixin, ChannelsMixin, OutboxMixin, MemoryMixin):
    """sora-bot's database. Build it with :func:`open_store`."""

    @property
    def url(self) -> str:
        """DATABASE_URL with the password masked."""
        return mask_url(self.engine.url)

    def describe_url(self) -> str:
        return self.url

    def ping(self) -> None:
        """Raise StoreError (one line) unless the database answers and can keep writes."""
        self.check_writable()
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (DBAPIError, SQLAlchemyError) as exc:
            raise connect_error(self.engine, exc) from exc

    # -- schema ---------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except (DBAPIError, SQLAlchemyError) as exc:
            raise connect_error(self.engine, exc) from exc

    @staticmethod
    def _refuse_newer(current: str | None) -> None:
        if current is not None and current not in known_revisions():
            raise StoreError(f"database schema {current} is newer than this sora-bot "
                             f"(head {head_revision()}); upgrade sora-bot")

    def check_schema(self) -> str:
        """Return the revision if the database is exactly at head; else StoreError saying why."""
        current = self.current_revision()
        self._refuse_newer(current)
        head = head_revision()
        if current is None:
            raise StoreError(f"database {self.url} has no sora-bot schema; "
                             "run `sora-bot db upgrade`")
        if current != head:
            raise StoreError(f"database schema {current} is older than this sora-bot "
                             f"(head {head}); run `sora-bot db upgrade`")
        return current

    def upgrade(self, revision: str = "head") -> str:
        """Migrate to ``revision`` (default head) and return the revision reached.

        Refuses a database at a newer schema than this code knows. On PostgreSQL an advisory
        lock makes replicas starting together migrate one after the other.
        """
        reached = self._migrate(lambda cfg: command.upgrade(cfg, revision))
        if reached is None:
            raise StoreError(f"database migration to {revision} left no schema revision")
        return reached

    def downgrade(self, revision: str = "base") -> str | None:
        """Migrate down to ``revision`` ('base' drops every sora-bot table). For tests/ops."""
        return self._migrate(lambda cfg: command.downgrade(cfg, revision))

    def _migrate(self, action) -> str | None:  # type: ignore[no-untyped-def]
        try:
            with self.engine.begin() as conn, unbounded(conn):
                self._lock_migrations(conn)
                self._refuse_newer(MigrationContext.configure(conn).get_current_revision())
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                action(cfg)
                return MigrationContext.configure(conn).get_current_revision()
        except StoreError:
            raise
        except (DBAPIError, SQLAlchemyError) as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                raise connect_error(self.engine, exc) from exc
            if isinstance(exc, DBAPIError) and "connect" in str(exc.orig).lower():
                raise connect_error(self.engine, exc) from exc
            raise StoreError(f"database migration failed: {describe(exc)}") from exc

    def _lock_migrations(self, conn: Connection) -> None:
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def open_store(url: str, *, now: Clock = utcnow, connect: bool = True,
               timeout_s: float = DEFAULT_TIMEOUT_S) -> Store:
    """Open DATABASE_URL. Raises StoreError with one clear line if it is bad or unreachable.

    ``timeout_s`` (``DB_TIMEOUT``) bounds every database call, even on a silently cut network.
    Does not migrate: call ``store.upgrade()`` (``sora-bot run`` / ``db upgrade``) or
    ``store.check_schema()``.
    """
    store = Store(make_engine(url, timeout_s=timeout_s), now=now)
    if connect:
        try:
            store.ping()
        except StoreError:
            store.close()
            raise
    return store
