"""Two or more real ``sora-bot run`` replicas on PostgreSQL, each behind its own cut proxy, and
what the tests read from them: /healthz over HTTP, and the JSON log lines on their stderr.

Timing facts the tests rely on, all short so the suite stays fast: the lease lasts
``LEASE_S`` (renewed every third of it), every database call gives up after ``DB_TIMEOUT_S``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from tests.e2e.cut_proxy import CutProxy
from tests.e2e.helpers import BotProcess, free_port, wait_until

LEASE_S = 4.0
DB_TIMEOUT_S = 2.0
TOKEN = "replica-ingest-token-0123456789"


@dataclass
class Replica:
    name: str
    bot: BotProcess
    port: int
    proxy: CutProxy

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self, timeout: float = 5.0) -> tuple[int, dict[str, Any]] | None:
        try:
            r = httpx.get(f"{self.base}/healthz", timeout=timeout)
        except httpx.HTTPError:
            return None
        return r.status_code, r.json()

    def leader(self) -> bool | None:
        got = self.health()
        return None if got is None else bool(got[1]["scheduler"]["leader"])

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.bot.stderr_lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and "message" in entry:
                out.append(entry)
        return out


wait_for = wait_until  # the one cross-process poll (tests.e2e.helpers)


@contextmanager
def replicas(db_url: str, cwd: Any, n: int = 2) -> Iterator[list[Replica]]:
    parsed = make_url(db_url)
    started: list[Replica] = []
    try:
        for i in range(n):
            proxy = CutProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
            url = parsed.set(host="127.0.0.1", port=proxy.port,
                             query={**parsed.query, "application_name": f"replica{i}"})
            port = free_port()
            env = {"DATABASE_URL": url.render_as_string(hide_password=False),
                   "SORA_API_BASE_URL": "http://127.0.0.1:9/v1",
                   "SORA_STATUS_URL": "http://127.0.0.1:9", "PROBE_TIMEOUT": "1",
                   "PROBE_INTERVAL": "1", "STATUS_POLL_INTERVAL": "1",
                   "LEADER_LEASE": str(LEASE_S), "DB_TIMEOUT": str(DB_TIMEOUT_S),
                   "INGEST_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json",
                   "PORT": str(port)}
            started.append(Replica(f"replica{i}", BotProcess(env, cwd), port, proxy))
        yield started
    finally:
        for r in started:
            r.proxy.heal()
            if r.bot.proc.poll() is None:
                r.bot.proc.kill()
                r.bot.proc.wait(10)
            r.proxy.stop()


def one_leader(reps: list[Replica], timeout: float = 60) -> Replica:
    def settled() -> Replica | None:
        states = [r.leader() for r in reps]
        if None in states or states.count(True) != 1:
            return None
        return reps[states.index(True)]

    return wait_for(settled, timeout, "every replica up, exactly one leading")


@dataclass
class LeaderSampler:
    """Asks every replica's /healthz in a loop (one thread each) and keeps (time, leader)."""

    reps: list[Replica]
    samples: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> LeaderSampler:
        for r in self.reps:
            self.samples[r.name] = []
            t = threading.Thread(target=self._loop, args=(r,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _loop(self, r: Replica) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    body = client.get(f"{r.base}/healthz").json()
                except (httpx.HTTPError, ValueError):
                    continue
                self.samples[r.name].append((time.time(), bool(body["scheduler"]["leader"])))
                self._stop.wait(0.05)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def leading_spans(self, name: str) -> list[tuple[float, float]]:
        """Runs of consecutive leader=true answers, as (first, last) wall times."""
        spans: list[tuple[float, float]] = []
        start: float | None = None
        last = 0.0
        for at, leading in self.samples[name]:
            if leading and start is None:
                start = at
            if not leading and start is not None:
                spans.append((start, last))
                start = None
            last = at
        if start is not None:
            spans.append((start, last))
        return spans


def _ts(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()


def job_spans(rep: Replica) -> list[tuple[float, float, str]]:
    """(start, end, job) of every scheduler run the replica logged ("job X started/ended")."""
    open_runs: dict[str, float] = {}
    spans = []
    for entry in rep.logs():
        message = entry["message"]
        if not message.startswith("job "):
            continue
        words = message.split()
        if len(words) < 3:
            continue
        name, verb = words[1], words[2]
        if verb == "started":
            open_runs[name] = _ts(entry)
        elif verb == "ended" and name in open_runs:
            spans.append((open_runs.pop(name), _ts(entry), name))
    now = time.time()
    spans += [(start, now, name) for name, start in open_runs.items()]  # still running
    return spans


def overlaps(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[Any]:
    return [(x, y) for x in a for y in b if x[0] <= y[1] and y[0] <= x[1]]
