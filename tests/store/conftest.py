"""Fixtures: a migrated Store on SQLite (a temp file) and on the PostgreSQL server.

The ``store`` fixture runs each test on both databases; PostgreSQL tests skip with the reason
when no server answers at 127.0.0.1:5432.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.clock import FakeClock
from bot.store import Base, Store, open_store
from bot.store.testing import PostgresUnavailable, temp_postgres_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    try:
        with temp_postgres_url() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new, empty database (for migration tests)."""
    try:
        with temp_postgres_url() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sora-bot.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, clock) -> Iterator[Store]:
    if request.param == "sqlite":
        st = open_store(f"sqlite:///{tmp_path / 'sora-bot.db'}", now=clock)
        st.upgrade()
    else:
        url = request.getfixturevalue("pg_session_url")
        st = open_store(url, now=clock)
        st.upgrade()
        with st.engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield st
    st.close()
