"""Benchmark: `/sora status` through the real Slack app vs a bare bolt app (a script, not a test).

    .venv/bin/python bench/slack_latency.py [--rounds 1000] [--command status]

Both apps are real slack-bolt AsyncApps served by the bot's own embedded uvicorn on loopback,
receiving real signed slash-command requests over HTTP (keep-alive httpx client), in the same
process and run, requests interleaved one by one so drift hits both alike:

* bare:  an app whose `/sora` listener only does ``await ack("ok")``;
* sora:  ``build_slack_app(Router(CoreServices(...)))``: parse, the status report from stored
         state (a SQLite store filled with an hour of probes, page snapshots and team errors),
         the neutral renderer, Block Kit rendering with redaction, and the ack with the blocks.

The Web API is the loopback fake (only auth.test is called, once per app). Prints p50, p99 and
mean per app and the p99 ratio sora/bare. Target: p99 ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from adapters.slack.app import build_slack_app, slack_routes  # noqa: E402
from adapters.slack.client import make_web_client  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.commands.router import Router  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.service import CoreServices  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.web.server import WebServer  # noqa: E402
from tests.slack.fake_slack import FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"


def fill(store) -> None:
    """An hour of stored evidence: what the scheduler keeps fresh in a running bot."""
    now = utcnow()
    probes, events = [], []
    for m in range(60, 0, -1):
        at = now - timedelta(minutes=m)
        for target in ("openai", "relay"):
            for kind in ("reachability", "auth", "videos"):
                ok = m % 17 != 0
                probes.append(dict(target=target, kind=kind, ok=ok, http_status=200 if ok else 503,
                                   latency_ms=110.0 + m, category=None if ok else "server",
                                   error_code=None, request_id=f"req_{m}", detail=None, at=at))
        events.append(dict(at=at, source="ingest", target="openai",
                           category=("rate_limit", "server", "bad_request")[m % 3],
                           fingerprint=f"fp_{m % 5}", http_status=429, error_code=None,
                           channel_key=None, redacted="Error code: 429"))
        store.add_status_snapshot(url="https://status.example/proxy/x", ok=True, format="incidentio",
                                  indicator="operational",
                                  components=[{"name": "Sora", "status": "operational"},
                                              {"name": "Video generation", "status": "operational"}],
                                  incidents=[], fetched_at=at)
    store.add_probe_results(probes)
    store.add_error_events(events)


def slash_body(text: str, seq: int, response_url: str) -> str:
    return urllib.parse.urlencode({
        "team_id": "T111", "channel_id": "C111", "user_id": "U222", "user_name": "u",
        "command": "/sora", "text": text, "response_url": response_url,
        "trigger_id": f"{seq}.1.x", "api_app_id": "A111"})


async def one(http: httpx.AsyncClient, url: str, body: str, verifier: SignatureVerifier) -> float:
    ts = str(int(time.time()))
    headers = {"content-type": "application/x-www-form-urlencoded",
               "x-slack-request-timestamp": ts,
               "x-slack-signature": verifier.generate_signature(timestamp=ts, body=body)}
    t0 = time.perf_counter()
    resp = await http.post(url, content=body, headers=headers)
    elapsed = time.perf_counter() - t0
    if resp.status_code != 200 or not resp.content:
        raise SystemExit(f"bad answer from {url}: HTTP {resp.status_code} {resp.text[:200]}")
    return elapsed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(rounds: int, command: str) -> int:
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store = open_store(url)
        store.upgrade()
        fill(store)
        settings = load_settings(env_file=None, DATABASE_URL=url,
                                 SORA_GATEWAYS="relay=https://relay.example/v1")
        services = CoreServices(settings, store)
        router = Router(services)

        sora_app = build_slack_app(router, bot_token=fake.bot_token, signing_secret=SECRET,
                                   api_url=fake.api_url)
        bare_app = AsyncApp(client=make_web_client(fake.bot_token, fake.api_url), signing_secret=SECRET)

        @bare_app.command("/sora")
        async def bare(ack) -> None:  # type: ignore[no-untyped-def]
            await ack("ok")

        servers = {name: WebServer(Starlette(routes=slack_routes(app)), host="127.0.0.1", port=0)
                   for name, app in (("bare", bare_app), ("sora", sora_app))}
        for server in servers.values():
            await server.start()
        verifier = SignatureVerifier(SECRET)
        times: dict[str, list[float]] = {"bare": [], "sora": []}
        core: list[float] = []  # the core's share: CoreServices.status_report() alone
        for _ in range(min(rounds, 300)):
            t0 = time.perf_counter()
            await services.status_report()
            core.append(time.perf_counter() - t0)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                for i in range(rounds + 50):
                    for name in (("bare", "sora") if i % 2 else ("sora", "bare")):
                        body = slash_body(command, i, fake.response_url(f"r{i}"))
                        elapsed = await one(http, servers[name].url + "/slack/events", body, verifier)
                        if i >= 50:  # warm-up: auth.test, imports, connection set-up
                            times[name].append(elapsed)
        finally:
            for server in servers.values():
                await server.stop()
            store.close()
            await fake.close()
    if fake.responses():
        print(f"note: {len(fake.responses())} answers went through response_url (over the inline budget)")
    print(f"/sora {command}: {rounds} requests per app, loopback HTTP, real signed requests")
    print(f"{'app':6} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, values in times.items():
        print(f"{name:6} {pct(values, 50) * 1000:8.2f} {pct(values, 99) * 1000:8.2f} "
              f"{statistics.fmean(values) * 1000:8.2f}")
    print(f"core   status_report() alone: p50 {pct(core, 50) * 1000:.2f} ms, "
          f"p99 {pct(core, 99) * 1000:.2f} ms (store reads on the event loop)")
    ratio = pct(times["sora"], 99) / pct(times["bare"], 99)
    p50_ratio = pct(times["sora"], 50) / pct(times["bare"], 50)
    verdict = "ok" if ratio <= 1.3 else "OVER TARGET"
    print(f"p99 ratio sora/bare = {ratio:.2f} (target <= 1.3: {verdict}); p50 ratio = {p50_ratio:.2f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--command", default="status", help="the /sora text to send (default: status)")
    args = ap.parse_args()
    return asyncio.run(run(args.rounds, args.command))


if __name__ == "__main__":
    raise SystemExit(main())
