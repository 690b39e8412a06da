"""Group commit: concurrent ingest requests share transactions, each gets its 202 only once its
events are committed, and a writer that falls behind answers 503 + Retry-After, never drops
(issue 12, ingest throughput)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import bot.web.group_commit as group_commit
from tests.web.conftest import Live


class CountingStore:
    """The real store, with its ingest writes counted and, on demand, held back."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.writes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def remember_ingest(self, events: Any) -> int:
        """The group commit's write: the stream and team memory, one transaction."""
        self.entered.set()
        assert self.gate.wait(30), "test never released the writer"
        self.writes.append(len(list(events)))
        return self._store.remember_ingest(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _event(i: int) -> str:
    return json.dumps({"error": f"openai.APIConnectionError: Connection error. req_{i}",
                       "target": "openai"})


async def _post(live: Live, i: int) -> Any:
    return await live.client.post("/v1/events", content=_event(i),
                                  headers={**live.auth(), "Content-Type": "application/json"})


async def _until(cond: Any, what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _writer(live: Live) -> group_commit.GroupCommit:
    return live.server.server.config.app.state.ingest_writer  # type: ignore[no-any-return]


async def test_concurrent_requests_share_transactions(start_app: Any, store: Any) -> None:
    counting = CountingStore(store)
    live = await start_app(app_store=counting)
    writer = _writer(live)
    counting.gate.clear()  # hold the first transaction so the others queue up behind it
    first = asyncio.create_task(_post(live, 0))
    await asyncio.to_thread(counting.entered.wait, 10)
    rest = [asyncio.create_task(_post(live, i)) for i in range(1, 40)]
    await _until(lambda: writer.queued == 40, "39 requests queued behind the first")
    assert not any(t.done() for t in [first, *rest])  # nobody has an answer before its commit
    counting.gate.set()
    answers = await asyncio.gather(first, *rest)
    assert [r.status_code for r in answers] == [202] * 40
    assert sum(counting.writes) == 40 and len(live.rows()) == 40
    assert counting.writes == [1, 39]  # the first alone, then everyone who queued behind it


async def test_a_writer_that_falls_behind_answers_503_and_drops_nothing(
        start_app: Any, store: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(group_commit, "MAX_QUEUED_EVENTS", 5)
    counting = CountingStore(store)
    live = await start_app(app_store=counting)
    counting.gate.clear()
    tasks = [asyncio.create_task(_post(live, i)) for i in range(20)]
    # While the writer is held, 5 events wait (1 in its transaction, 4 queued) and the other
    # 15 requests are refused at once.
    await _until(lambda: sum(t.done() for t in tasks) == 15, "15 refusals")
    refused = [t.result() for t in tasks if t.done()]
    assert {r.status_code for r in refused} == {503}
    for r in refused:
        assert r.headers["retry-after"] == "1"
        assert r.json() == {"error": "ingest is falling behind; retry shortly"}
    counting.gate.set()
    results = await asyncio.gather(*tasks)
    assert [r.status_code for r in results].count(202) == 5
    assert len(live.rows()) == 5  # every 202 is stored, nothing else
    metrics = (await live.client.get("/metrics")).text
    assert 'sora_bot_ingest_refused_total{reason="overloaded"} 15.0' in metrics


async def test_one_transaction_carrying_two_teams_keeps_each_teams_memory(start_app: Any,
                                                                          store: Any) -> None:
    """Requests for different teams may share a group commit; each event still lands in its
    own team's memory (one team never sees another's)."""
    counting = CountingStore(store)
    live = await start_app(app_store=counting)
    counting.gate.clear()
    first = asyncio.create_task(_post(live, 0))
    await asyncio.to_thread(counting.entered.wait, 10)

    async def post_for(team: str, i: int) -> Any:
        return await live.client.post(f"/v1/events?team={team}", content=_event(i),
                                      headers={**live.auth(), "Content-Type": "application/json"})

    rest = [asyncio.create_task(post_for("slack:TA", i)) for i in range(1, 4)]
    rest += [asyncio.create_task(post_for("slack:TB", i)) for i in range(4, 6)]
    await _until(lambda: _writer(live).queued == 6, "both teams' requests queued together")
    counting.gate.set()
    assert [r.status_code for r in await asyncio.gather(first, *rest)] == [202] * 6
    assert counting.writes == [1, 5]  # the two teams' events shared one transaction
    from bot.memory.buckets import WINDOWS

    top_a, top_b = store.top("slack:TA", WINDOWS["1h"]), store.top("slack:TB", WINDOWS["1h"])
    assert top_a.total == 3 and top_b.total == 2
