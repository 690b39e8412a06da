"""Ingest throughput: POST /v1/events of `sora-bot` against a bare uvicorn endpoint (a script).

    .venv/bin/python bench/ingest.py [--seconds 5] [--connections 50] [--db sqlite,postgresql]

Two servers, each in a process of its own, on the same embedded uvicorn (``bot.web.server``):

* bare:  a pure ASGI app that reads the body and answers 202 - the floor HTTP itself costs;
* sora:  ``build_web_app`` with a real Store (a SQLite file, or a fresh PostgreSQL database on
         127.0.0.1:5432): token check, size limits, parsing, diagnosis and redaction of every
         event, and its 202 only once the events are committed.

Load comes from a second process with many concurrent keep-alive connections: ``wrk`` when it
is installed (Debian: ``apt-get install -y wrk``), otherwise a plain asyncio HTTP/1.1 client
(one connection per worker; httpx itself tops out near 200 requests/s here, far below the
servers, so it would measure the client). The bodies are varied error texts (request ids differ), one event per
request ("single") and 100 events per request ("batch"). Both servers get the same load in
the same run, one after the other.

Prints events/s and p99 latency per server and the ratio sora/bare (target for single events:
>= 0.5; ``--strict`` exits 1 below it), plus, for sora, how many requests got a non-202 answer
and a check that every accepted event is in the database (lost = 0). PostgreSQL rows are
skipped, with the reason, when no server answers there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-ingest-token-0123456789abcdef"
BATCH = 100
VARIANTS = 64  # distinct bodies per kind, cycled (request ids, orgs and limits differ)


def _event_text(i: int) -> str:
    if i % 2:
        return json.dumps({"error": {"code": "invalid_request", "param": None,
                                     "message": f"Unable to process request req_{i:012x}",
                                     "type": "invalid_request_error"}})
    return (f"openai.RateLimitError: Error code: 429 - {{'error': {{'message': 'Rate limit "
            f"reached for sora-2 in organization org-{i:06d} on requests per min (RPM): "
            f"Limit {5 + i % 7}, Used {5 + i % 7}, Requested 1.', 'type': 'requests', "
            f"'param': None, 'code': 'rate_limit_exceeded'}}}}")


def bodies(kind: str) -> list[str]:
    if kind == "single":
        return [json.dumps({"error": _event_text(i), "target": "openai"})
                for i in range(VARIANTS)]
    return [json.dumps({"events": [{"error": _event_text(v * BATCH + j), "target": "openai"}
                                   for j in range(BATCH)]}) for v in range(VARIANTS // 8)]


# -- the servers (run as `bench/ingest.py serve ...` in a process of their own) ----------------

async def _bare_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"accepted":1}'
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _serve(which: str, db_url: str, port_file: str) -> None:
    from bot.web.server import WebServer

    app = _bare_app
    if which == "sora":
        from bot.config import load_settings
        from bot.store import open_store
        from bot.web import Metrics, build_web_app

        class Health:
            def scheduler_alive(self) -> bool:
                return True

            def is_leader(self) -> bool:
                return True

        store = open_store(db_url)
        store.upgrade()
        settings = load_settings(env_file=None, DATABASE_URL=db_url, INGEST_TOKEN=TOKEN,
                                 INGEST_MAX_BYTES=1024 * 1024)
        app = build_web_app(store=store, settings=settings, health=Health(), metrics=Metrics())
    server = WebServer(app, host="127.0.0.1", port=0)
    port = await server.start()
    Path(port_file + ".tmp").write_text(str(port))
    os.replace(port_file + ".tmp", port_file)
    await server.wait()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_server(which: str, db_url: str, workdir: Path) -> Server:
    port_file = workdir / f"{which}.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, __file__, "serve", which, db_url, str(port_file)],
                            cwd=workdir, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the {which} server did not start")
        time.sleep(0.05)
    return Server(proc, int(port_file.read_text()))


# -- the load (a second process: wrk, or the httpx client below) -----------------------------

@dataclass
class Load:
    requests: int
    non_202: int
    seconds: float
    p99_ms: float

    def per_s(self, events_per_request: int) -> float:
        return (self.requests - self.non_202) * events_per_request / self.seconds


_LUA = """
local bodies = {}
local n = 0
local i = 0
local f = io.open(os.getenv("BENCH_BODIES"), "r")
for line in f:lines() do n = n + 1; bodies[n] = line end
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer @TOKEN@"
request = function()
  i = i % n + 1
  return wrk.format(nil, "/v1/events", nil, bodies[i])
end
""".replace("@TOKEN@", TOKEN)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(port: int, body_file: Path, seconds: float, connections: int) -> Load:
    script = body_file.with_suffix(".lua")
    script.write_text(_LUA)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/v1/events"],
        env={**os.environ, "BENCH_BODIES": str(body_file)}, capture_output=True, text=True,
        timeout=seconds + 60, check=True).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    assert total and p99, out
    # wrk counts 2xx other than 202 as fine; the server answers nothing but 202 on success.
    non_202 = int(bad.group(1)) if bad else 0
    if errors:
        non_202 += sum(int(g) for g in errors.groups())
    return Load(int(total.group(1)), non_202, _ms(total.group(2), total.group(3)) / 1000,
                _ms(p99.group(1), p99.group(2)))


async def _asyncio_load(port: int, body_file: Path, seconds: float, connections: int) -> Load:
    """Keep-alive HTTP/1.1 over plain asyncio streams, one connection per worker (a client
    far lighter than httpx, so the server and not the client sets the pace)."""
    payloads = [line.encode() for line in body_file.read_text().splitlines()]
    head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n")
    latencies: list[float] = []
    non_202 = 0
    end = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal non_202
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        try:
            while time.perf_counter() < end:
                body = payloads[i % len(payloads)]
                started = time.perf_counter()
                writer.write((head % len(body)).encode() + body)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                non_202 += status != 202
                i += connections
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    took = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return Load(len(latencies), non_202, took, p99)


def run_load(tool: str, port: int, body_file: Path, seconds: float, connections: int) -> Load:
    if tool == "wrk":
        return run_wrk(port, body_file, seconds, connections)
    out = subprocess.run([sys.executable, __file__, "load", str(port), str(body_file),
                          str(seconds), str(connections)], capture_output=True, text=True,
                         timeout=seconds + 120, check=True).stdout
    return Load(**json.loads(out))


# -- the comparison ----------------------------------------------------------------------------

def count_rows(db_url: str) -> int:
    from sqlalchemy import func, select

    from bot.store import ErrorEvent, open_store

    store = open_store(db_url)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ErrorEvent)).scalar() or 0)
    finally:
        store.close()


def clear_rows(db_url: str) -> None:
    from sqlalchemy import delete

    from bot.store import ErrorEvent, open_store

    store = open_store(db_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(delete(ErrorEvent))
    finally:
        store.close()


def compare(db_name: str, db_url: str, tool: str, seconds: float, connections: int,
            workdir: Path) -> list[tuple[str, float]]:
    results = []
    bare = start_server("bare", db_url, workdir)
    sora = start_server("sora", db_url, workdir)
    try:
        for kind, per_request in (("single", 1), ("batch", BATCH)):
            body_file = workdir / f"{kind}.jsonl"
            body_file.write_text("\n".join(bodies(kind)) + "\n")
            clear_rows(db_url)
            base = run_load(tool, bare.port, body_file, seconds, connections)
            ours = run_load(tool, sora.port, body_file, seconds, connections)
            accepted = (ours.requests - ours.non_202) * per_request
            rows = count_rows(db_url)
            lost = max(0, accepted - rows)
            ratio = ours.per_s(per_request) / base.per_s(per_request)
            results.append((f"{db_name} {kind}", ratio))
            print(f"{db_name:10} {kind:6}  bare {base.per_s(per_request):9.0f} events/s "
                  f"(p99 {base.p99_ms:7.1f} ms)   sora {ours.per_s(per_request):9.0f} events/s "
                  f"(p99 {ours.p99_ms:7.1f} ms)   ratio {ratio:5.2f}x   "
                  f"non-202 {ours.non_202}, lost {lost}", flush=True)
    finally:
        bare.stop()
        sora.stop()
    return results


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        asyncio.run(_serve(sys.argv[2], sys.argv[3], sys.argv[4]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        port, body_file, seconds, connections = sys.argv[2:6]
        load = asyncio.run(_asyncio_load(int(port), Path(body_file), float(seconds),
                                       int(connections)))
        print(json.dumps(load.__dict__))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--tool", choices=["auto", "wrk", "asyncio"], default="auto")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when the single-event ratio is below the 0.5x target")
    args = parser.parse_args()
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "asyncio"
    if tool == "wrk" and not shutil.which("wrk"):
        print("skipped: wrk is not installed (apt-get install -y wrk), or use --tool asyncio")
        return 0
    print(f"load: {tool}, {args.connections} connections, {args.seconds:g} s per run; "
          f"single = 1 event per request, batch = {BATCH}")
    results: list[tuple[str, float]] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for db_name in args.db.split(","):
            if db_name == "sqlite":
                url = f"sqlite:///{workdir / 'bench.db'}"
            else:
                from bot.store.testing import PostgresUnavailable, temp_postgres_url

                try:
                    url = stack.enter_context(temp_postgres_url(prefix="sora_bench"))
                except PostgresUnavailable as exc:
                    print(f"{db_name}: skipped: {exc}")
                    continue
            results += compare(db_name, url, tool, args.seconds, args.connections, workdir)
    single = [r for name, r in results if name.endswith("single")]
    ok = all(r >= 0.5 for r in single)
    print(f"single-event ratio target >= 0.5x: {'OK' if ok else 'BELOW TARGET'}")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
