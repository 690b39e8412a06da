"""Engine set-up, Alembic wiring and one-line database errors.

Why a module of its own: every way into the database (``sora-bot run``, ``sora-bot db upgrade``,
tests, benchmarks) must get the same SQLite pragmas, the same PostgreSQL timeouts and the same
clear one-line failures, and Alembic must find its scripts from any working directory.

Every PostgreSQL call is bounded, whatever the network does (``timeout_s``, ``DB_TIMEOUT``):

* connecting: ``connect_timeout`` (psycopg enforces it for the whole handshake);
* a statement: the server's ``statement_timeout`` and ``idle_in_transaction_session_timeout``
  (set with ``SET`` on each new connection, so it passes a pgbouncer in session mode, which
  refuses the ``options`` start-up parameter);
* a network path that is silently cut (connections open, nothing forwarded): no server
  setting and no TCP keepalive fires, because the middlebox answers for the server. So the
  client bounds every wait itself (:class:`BoundedConnection`): past ``timeout_s`` + 1 s the
  connection is closed and the call raises, which frees the worker thread that made it.
  TCP keepalives and ``tcp_user_timeout`` cover a dead peer without a middlebox as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from bot.errors import StoreError

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 5
DEFAULT_TIMEOUT_S = 15.0  # DB_TIMEOUT: a statement, or a silent network, is cut past this
CLIENT_GRACE_S = 1.0  # the server's statement_timeout answers first when the network works
READ_ONLY = "sora_read_only"  # execution option: begin a deferred (read) transaction on SQLite


def alembic_config() -> Config:
    """An Alembic Config built in code, pointing at the migrations shipped in this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "bot/store/migrations has no revisions"
    return head


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by ***, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", str(url))


_NOISE = re.compile(r'^(connection failed: )?(connection to server at [^,]*, port \d+ failed: )?',
                    re.IGNORECASE)


def describe(exc: BaseException) -> str:
    """The driver's reason in a few words, e.g. 'connection refused' (one line, no traceback)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    line = lines[0] if lines else type(orig).__name__
    for candidate in lines:  # psycopg puts the useful part after "failed: " or "FATAL: "
        if "FATAL:" in candidate:
            line = candidate.split("FATAL:", 1)[1].strip()
            break
    line = _NOISE.sub("", line).strip()
    line = re.sub(r"\s*\(Background on this error at:.*$", "", line)
    if line[:1].isupper() and not line[1:2].isupper():
        line = line[0].lower() + line[1:]
    return line[:300] or type(orig).__name__


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit transactions are turned off; the "begin" hook below decides.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
    finally:
        cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front (BEGIN IMMEDIATE): a deferred transaction that reads and then
    # writes can fail with SQLITE_BUSY at once in WAL mode instead of waiting for busy_timeout.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait on the network ends within ``bound_s``.

    psycopg waits for the server in ``Connection.wait`` (execute, fetch, commit, rollback);
    this bounds each such wait. A wait that runs out leaves the protocol state unknown, so
    the connection is closed (SQLAlchemy then sees it as disconnected and discards it).
    """

    bound_s: float | None = DEFAULT_TIMEOUT_S + CLIENT_GRACE_S
    lifted = False  # see ``unbounded``

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        bound = timeout if timeout is not None or self.lifted else self.bound_s
        try:
            return super().wait(gen, interval=interval, timeout=bound)
        except psycopg.OperationalError as exc:
            if timeout is not None or type(exc).__name__ != "_WaitTimeout":
                raise
            self.pgconn.finish()  # mid-protocol: never reuse this connection
            raise psycopg.OperationalError(
                f"no answer from the database within {bound:g} s (connection closed)") from None


@contextmanager
def unbounded(conn: Connection) -> Iterator[None]:
    """Lift the client-side and server-side bounds for one transaction: a migration may
    legitimately run long (an index on a big table) or wait for another replica's."""
    dbapi = conn.connection.dbapi_connection
    if not isinstance(dbapi, BoundedConnection):
        yield
        return
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    dbapi.lifted = True
    try:
        yield
    finally:
        dbapi.lifted = False


def _pg_connect_hooks(timeout_s: float) -> tuple[Any, Any]:
    """``do_connect`` and ``connect`` listeners: bounded connections, server-side timeouts."""
    ms = max(1, round(timeout_s * 1000))

    def do_connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        conn = BoundedConnection.connect(*cargs, **cparams)
        conn.bound_s = timeout_s + CLIENT_GRACE_S
        return conn

    def on_connect(dbapi_conn: Any, record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {ms}")
                cur.execute(f"SET idle_in_transaction_session_timeout = {ms}")
        finally:
            dbapi_conn.autocommit = autocommit

    return do_connect, on_connect


def make_engine(url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, **kwargs: Any) -> Engine:
    """Create the Engine for DATABASE_URL; StoreError (one line) for a URL it cannot use.

    ``timeout_s`` bounds every PostgreSQL call (see the module docstring)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(f"DATABASE_URL: not a database URL: {mask_url(url)!r}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"DATABASE_URL: unsupported database {backend!r} in {mask_url(parsed)}; "
                         "use sqlite:///FILE or postgresql+psycopg://")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if backend == "sqlite":
        connect_args.setdefault("check_same_thread", False)
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            kwargs.setdefault("poolclass", StaticPool)
    else:
        if "connect_timeout" not in parsed.query:
            # libpq counts whole seconds, at least 2
            connect_args.setdefault("connect_timeout",
                                    max(2, min(PG_CONNECT_TIMEOUT_S, round(timeout_s))))
        for name, value in (("keepalives", 1), ("keepalives_idle", 5),
                            ("keepalives_interval", 2), ("keepalives_count", 3),
                            ("tcp_user_timeout", round((timeout_s + CLIENT_GRACE_S) * 1000))):
            if name not in parsed.query:
                connect_args.setdefault(name, value)
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError, SQLAlchemyError) as exc:
        raise StoreError(f"DATABASE_URL: cannot use {mask_url(parsed)}: {describe(exc)}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        do_connect, on_connect = _pg_connect_hooks(timeout_s)
        event.listen(engine, "do_connect", do_connect)
        event.listen(engine, "connect", on_connect)
    return engine


def connect_error(engine: Engine, exc: DBAPIError | SQLAlchemyError) -> StoreError:
    verb = "open" if engine.dialect.name == "sqlite" else "connect to"
    return StoreError(f"DATABASE_URL: cannot {verb} {mask_url(engine.url)}: {describe(exc)}")
