"""Helpers for tests and benchmarks that need a throw-away PostgreSQL database.

Shipped in the package (like errbot's test backend) so every test suite and bench/ script gets
the same behaviour: a uniquely named database on the server, dropped afterwards, or a clear
reason to skip when no server is there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.store.db import describe

PG_ADMIN_URL = os.environ.get("SORA_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class PostgresUnavailable(Exception):
    """No PostgreSQL server to test against; the message is the reason to skip."""


@contextmanager
def temp_postgres_url(admin_url: str = PG_ADMIN_URL, prefix: str = "sora_test") -> Iterator[str]:
    """Create a fresh database, yield its URL, drop it (even if the test failed)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        where = make_url(admin_url)
        raise PostgresUnavailable(f"PostgreSQL not reachable at {where.host}:{where.port}: "
                                  f"{describe(exc)}") from None
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_store(url: str, now: Any = None) -> Any:
    """A migrated Store on ``url`` with every table emptied (a database shared by many tests)."""
    from bot.clock import utcnow
    from bot.store import Base, open_store

    st = open_store(url, now=now or utcnow)
    st.upgrade()
    with st.engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return st
