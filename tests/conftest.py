"""Fixtures shared by every test folder: a fake clock and a migrated Store on both databases.

``store`` runs a test on SQLite (a temp file) and on the PostgreSQL server at 127.0.0.1:5432;
the PostgreSQL run skips with the reason when no server answers there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import FakeClock
from bot.store import Store, open_store
from bot.store.testing import PostgresUnavailable, empty_store, temp_postgres_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """One throw-away database for the whole run (tables are emptied per test)."""
    try:
        with temp_postgres_url() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, clock) -> Iterator[Store]:
    if request.param == "sqlite":
        st = open_store(f"sqlite:///{tmp_path / 'sora-bot.db'}", now=clock)
        st.upgrade()
    else:
        st = empty_store(request.getfixturevalue("pg_session_url"), clock)
    yield st
    st.close()
