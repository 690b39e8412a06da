"""Detection benchmark against the real thing: sora-bot vs Prometheus + blackbox_exporter + Alertmanager.

Both systems watch the SAME loopback fake Sora API (bot.fakes.FakeSoraAPI) at the same time, in
real processes, while the fake plays an outage: a real ``sora-bot run`` (shell adapter, no chat
tokens, a temp SQLite database, notices read from the channel it subscribes: the JSON lines its
shell sink writes, its stdout as a fallback) and a real Prometheus scraping a real
blackbox_exporter that probes the fake's API edge like sora-bot's reachability probe does
(``GET /v1/models`` without a key; the fast 401 is healthy), with the rule
``probe_success == 0`` (``for: 0m``, and a ``for: 2m`` row) sent to a real Alertmanager whose
webhook is a receiver in this script. Each notification (bot notice, Alertmanager webhook) is
one chat message and is timed.

Why scaled time: at real intervals (1 min scrape and probe, 5 min group_interval) one trial
takes an hour. Every interval of BOTH systems is divided by the same ``--speedup``: probe
and status-poll interval (env), the bot's monitor time constants (evaluation interval,
windows, confirmation re-probes, flapping window: every ``*_s`` field of its policies at
PROBE_INTERVAL=60 s, scaled in the bot process by a small bootstrap that wraps
``Policies.for_probe_interval``), scrape and evaluation interval, ``for:``, lookback delta,
alert resend delay, group_wait, group_interval and repeat_interval; the probe timeout and the
scrape timeout (the same for both) too, but not below 3/4 of the scaled interval.
Not scaled: the bot's 1 s outbox sweep (a retry sweep; every decision is delivered at once)
and the scheduler's probe jitter, which the bot derives from PROBE_INTERVAL itself (10%, at
most 5 s). Delays are printed scaled back to real seconds; timing noise of the processes
(milliseconds) is multiplied by the speedup too, so keep it at 60 or below.

Scenarios (real minutes after a healthy warm-up of 3 min plus a random phase of up to one
interval, so probe, scrape and evaluation phases differ from trial to trial): a 6 min outage
(503 at the edge), a single blip (one probe interval of 503), flapping (3 min bad, 3 min good,
four times), flapping then a 12 min outage starting 9 min after the last bad spell (the
outage's detection is what counts there), and own connectivity (API and status page on a
closed port from the start: every notice is a false one). Every scenario of a trial runs at
once on its own fakes and processes; trials run one after another. With the defaults
(3 trials, speedup 30) a run takes about 7 minutes. Nothing is installed here: where the binaries
are not on PATH the script says so and exits 0 (Debian: apt-get install prometheus
prometheus-alertmanager prometheus-blackbox-exporter).

Run: .venv/bin/python bench/real_stack.py [--trials N] [--speedup S] [--quick] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.fakes import FakeSoraAPI, FakeStatusPage  # noqa: E402 - after the path fix above

try:  # where the shell channel's notices are kept, beside the database
    from adapters.shell.adapter import NOTICES_LOG
except ImportError:  # pragma: no cover - renamed: the stdout headlines are read instead
    NOTICES_LOG = "sora-bot-notices.log"

BINARIES: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "blackbox": ("prometheus-blackbox-exporter", "blackbox_exporter"),
}
DEBIAN_PACKAGES = "prometheus prometheus-alertmanager prometheus-blackbox-exporter"

# Real-time settings, the same defaults for both systems (divided by --speedup at run time).
PROBE_INTERVAL = 60.0        # sora-bot PROBE_INTERVAL, Prometheus scrape_interval
EVAL_INTERVAL = 60.0         # Prometheus evaluation_interval (default 1m)
PROBE_TIMEOUT = 10.0         # sora-bot PROBE_TIMEOUT, Prometheus scrape_timeout (default 10s)
GROUP_WAIT = 30.0            # Alertmanager defaults
GROUP_INTERVAL = 300.0
REPEAT_INTERVAL = 4 * 3600.0
RESEND_DELAY = 60.0          # Prometheus --rules.alert.resend-delay default
LOOKBACK_DELTA = 300.0       # Prometheus --query.lookback-delta default
FOR_RULES = {"SoraEdgeDown": 0.0, "SoraEdgeDown2m": 120.0}  # alertname -> for:
MAIN_RULE = "SoraEdgeDown"
WARMUP = 180.0               # healthy history before t0, plus a random phase of one interval
TAIL = 720.0                 # after the last bad spell: Alertmanager resolves at group_interval
BENCH_KEY = "sk-bench-loopback-not-a-real-key"
SCALED_MARK = "bench: monitor time constants scaled"
MAX_SPEEDUP = 60.0            # PROBE_INTERVAL must stay >= 1 s (the bot's own bound)

# The bot process: `sora-bot run` (bot.cli main) with its policies' time constants scaled, so
# it behaves as at PROBE_INTERVAL=60 with a clock running --speedup times faster. The wrapper
# sizes policies for the real interval, then multiplies every `*_s` field (nested policies
# included) by the factor; it prints SCALED_MARK when the bot asks, so a bot that stops
# sizing its policies this way fails the bench loudly instead of running unscaled.
BOOTSTRAP = f"""
import dataclasses, os, sys
from collections.abc import Mapping
from types import MappingProxyType
f = float(os.environ["SORA_BENCH_TIME_FACTOR"])
from bot.monitor import policy as _p

def _scale(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {{}}
        for fl in dataclasses.fields(obj):
            if not fl.init:
                continue
            v = getattr(obj, fl.name)
            if fl.name.endswith("_s") and isinstance(v, (int, float)) and not isinstance(v, bool):
                changes[fl.name] = v * f
            elif dataclasses.is_dataclass(v) or isinstance(v, (Mapping, tuple)):
                changes[fl.name] = _scale(v)
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, Mapping):
        return MappingProxyType({{k: _scale(v) for k, v in obj.items()}})
    if isinstance(obj, tuple):
        return tuple(_scale(v) for v in obj)
    return obj

_orig = _p.Policies.for_probe_interval
def _for_probe_interval(self, probe_interval_s):
    scaled = _scale(_orig(self, probe_interval_s / f))
    print({SCALED_MARK!r}, file=sys.stderr, flush=True)
    return scaled
_p.Policies.for_probe_interval = _for_probe_interval
from bot.cli import main
sys.exit(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binaries() -> tuple[dict[str, str], list[str]]:
    found: dict[str, str] = {}
    missing: list[str] = []
    for role, names in BINARIES.items():
        path = next((p for p in (shutil.which(n) for n in names) if p), None)
        if path is None:
            missing.append(" or ".join(names))
        else:
            found[role] = path
    return found, missing


def dur(seconds: float) -> str:
    """A Prometheus/Alertmanager duration in whole milliseconds (both accept ``1500ms``)."""
    return f"{max(1, round(seconds * 1000))}ms"


# -- scenarios (real seconds after t0) ------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """``bad``: spans in which the fake's API edge answers 503. Detection is the first alerting
    notice in [measure start, detect_until); resolution the first resolved notice after the
    measured span ends. ``unreachable``: both targets point at a closed port from the start."""

    name: str
    bad: tuple[tuple[float, float], ...]
    horizon: float
    measure: tuple[float, float] | None = None  # default: first bad start .. last bad end
    detect_until: float | None = None           # default: the measured span's end
    unreachable: bool = False

    @property
    def span(self) -> tuple[float, float]:
        if self.measure is not None:
            return self.measure
        if not self.bad:
            return (0.0, self.horizon)
        return (self.bad[0][0], self.bad[-1][1])

    @property
    def detect_end(self) -> float:
        return self.detect_until if self.detect_until is not None else self.span[1]


def flapping(spell: float, cycles: int, start: float = 0.0) -> tuple[tuple[float, float], ...]:
    return tuple((start + 2 * i * spell, start + (2 * i + 1) * spell) for i in range(cycles))


def scenarios(flap_spell: float) -> list[Scenario]:
    flaps = flapping(flap_spell, 4)
    flap_end = flaps[-1][1]
    sustained = (flap_end + 3 * flap_spell, flap_end + 3 * flap_spell + 720.0)
    return [
        Scenario("outage 6 min", ((0.0, 360.0),), 360.0 + TAIL),
        Scenario("single blip (1 interval)", ((0.0, PROBE_INTERVAL),), PROBE_INTERVAL + TAIL,
                 detect_until=PROBE_INTERVAL + TAIL),
        Scenario(f"flapping {flap_spell / 60:g}/{flap_spell / 60:g} min x4", flaps,
                 flap_end + TAIL),
        Scenario("flapping, then outage 12 min", (*flaps, sustained), sustained[1] + TAIL,
                 measure=sustained),
        Scenario("own connectivity (all unreachable)", (), 600.0, unreachable=True),
    ]


# -- the webhook receiver (Alertmanager's notifications) ------------------------------------------

@dataclass
class Hook:
    at: float
    status: str
    alertname: str


class HookReceiver:
    """One loopback HTTP server; each run posts to ``/<run id>``; every POST is timed."""

    def __init__(self) -> None:
        self.records: dict[str, list[Hook]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    data = {}
                name = str((data.get("groupLabels") or {}).get("alertname")
                           or (data.get("commonLabels") or {}).get("alertname") or "?")
                with receiver.lock:
                    receiver.records.setdefault(self.path.strip("/"), []).append(
                        Hook(at, str(data.get("status", "?")), name))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def get(self, run_id: str) -> list[Hook]:
        with self.lock:
            return list(self.records.get(run_id, []))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- one scenario, one trial ------------------------------------------------------------------------

@dataclass
class Notice:
    at: float
    kind: str   # bot: opened/updated/flapping/status/resolved…; stack: firing/resolved
    label: str  # incident id (bot) or alertname (stack)


NOTICE_HEAD = re.compile(r"^\[([A-Z_]+)\] (.*)$")
HEAD_KIND = {"OPENED": "opened", "UPDATE": "updated", "RESOLVED": "resolved",
             "FLAPPING": "flapping", "STATUS": "status"}


@dataclass
class Outcome:
    """What each system said in one run; times are wall-clock seconds (time.time())."""

    t0: float
    bot: list[Notice] = field(default_factory=list)
    stack: dict[str, list[Notice]] = field(default_factory=dict)
    error: str | None = None


LIVE: set[Proc] = set()  # every child still running, stopped on the way out whatever happens
LIVE_LOCK = threading.Lock()


class Proc:
    """A child process with its output in a file (or, for the bot, read line by line)."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, pipe: bool = False) -> None:
        self.name = name
        self.log = log
        self._out: IO[str] = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.lines: list[tuple[float, str]] = []
        self.popen = subprocess.Popen(
            list(argv), env=env, cwd=cwd, text=True, bufsize=1,
            stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe else self._out, stderr=self._out)
        with LIVE_LOCK:
            LIVE.add(self)
        if pipe:
            threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        with LIVE_LOCK:
            if self not in LIVE:
                return
            LIVE.discard(self)
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._out.close()

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Run:
    """Fakes, the Prometheus stack and a sora-bot process for one scenario in one trial."""

    def __init__(self, scenario: Scenario, run_id: str, factor: float, bins: dict[str, str],
                 hooks: HookReceiver, rng: random.Random) -> None:
        self.sc = scenario
        self.run_id = run_id
        self.f = factor
        self.bins = bins
        self.hooks = hooks
        self.rng = rng
        self.tmp = Path(tempfile.mkdtemp(prefix="sora-bench-"))
        self.procs: list[Proc] = []
        self.api: FakeSoraAPI | None = None
        self.page: FakeStatusPage | None = None
        self.bot: Proc | None = None

    def s(self, real: float) -> float:
        return real * self.f

    @property
    def timeout(self) -> float:
        """Probe and scrape timeout, the same for both: scaled, but not below 3/4 of the
        interval. It bounds a loopback answer that takes milliseconds at any speedup; scaled
        to a third of a second it would turn CPU contention on a busy machine into failures."""
        return min(PROBE_TIMEOUT, max(self.s(PROBE_TIMEOUT), 0.75 * self.s(PROBE_INTERVAL)))

    # configuration files -----------------------------------------------------------------------

    def _write_configs(self, target: str, bb_port: int, am_port: int) -> None:
        f = self.s
        (self.tmp / "blackbox.yml").write_text(f"""\
modules:
  sora_edge:
    prober: http
    timeout: {dur(self.timeout)}
    http:
      method: GET
      preferred_ip_protocol: ip4
      valid_status_codes: [200, 401]   # the API edge's fast 401 without a key is healthy
""")
        rules = "\n".join(f"""\
      - alert: {name}
        expr: probe_success{{job="sora-edge"}} == 0
        for: {dur(f(for_s)) if for_s else '0s'}
        labels: {{severity: critical}}""" for name, for_s in FOR_RULES.items())
        (self.tmp / "rules.yml").write_text(f"groups:\n  - name: sora\n    rules:\n{rules}\n")
        (self.tmp / "prometheus.yml").write_text(f"""\
global:
  scrape_interval: {dur(f(PROBE_INTERVAL))}
  evaluation_interval: {dur(f(EVAL_INTERVAL))}
  scrape_timeout: {dur(self.timeout)}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]
scrape_configs:
  - job_name: sora-edge
    metrics_path: /probe
    params: {{module: [sora_edge]}}
    static_configs: [{{targets: ['{target}']}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: '127.0.0.1:{bb_port}'}}
""")
        (self.tmp / "alertmanager.yml").write_text(f"""\
route:
  receiver: hook
  group_by: [alertname]
  group_wait: {dur(f(GROUP_WAIT))}
  group_interval: {dur(f(GROUP_INTERVAL))}
  repeat_interval: {dur(f(REPEAT_INTERVAL))}
receivers:
  - name: hook
    webhook_configs:
      - url: 'http://127.0.0.1:{self.hooks.port}/{self.run_id}'
        send_resolved: true
""")

    # processes ---------------------------------------------------------------------------------

    def _start_stack(self, target: str) -> tuple[int, int, int]:
        bb, am, prom = free_port(), free_port(), free_port()
        self._write_configs(target, bb, am)
        t = self.tmp
        self.procs.append(Proc("blackbox", [
            self.bins["blackbox"], f"--config.file={t / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{bb}",
            f"--timeout-offset={max(0.001, self.s(0.5)):.3f}"], t / "blackbox.log"))
        (t / "am-data").mkdir()
        self.procs.append(Proc("alertmanager", [
            self.bins["alertmanager"], f"--config.file={t / 'alertmanager.yml'}",
            f"--storage.path={t / 'am-data'}", f"--web.listen-address=127.0.0.1:{am}",
            "--cluster.listen-address="], t / "alertmanager.log"))
        (t / "prom-data").mkdir()
        self.procs.append(Proc("prometheus", [
            self.bins["prometheus"], f"--config.file={t / 'prometheus.yml'}",
            f"--storage.tsdb.path={t / 'prom-data'}", f"--web.listen-address=127.0.0.1:{prom}",
            f"--rules.alert.resend-delay={dur(self.s(RESEND_DELAY))}",
            f"--query.lookback-delta={dur(self.s(LOOKBACK_DELTA))}"], t / "prometheus.log"))
        return bb, am, prom

    def _start_bot(self, api_url: str, page_url: str) -> int:
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "DISCORD_", "SORA_", "OPENAI_", "PROBE_", "STATUS_",
                                    "INGEST_", "DATABASE_", "HTTP_PROXY", "HTTPS_PROXY",
                                    "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"))}
        env.update({
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
            "SORA_BENCH_TIME_FACTOR": repr(self.f),
            "DATABASE_URL": f"sqlite:///{self.tmp / 'bot.db'}",
            "SORA_API_BASE_URL": api_url, "SORA_STATUS_URL": page_url,
            "OPENAI_API_KEY": BENCH_KEY,
            "PROBE_INTERVAL": repr(self.s(PROBE_INTERVAL)),
            "STATUS_POLL_INTERVAL": repr(max(1.0, self.s(PROBE_INTERVAL))),
            "PROBE_TIMEOUT": repr(self.timeout),
            "INGEST_TOKEN": "bench-ingest-token", "PORT": str(port), "HOST": "127.0.0.1",
            "NO_PROXY": "127.0.0.1,localhost", "LOG_LEVEL": "INFO", "LOG_FORMAT": "text",
        })
        self.bot = Proc("sora-bot", [sys.executable, "-c", BOOTSTRAP, "run"], self.tmp / "bot.log",
                        env=env, cwd=self.tmp, pipe=True)
        self.procs.append(self.bot)
        return port

    def _wait(self, what: str, cond: object, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited early:\n{p.tail()}")
            if callable(cond) and cond():
                return
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}")

    @staticmethod
    def _http_ok(url: str) -> bool:
        try:
            return httpx.get(url, timeout=1.0, trust_env=False).status_code < 500
        except httpx.HTTPError:
            return False

    def _probes_seen(self, bot: bool) -> int:
        assert self.api is not None
        return sum(1 for r in self.api.requests
                   if r.path.endswith("/models") and not r.has_bearer
                   and ("sora-bot" in (r.header("user-agent") or "")) == bot)

    # the run -----------------------------------------------------------------------------------

    def execute(self) -> Outcome:
        try:
            return self._execute()
        finally:
            self.stop()

    def _execute(self) -> Outcome:
        sc = self.sc
        if sc.unreachable:
            closed = free_port()
            api_url, page_url = f"http://127.0.0.1:{closed}/v1", f"http://127.0.0.1:{free_port()}"
        else:
            self.api = FakeSoraAPI()
            self.api.start()
            self.page = FakeStatusPage()
            self.page.start()
            api_url, page_url = self.api.base_url, self.page.base_url
        bb, am, prom = self._start_stack(api_url + "/models")
        bot_port = self._start_bot(api_url, page_url)
        self._wait("the stack", lambda: all(self._http_ok(u) for u in (
            f"http://127.0.0.1:{prom}/-/ready", f"http://127.0.0.1:{am}/-/ready",
            f"http://127.0.0.1:{bb}/-/healthy")))
        self._wait("sora-bot's web app", lambda: self._http_ok(f"http://127.0.0.1:{bot_port}/healthz"))
        if self.bot is None or SCALED_MARK not in self.bot.tail(400):
            raise RuntimeError("sora-bot did not size its policies through "
                               "Policies.for_probe_interval: its time constants would run "
                               "unscaled; update BOOTSTRAP in bench/real_stack.py")
        if not sc.unreachable:
            self._wait("two probe rounds from each system",
                       lambda: self._probes_seen(True) >= 2 and self._probes_seen(False) >= 2,
                       timeout=max(60.0, self.s(PROBE_INTERVAL) * 6))
        # Own connectivity starts at once: a machine without network has no healthy history.
        warmup = 0.0 if sc.unreachable else WARMUP + self.rng.uniform(0, PROBE_INTERVAL)
        t0 = time.time() + self.s(warmup)
        if self.api is not None and sc.bad:
            steps: list[tuple[float, str]] = []
            for start, end in sc.bad:
                steps += [(self.s(start), "overloaded"), (self.s(end), "ok")]
            self.api.set_scenario(steps, start=datetime.fromtimestamp(t0, UTC))
        end = t0 + self.s(sc.horizon)
        while time.time() < end:
            for p in self.procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited during the run:\n{p.tail()}")
            time.sleep(0.2)
        time.sleep(0.5)  # a notice being written at the horizon
        out = Outcome(t0=t0, bot=self._bot_notices())
        for h in self.hooks.get(self.run_id):
            out.stack.setdefault(h.alertname, []).append(Notice(h.at, h.status, h.alertname))
        return out

    def _bot_notices(self) -> list[Notice]:
        """The notices the bot's shell channel received: its sink's JSON lines when present
        (structured, timed by the bot), else the headlines on its stdout."""
        path = self.tmp / NOTICES_LOG
        found: list[Notice] = []
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                    at = datetime.fromisoformat(str(rec["at"]).replace("Z", "+00:00")).timestamp()
                except (ValueError, KeyError, TypeError):
                    continue
                head = " / ".join(str(rec.get("text") or "").split("\n")[:2])
                found.append(Notice(at, str(rec.get("notice") or "?"),
                                    f"#{rec.get('incident_id')} {head}"))
        if found or self.bot is None:
            return found
        for at, line in list(self.bot.lines):
            m = NOTICE_HEAD.match(line)
            if m:
                found.append(Notice(at, HEAD_KIND.get(m.group(1), m.group(1).lower()),
                                    m.group(2)))
        return found

    def stop(self) -> None:
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:  # noqa: BLE001 - stop the others
                pass
        for fake in (self.api, self.page):
            if fake is not None:
                fake.stop()
        if os.environ.get("SORA_BENCH_KEEP"):
            print(f"    kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# -- measurements -----------------------------------------------------------------------------------

@dataclass
class Row:
    detect: float | None   # real seconds from the measured span's start, None: missed
    resolve: float | None  # real seconds from its end, None: never said
    notices: int           # every message from t0 on (a run's whole playback)
    before: int            # messages before t0 (warm-up: false alarms)


def measure(notices: list[Notice], t0: float, sc: Scenario, f: float,
            alerting: set[str] | None, resolved: str) -> Row:
    """``alerting``: kinds that announce trouble (None: any kind but ``resolved``)."""
    start, end = (t0 + sc.span[0] * f, t0 + sc.span[1] * f)
    detect_end = t0 + sc.detect_end * f
    detect = next((n.at for n in sorted(notices, key=lambda n: n.at)
                   if start <= n.at < detect_end
                   and (n.kind != resolved if alerting is None else n.kind in alerting)), None)
    resolve = next((n.at for n in sorted(notices, key=lambda n: n.at)
                    if n.at >= end and n.kind == resolved), None)
    if sc.unreachable:  # no healthy history: every message of the run is a false one
        return Row(detect=None, resolve=None, notices=len(notices), before=0)
    return Row(detect=None if detect is None else (detect - start) / f,
               resolve=None if resolve is None else (resolve - end) / f,
               notices=sum(1 for n in notices if n.at >= t0),
               before=sum(1 for n in notices if n.at < t0))


SYSTEMS = ("sora-bot (probes)", "prometheus+am for:0m", "prometheus+am for:2m")


def rows_for(out: Outcome, sc: Scenario, f: float) -> dict[str, Row]:
    return {
        SYSTEMS[0]: measure(out.bot, out.t0, sc, f, None, "resolved"),
        SYSTEMS[1]: measure(out.stack.get(MAIN_RULE, []), out.t0, sc, f, {"firing"}, "resolved"),
        SYSTEMS[2]: measure(out.stack.get("SoraEdgeDown2m", []), out.t0, sc, f, {"firing"},
                            "resolved"),
    }


def _mean(xs: Sequence[float | None]) -> tuple[float | None, int]:
    got = [x for x in xs if x is not None]
    return (statistics.mean(got) if got else None), len(xs) - len(got)


def _cell(x: float | None, missed: int, width: int = 8, none: str = "missed") -> str:
    text = none if x is None else f"{x:.1f}"
    if x is not None and missed:
        text += f"*{missed}"
    return text.rjust(width)


# -- main ---------------------------------------------------------------------------------------------

def run_trial(scs: list[Scenario], trial: int, factor: float, bins: dict[str, str],
              hooks: HookReceiver, seed: int) -> dict[str, Outcome]:
    """Every scenario of one trial at once (separate fakes and processes), so a trial lasts
    as long as its longest scenario."""
    results: dict[str, Outcome] = {}

    def one(i: int, sc: Scenario) -> None:
        rng = random.Random(seed * 1000 + trial * 31 + i)
        try:
            results[sc.name] = Run(sc, f"t{trial}s{i}", factor, bins, hooks, rng).execute()
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results[sc.name] = Outcome(t0=0.0, error=f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(i, sc), daemon=True) for i, sc in enumerate(scs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=3, help="trials per scenario (mean over them)")
    ap.add_argument("--speedup", type=float, default=30.0,
                    help="every interval of both systems divided by this (1..60; default 30)")
    ap.add_argument("--flap-minutes", type=float, default=3.0, help="bad/good spell length")
    ap.add_argument("--quick", action="store_true", help="one trial")
    ap.add_argument("--only", default="", help="run the scenarios whose name contains this")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verbose", action="store_true", help="print every run's notice timeline")
    args = ap.parse_args(argv)
    print(__doc__.split("\n\n")[0])
    bins, missing = find_binaries()
    if missing:
        print(f"skipped: {', '.join(missing)} not on PATH (Debian: apt-get install "
              f"{DEBIAN_PACKAGES}); nothing was run")
        return 0
    if not 1.0 <= args.speedup <= MAX_SPEEDUP:
        print(f"--speedup must be between 1 and {MAX_SPEEDUP:g} (PROBE_INTERVAL >= 1 s)")
        return 2
    trials = 1 if args.quick else max(1, args.trials)
    factor = 1.0 / args.speedup
    scs = [sc for sc in scenarios(args.flap_minutes * 60.0) if args.only in sc.name]
    if not scs:
        print(f"no scenario matches --only {args.only!r}")
        return 2
    longest = max(sc.horizon + WARMUP + PROBE_INTERVAL for sc in scs) * factor
    print(f"Same fake API for both, real processes, every interval / {args.speedup:g} "
          f"(1 min probe/scrape/evaluation -> {PROBE_INTERVAL * factor:g} s). {trials} trial(s), "
          f"scenarios in parallel: about {trials * (longest + 15) / 60:.1f} min.\n"
          f"sora-bot: defaults at PROBE_INTERVAL=60 s, key set (3 probe kinds), probes alone "
          f"(no team ingest). Prometheus: blackbox http probe of {{api}}/models "
          f"(valid_status_codes 200, 401), probe_success == 0, evaluation 1m; Alertmanager "
          f"group_wait 30s, group_interval 5m, send_resolved.\n", flush=True)
    started = time.monotonic()
    hooks = HookReceiver()
    per: dict[str, dict[str, list[Row]]] = {sc.name: {s: [] for s in SYSTEMS} for sc in scs}
    errors: list[str] = []
    try:
        for trial in range(trials):
            t_start = time.monotonic()
            res = run_trial(scs, trial, factor, bins, hooks, args.seed)
            for sc in scs:
                out = res[sc.name]
                if out.error:
                    errors.append(f"trial {trial + 1}, {sc.name}: {out.error}")
                    continue
                for system, row in rows_for(out, sc, factor).items():
                    per[sc.name][system].append(row)
                if args.verbose:
                    _timeline(sc, out, factor)
            print(f"  trial {trial + 1}/{trials} done in {time.monotonic() - t_start:.0f} s",
                  flush=True)
    finally:
        with LIVE_LOCK:
            left = list(LIVE)
        for proc in left:  # interrupted: no child outlives the bench
            proc.stop()
        hooks.close()
    ok = _report(scs, per, trials)
    for e in errors:
        print(f"ERROR {e}")
    print(f"\nbench finished in {time.monotonic() - started:.0f} s wall "
          f"({trials} trial(s), speedup {args.speedup:g})")
    return 1 if errors or (args.strict and not ok) else 0


def _timeline(sc: Scenario, out: Outcome, f: float) -> None:
    print(f"    [{sc.name}] bad spans (real s): {list(sc.bad)}")
    for label, notices in (("sora-bot", out.bot),
                           *((f"am {k}", v) for k, v in sorted(out.stack.items()))):
        items = ", ".join(f"{(n.at - out.t0) / f:.0f}s {n.kind}"
                          + (f" [{n.label}]" if label == "sora-bot" else "") for n in notices)
        print(f"      {label}: {items or '-'}")


def _report(scs: list[Scenario], per: dict[str, dict[str, list[Row]]], trials: int) -> bool:
    print("\nDelays in real seconds (measured / speedup), mean over trials; 'missed': never "
          "announced while it lasted; 'none': no resolved notice within the run (the tail is "
          f"{TAIL / 60:g} min after the last bad spell); *n: in n trials (mean of the others). "
          "Notices: every message from t0 on; warm-up: messages in the healthy warm-up before "
          "t0.")
    print(f"  {'scenario':36} {'system':22} {'detect':>8} {'resolve':>8} {'notices':>8} "
          f"{'warm-up':>8}")
    all_ok = True
    for sc in scs:
        for system in SYSTEMS:
            rows = per[sc.name][system]
            if not rows:
                print(f"  {sc.name:36} {system:22} {'(no run)':>8}")
                continue
            d, dm = _mean([r.detect for r in rows])
            r_, rm = _mean([r.resolve for r in rows])
            n = statistics.mean(r.notices for r in rows)
            b = statistics.mean(r.before for r in rows)
            if sc.unreachable:
                print(f"  {sc.name:36} {system:22} {'-':>8} {'-':>8} {n:8.1f} {b:8.1f}")
            else:
                print(f"  {sc.name:36} {system:22} {_cell(d, dm)} {_cell(r_, rm, none='none')} {n:8.1f} "
                      f"{b:8.1f}")
    print("\nTargets (sora-bot vs prometheus+am for:0m at the same probe interval):")
    for sc in scs:
        bot, stack = per[sc.name][SYSTEMS[0]], per[sc.name][SYSTEMS[1]]
        if not bot or not stack:
            continue
        if sc.unreachable:
            false = statistics.mean(r.notices for r in bot)
            met = false == 0
            print(f"  {sc.name}: sora-bot false notices {false:.1f} (target 0): "
                  f"{'MET' if met else 'NOT MET'}; the stack sent "
                  f"{statistics.mean(r.notices for r in stack):.1f} (a blackbox "
                  "probe cannot tell its own network from the target's)")
        elif sc.name.startswith("flapping"):
            nb, ns = (statistics.mean(r.notices for r in rows) for rows in (bot, stack))
            met = nb <= ns
            line = f"  {sc.name}: notices sora-bot {nb:.1f} vs stack {ns:.1f} (target <=): " \
                   f"{'MET' if met else 'NOT MET'}"
            if sc.measure is not None:
                db, _ = _mean([r.detect for r in bot])
                ds, _ = _mean([r.detect for r in stack])
                if db is None or ds is None:
                    line += f"; sustained outage detected: sora-bot {_cell(db, 0).strip()}, " \
                            f"stack {_cell(ds, 0).strip()}"
                    met = met and db is not None
                else:
                    line += f"; sustained outage detected {db / ds:.2f}x the stack's delay"
            print(line)
        else:
            db, _ = _mean([r.detect for r in bot])
            ds, _ = _mean([r.detect for r in stack])
            if db is None or ds is None or sc.detect_until is not None:
                print(f"  {sc.name}: detection sora-bot {_cell(db, 0).strip()} s, stack "
                      f"{_cell(ds, 0).strip()} s (no target)")
                continue
            ratio = db / ds
            met = ratio <= 0.5
            print(f"  {sc.name}: detection ratio sora-bot / stack = {ratio:.2f}x "
                  f"(target <= 0.5x): {'MET' if met else 'NOT MET'}")
        all_ok = all_ok and met
    print(f"  ({trials} trial(s); see bench/real_stack.py's docstring for what is scaled)")
    return all_ok


if __name__ == "__main__":
    sys.exit(main())
