"""Detection benchmark, virtual time: what sora-bot's own monitor decides on simulated incidents.

This measures OUR code only: bot.monitor.Monitor with DEFAULT_POLICIES, fed what `sora-bot run`
feeds it by default: a probe round every PROBE_INTERVAL=60 s (three probe kinds: reachability,
auth, videos) and the team's errors as the ingest API reports them; evaluated every 5 s and
right after each probe round (bot/app.py: the monitor job, the probes job). Virtual time (an
injected FakeClock; no sleeping, no network) lets it replay many seeds in seconds. What the
app schedules around the monitor (fast-confirmation re-probes, delivery) is not modelled here.

It does not compare against other tools: a model of someone else's alerting is not a
measurement. The side-by-side comparison with a real Prometheus + blackbox_exporter +
Alertmanager on the same fake outage, in real processes, is bench/real_stack.py.

Scenarios: an outage (healthy 30 min, then the API fails 95% of requests with 5xx/timeouts for
10 min, then recovers), flapping hours (bad/good alternating every P minutes for an hour, then
stable), a noise hour (healthy with 1% background 5xx and isolated probe failures) and a 60 s
blip. Each scenario runs over many seeds (random probe and evaluation phases; Poisson team
traffic); delays are averaged over seeds.

Run: .venv/bin/python bench/detection.py   (about 20 s on one core)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.clock import FakeClock
from bot.monitor import DEFAULT_POLICIES, Monitor, Outcome

PROBE_INTERVAL = 60.0
PROBE_KINDS = ("reachability", "auth", "videos")
EVAL_INTERVAL = 5.0            # bot/app.py MONITOR_EVAL_INTERVAL_S
TEAM_RPM = 20.0                # the team's Sora requests per minute (Poisson)
INGEST_DELAY = 1.0             # s from a failed request to the ingest API having it
BACKGROUND_5XX = 0.01          # provider-side failures when healthy
BACKGROUND_USER = 0.03         # user-caused failures (bad_request, content_policy) always
OUTAGE_FAIL = 0.95             # share of requests and probes failing during the outage
T0 = 30 * 60.0                 # outage start (30 min of healthy history first)
OUTAGE_LEN = 10 * 60.0
SEEDS = 20                     # outage runs (random phases / traffic)
FLAP_SEEDS = 10                # per flapping period
START = datetime(2026, 1, 1, tzinfo=UTC)

Health = Callable[[float], float]  # t -> probability that a request/probe fails (provider-side)


def outage_health(t: float) -> float:
    return OUTAGE_FAIL if T0 <= t < T0 + OUTAGE_LEN else BACKGROUND_5XX


def flapping_health(period_min: float) -> Health:
    def health(t: float) -> float:
        if T0 <= t < T0 + 3600 and int((t - T0) // (period_min * 60)) % 2 == 0:
            return OUTAGE_FAIL
        return BACKGROUND_5XX
    return health


def noise_health(t: float) -> float:
    return BACKGROUND_5XX


BLIP_LEN = 60.0


def blip_health(t: float) -> float:
    return OUTAGE_FAIL if T0 <= t < T0 + BLIP_LEN else BACKGROUND_5XX


# -- the shared world: probe results and team traffic drawn once per seed ---------------------

@dataclass
class World:
    health: Health
    horizon: float
    rng: random.Random
    requests: list[tuple[float, bool, str | None]] = field(default_factory=list)  # t, ok, cat

    def __post_init__(self) -> None:
        t = 0.0
        while True:
            t += self.rng.expovariate(TEAM_RPM / 60.0)
            if t >= self.horizon:
                break
            p = self.health(t)
            r = self.rng.random()
            if r < p:
                cat = "server" if self.rng.random() < 0.7 else "network"
                self.requests.append((t, False, cat))
            elif r < p + BACKGROUND_USER:
                cat = self.rng.choice(("bad_request", "content_policy"))
                self.requests.append((t, False, cat))
            else:
                self.requests.append((t, True, None))

    def probe(self, t: float) -> tuple[bool, str | None]:
        if self.rng.random() < self.health(t):
            return False, ("server" if self.rng.random() < 0.7 else "network")
        return True, None


@dataclass
class Notices:
    times: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def add(self, t: float, label: str) -> None:
        self.times.append(t)
        self.labels.append(label)


# -- (a) sora-bot -----------------------------------------------------------------------------

def run_sora_bot(world: World, rng: random.Random, *, ingest: bool = True) -> Notices:
    clock = FakeClock(START)
    monitor = Monitor(DEFAULT_POLICIES, now=clock)
    probe_phase = rng.uniform(0, PROBE_INTERVAL)
    eval_phase = rng.uniform(0, EVAL_INTERVAL)
    events: list[tuple[float, int, str, tuple[float, str | None] | None]] = []
    t = probe_phase
    while t < world.horizon:
        events.append((t, 1, "probe", None))
        t += PROBE_INTERVAL
    t = eval_phase
    while t < world.horizon:
        events.append((t, 2, "eval", None))
        t += EVAL_INTERVAL
    if ingest:
        for (rt, ok, cat) in world.requests:
            if not ok:
                events.append((rt + INGEST_DELAY, 0, "error", (rt, cat)))
    events.sort(key=lambda e: (e[0], e[1]))
    out = Notices()
    for (t, _, what, data) in events:
        clock.t = START + timedelta(seconds=t)
        if what == "error":
            assert data is not None
            at, err_cat = data
            monitor.observe(Outcome("openai", START + timedelta(seconds=at), False, err_cat,
                                    "ingest"))
            continue
        if what == "probe":
            for kind in PROBE_KINDS:
                ok, cat = world.probe(t)
                monitor.observe(Outcome("openai", clock(), ok, cat, "probe", kind=kind))
        for d in monitor.evaluate():   # after each probe round, and every 5 s
            out.add(t, f"{d.action}:{d.key}:{d.severity}")
    return out


# -- scenarios --------------------------------------------------------------------------------

MODELS: dict[str, Callable[[World, random.Random], Notices]] = {
    "sora-bot": run_sora_bot,
    "sora-bot (probes only)": lambda w, r: run_sora_bot(w, r, ingest=False),
}
REAL_STACK = ("Compared with other tools: bench/real_stack.py runs a real Prometheus + "
              "blackbox_exporter + Alertmanager beside a real sora-bot on the same fake outage.")


def run_scenario(health: Health, horizon: float, seeds: int = SEEDS,
                 models: tuple[str, ...] = tuple(MODELS)) -> dict[str, list[Notices]]:
    results: dict[str, list[Notices]] = {name: [] for name in models}
    for seed in range(seeds):
        for name in models:
            model = MODELS[name]
            # Same world (traffic, probe draws) for every model; its own phases.
            world = World(health, horizon, random.Random(seed))
            results[name].append(model(world, random.Random(1000 + seed * 7 + len(name))))
    return results


def _fmt(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:6.0f}"


def _delays(runs: list[Notices], start: float, end: float) -> tuple[list[float], list[float]]:
    """Per run: seconds from ``start`` to the first notice, and from ``end`` to the first
    resolve after it (runs without one are left out)."""
    first = [next((t - start for t in n.times if t >= start), None) for n in runs]
    resolved = [next((t - end for t, label in zip(n.times, n.labels, strict=False)
                      if t >= end and "resolv" in label), None) for n in runs]
    return [d for d in first if d is not None], [r for r in resolved if r is not None]


def main() -> int:
    started, cpu = time.perf_counter(), time.process_time()
    print(__doc__.split("\n\n")[0])
    print(f"Assumptions: PROBE_INTERVAL={PROBE_INTERVAL:g}s x {len(PROBE_KINDS)} probe kinds; "
          f"monitor evaluated every {EVAL_INTERVAL:g}s and after each probe round; team traffic "
          f"{TEAM_RPM:g} req/min (Poisson) reported through the ingest API {INGEST_DELAY:g}s after "
          f"each failure; background {BACKGROUND_5XX:.0%} 5xx + {BACKGROUND_USER:.0%} user "
          f"errors; outage = {OUTAGE_FAIL:.0%} of requests and probes failing (70% 5xx, 30% "
          f"timeouts) for {OUTAGE_LEN / 60:g} min; {SEEDS} seeds (random phases). Delivery "
          "latency to the chat platform is left out.\n")

    # 1. Outage: detection delay, resolve delay, notices.
    horizon = T0 + OUTAGE_LEN + 30 * 60
    res = run_scenario(outage_health, horizon)
    print("Outage (API failing from t0 for 10 min, then healthy):")
    print(f"  {'monitor fed by':26} {'detect mean':>11} {'median':>7} {'worst':>6} {'resolve':>8} "
          f"{'notices':>8} {'false before t0':>15}")
    missed_any = False
    for name, runs in res.items():
        detected, resolved = _delays(runs, T0, T0 + OUTAGE_LEN)
        notices = statistics.mean(len([t for t in n.times if t >= T0]) for n in runs)
        false = sum(len([t for t in n.times if t < T0]) for n in runs)
        missed_any = missed_any or len(detected) < len(runs)
        print(f"  {name:26} {_fmt(statistics.mean(detected) if detected else None)} s "
              f"{_fmt(statistics.median(detected) if detected else None)} "
              f"{_fmt(max(detected) if detected else None)} "
              f"{_fmt(statistics.mean(resolved) if resolved else None)} s "
              f"{notices:8.1f} {false:15d}"
              + ("" if len(detected) == len(runs) else f"  (missed {len(runs) - len(detected)})"))
    print(f"  every outage announced: {'yes' if not missed_any else 'NO'}\n")

    # 2. Flapping hours: notices.
    print("Flapping hour (bad/good alternating every P min for 60 min, then healthy; notices "
          "counted until 80 min after, the flapping resolve included). Each cell: notices / "
          "top-level posts (updates and resolves go in the incident's thread):")
    names = tuple(MODELS)
    print(f"  {'P':>4} " + " ".join(f"{name:>24}" for name in names))
    for period in (2, 3, 5, 10):
        horizon = T0 + 3600 + 80 * 60
        res = run_scenario(flapping_health(period), horizon, FLAP_SEEDS, names)
        means = {name: statistics.mean(len([t for t in n.times if t >= T0]) for n in runs)
                 for name, runs in res.items()}
        tops = {name: statistics.mean(
            len([lb for t, lb in zip(n.times, n.labels, strict=False) if t >= T0
                 and lb.startswith(("open", "flapping"))]) for n in runs)
            for name, runs in res.items()}
        print(f"  {period:>3}m " + " ".join(f"{means[n]:>15.1f} / {tops[n]:>6.1f}" for n in names))
    print()

    # 3. Noise and a short blip.
    horizon = T0 + 3600
    print("Sensitivity (notices per run, after t0):")
    for label, health in (("noise hour (healthy, 1% background 5xx, isolated probe failures)",
                           noise_health),
                          (f"one {BLIP_LEN:g}-s blip of {OUTAGE_FAIL:.0%} failures", blip_health)):
        res = run_scenario(health, horizon, FLAP_SEEDS)
        print(f"  {label}:\n    " + ", ".join(
            f"{name}: {statistics.mean(len([t for t in n.times if t >= T0]) for n in runs):.1f}"
            for name, runs in res.items()))
    print(f"\n{REAL_STACK}")
    print(f"bench finished in {time.perf_counter() - started:.1f} s wall, "
          f"{time.process_time() - cpu:.1f} s CPU (virtual time)")
    return 1 if missed_any else 0


if __name__ == "__main__":
    sys.exit(main())
