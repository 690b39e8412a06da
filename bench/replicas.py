"""Fan-out across replicas: 1,000 notices delivered by 1, 2 and 4 delivery workers (a script).

    .venv/bin/python bench/replicas.py [--channels 1000] [--workers 1,2,4]

Each worker is a process of its own running the real ``DeliveryWorker`` (real pipeline, real
retry policy, real store) on one PostgreSQL database at 127.0.0.1:5432, as replicas do: rows
are claimed with ``FOR UPDATE SKIP LOCKED``, and a worker that dies mid-send is reconciled by
the others. The platform is a loopback HTTP server in a process of its own, rate limited like
Slack: 1 message per second per channel and ``--global-rate`` per second in all, answering
past either with 429 and a whole-second Retry-After; every call takes ``--latency-ms``. Each
worker sends at most ``--concurrency`` at a time, so one worker is bound by the round trips
and more workers help until the platform's own limit is the bound.

Prints, per worker count: time from "go" until the last notice was accepted, notices/s, the
ratio to one worker, the floor the limits allow, 429s, lost (= 0) and duplicates (= 0).
Skips, with the reason, when no PostgreSQL server answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# -- the platform: a rate-limited loopback HTTP API (run as `replicas.py platform ...`) --------

class Platform:
    def __init__(self, global_rate: int, latency_s: float) -> None:
        self.global_rate = global_rate
        self.latency_s = latency_s
        self.lock = threading.Lock()
        self.window: deque[float] = deque()
        self.last_in_channel: dict[str, float] = {}
        self.accepted: list[tuple[str, float]] = []
        self.by_key: dict[str, str] = {}
        self.rejected = 0

    def post(self, key: str, channel: str) -> tuple[int, dict[str, object], float | None]:
        time.sleep(self.latency_s)  # the round trip a real platform costs
        with self.lock:
            now = time.monotonic()
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            wait = None
            last = self.last_in_channel.get(channel)
            if last is not None and now - last < 1.0:
                wait = 1.0 - (now - last)
            elif len(self.window) >= self.global_rate:
                wait = 1.0 - (now - self.window[0])
            if wait is not None:
                self.rejected += 1
                return 429, {"ok": False, "error": "ratelimited"}, float(max(1, math.ceil(wait)))
            self.window.append(now)
            self.last_in_channel[channel] = now
            message_id = f"m{len(self.accepted) + 1}"
            self.accepted.append((key, time.time()))
            self.by_key.setdefault(key, message_id)
            return 200, {"ok": True, "id": message_id}, None


def serve_platform(port_file: str, global_rate: int, latency_s: float) -> None:
    platform = Platform(global_rate, latency_s)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return None

        def _answer(self, status: int, body: dict[str, object],
                    retry_after: float | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", str(int(retry_after)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            status, answer, retry = platform.post(body["key"], body["channel"])
            self._answer(status, answer, retry)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path == "/find":
                key = parse_qs(url.query)["key"][0]
                with platform.lock:
                    found = platform.by_key.get(key)
                self._answer(200, {"ok": True, "id": found})
                return
            with platform.lock:
                self._answer(200, {"accepted": platform.accepted,
                                   "rejected": platform.rejected})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file + ".tmp").write_text(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever(0.05)


# -- a delivery worker (run as `replicas.py worker ...`) --------------------------------------

async def run_worker(db_url: str, platform_url: str, worker_id: str, go_file: str,
                     concurrency: int) -> None:
    import httpx

    from bot.errors import SendError
    from bot.notify import Delivered, DeliveryWorker, OutboxRow
    from bot.store import open_store

    class HttpSink:
        channel_interval_s = 1.0

        def __init__(self, client: httpx.AsyncClient) -> None:
            self.client = client

        async def send(self, row: OutboxRow) -> Delivered:
            r = await self.client.post("/post", json={"key": row.dedupe_key,
                                                      "channel": row.channel})
            if r.status_code == 429:
                raise SendError("ratelimited", retryable=True, status=429,
                                retry_after=float(r.headers["Retry-After"]))
            if r.status_code != 200:
                raise SendError(f"HTTP {r.status_code}", retryable=True, status=r.status_code)
            return Delivered(str(r.json()["id"]))

        async def find_existing(self, row: OutboxRow) -> Delivered | None:
            r = await self.client.get("/find", params={"key": row.dedupe_key})
            found = r.json()["id"]
            return None if found is None else Delivered(str(found))

    store = open_store(db_url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=platform_url, timeout=10, limits=limits) as client:
        worker = DeliveryWorker(store, {"slack": HttpSink(client)}, worker_id=worker_id,
                                concurrency=concurrency)
        stop = asyncio.Event()

        async def until_done() -> None:
            while await asyncio.to_thread(store.outbox_pending_count):
                await asyncio.sleep(0.2)
            stop.set()

        Path(f"{go_file}.ready.{worker_id}").write_text("ready")
        while not os.path.exists(go_file):
            await asyncio.sleep(0.01)
        await asyncio.gather(worker.run(stop, idle_s=0.2), until_done())
    store.close()


# -- the comparison ---------------------------------------------------------------------------

def _wait_file(path: Path, proc: subprocess.Popen[bytes], what: str) -> str:
    deadline = time.monotonic() + 60
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.02)
    return path.read_text()


def scenario(workers: int, args: argparse.Namespace, workdir: Path) -> tuple[float, bool]:
    from bot.store.testing import empty_store, temp_postgres_url

    with temp_postgres_url(prefix="sora_replicas_bench") as url:
        store = empty_store(url)
        for i in range(args.channels):
            store.subscribe("slack", "T1", f"C{i:04d}", "all")
        store.open_incident("outage:openai", "outage", title="OpenAI API failing")
        rows = store.outbox_pending_count()
        store.close()

        port_file = workdir / f"platform{workers}.port"
        go_file = workdir / f"go{workers}"
        platform = subprocess.Popen([sys.executable, __file__, "platform", str(port_file),
                                     str(args.global_rate), str(args.latency_ms / 1000)])
        procs: list[subprocess.Popen[bytes]] = []
        try:
            platform_url = f"http://127.0.0.1:{_wait_file(port_file, platform, 'platform')}"
            procs = [subprocess.Popen([sys.executable, __file__, "worker", url, platform_url,
                                       f"w{k}", str(go_file), str(args.concurrency)])
                     for k in range(workers)]
            for k, p in enumerate(procs):  # every worker imported and connected: not measured
                _wait_file(Path(f"{go_file}.ready.w{k}"), p, f"worker {k}")
            started = time.time()
            go_file.write_text("go")
            for p in procs:
                if p.wait(600) != 0:
                    raise RuntimeError("a worker failed")
            import httpx

            stats = httpx.get(f"{platform_url}/stats", timeout=10).json()
        finally:
            for p in [*procs, platform]:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
    copies = Counter(key for key, _ in stats["accepted"])
    lost = rows - len(copies)
    duplicates = sum(n - 1 for n in copies.values())
    elapsed = max(at for _, at in stats["accepted"]) - started
    per_worker = args.concurrency / (args.latency_ms / 1000)
    floor = rows / min(args.global_rate, workers * per_worker)
    rate = rows / elapsed
    print(f"{workers} worker(s): {rows} notices in {elapsed:6.2f} s = {rate:6.1f}/s  "
          f"(floor {floor:5.2f} s: {elapsed / floor:4.2f}x)  429s {stats['rejected']}, "
          f"lost {lost}, duplicates {duplicates}", flush=True)
    return rate, lost == 0 and duplicates == 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "platform":
        serve_platform(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        asyncio.run(run_worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                               int(sys.argv[6])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--global-rate", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=5)
    args = parser.parse_args()
    from bot.store.testing import PostgresUnavailable, temp_postgres_url

    try:
        with temp_postgres_url(prefix="sora_replicas_probe"):
            pass
    except PostgresUnavailable as exc:
        print(f"skipped: {exc}")
        return 0
    print(f"platform: 1/s per channel, {args.global_rate}/s in all, {args.latency_ms:g} ms per "
          f"call; each worker sends {args.concurrency} at a time")
    results: list[tuple[int, float, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.workers.split(",")):
            rate, ok = scenario(n, args, Path(tmp))
            results.append((n, rate, ok))
    base = results[0][1]
    print("throughput ratio to 1 worker: " + ", ".join(
        f"{n} -> {rate / base:.2f}x" for n, rate, _ in results))
    ok = all(good for _, _, good in results)
    print("OK (lost 0, duplicates 0)" if ok else "FAILED: a notice was lost or duplicated")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
