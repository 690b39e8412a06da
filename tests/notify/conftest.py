"""Fixtures for delivery tests: a migrated Store (SQLite file and PostgreSQL), a fake clock,
and an in-memory fake sink that can be scripted to fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.clock import FakeClock
from bot.store import Base, Store, open_store
from bot.store.testing import PostgresUnavailable, temp_postgres_url

from fakesink import FakeSink


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    try:
        with temp_postgres_url(prefix="sora_notify") as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


def _pg_store(url: str, clock: FakeClock) -> Store:
    st = open_store(url, now=clock)
    st.upgrade()
    with st.engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return st


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, clock) -> Iterator[Store]:
    if request.param == "sqlite":
        st = open_store(f"sqlite:///{tmp_path / 'sora-bot.db'}", now=clock)
        st.upgrade()
    else:
        st = _pg_store(request.getfixturevalue("pg_session_url"), clock)
    yield st
    st.close()


@pytest.fixture
def pg_store(pg_session_url, clock) -> Iterator[Store]:
    st = _pg_store(pg_session_url, clock)
    yield st
    st.close()


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()
