"""Detection benchmark: sora-bot's monitor vs reference models of Gatus and Prometheus+Alertmanager.

Replays the same simulated incidents in virtual time (an injected FakeClock; no sleeping, no
network) against

  (a) sora-bot: bot.monitor.Monitor with DEFAULT_POLICIES, fed what `sora-bot run` feeds it by
      default: a probe round every PROBE_INTERVAL=60 s (three probe kinds: reachability, auth,
      videos) and the team's errors as the ingest API reports them; evaluated every 5 s and
      right after each probe round (bot/app.py: MONITOR_EVAL_INTERVAL_S, probes job);
  (b) Gatus defaults: one endpoint checked every 60 s, failure-threshold 3, success-threshold 2,
      one notice when the alert triggers and one when it resolves (send-on-resolved: true; Gatus's
      own default is false, which halves its count but never says an incident is over);
  (c) Prometheus + Alertmanager defaults: scrape_interval 1m, evaluation_interval 1m, an alert
      rule with `for: 1m` (no keep_firing_for), Alertmanager group_wait 30s, group_interval 5m,
      repeat_interval 4h, send_resolved: true (the webhook default). Two rules are modelled:
        c1 `probe_success == 0` from a blackbox-exporter probe of the API (same signal as Gatus);
        c2 `sum(rate(sora_errors_total[2m])) / sum(rate(sora_requests_total[2m])) > 0.5` on the
           team's own request counters (the same traffic sora-bot ingests, successes included).
      The better of c1/c2 is the one compared against.

Scenarios: an outage (healthy 30 min, then the API fails 95% of requests with 5xx/timeouts for
10 min, then recovers), flapping hours (bad/good alternating every P minutes for an hour, then
stable), and a noise hour (healthy with 1% background 5xx and isolated probe failures) that
checks none of the models pages on noise. Each scenario runs over many seeds (random probe,
scrape and evaluation phases; Poisson team traffic); delays are averaged over seeds.

Run: .venv/bin/python bench/detection.py   (about 30 s on one core)
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
    events: list[tuple[float, int, str, object]] = []
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
            at, cat = data  # type: ignore[misc]
            monitor.observe(Outcome("openai", START + timedelta(seconds=at), False, cat, "ingest"))
            continue
        if what == "probe":
            for kind in PROBE_KINDS:
                ok, cat = world.probe(t)
                monitor.observe(Outcome("openai", clock(), ok, cat, "probe", kind=kind))
        for d in monitor.evaluate():   # after each probe round, and every 5 s
            out.add(t, f"{d.action}:{d.key}:{d.severity}")
    return out


# -- (b) Gatus --------------------------------------------------------------------------------

def run_gatus(world: World, rng: random.Random, *, failure_threshold: int = 3,
              success_threshold: int = 2, interval: float = 60.0) -> Notices:
    out = Notices()
    failures = successes = 0
    triggered = False
    t = rng.uniform(0, interval)
    while t < world.horizon:
        ok, _ = world.probe(t)
        if ok:
            successes, failures = successes + 1, 0
            if triggered and successes >= success_threshold:
                triggered = False
                out.add(t, "resolved")
        else:
            failures, successes = failures + 1, 0
            if not triggered and failures >= failure_threshold:
                triggered = True
                out.add(t, "triggered")
        t += interval
    return out


# -- (c) Prometheus + Alertmanager ------------------------------------------------------------

def _alertmanager(transitions: list[tuple[float, str]], horizon: float, *,
                  group_wait: float = 30.0, group_interval: float = 300.0,
                  repeat_interval: float = 4 * 3600.0) -> Notices:
    """One alert in one group. ``transitions``: (t, 'firing'|'resolved') as Prometheus sends them.

    A firing alert with no group creates one; the group flushes after group_wait, then every
    group_interval; a flush notifies when the state differs from the last notified state (or
    repeat_interval passed); a group whose alert is resolved and notified is deleted.
    """
    out = Notices()
    state = "resolved"
    group_next: float | None = None
    notified: str | None = None
    notified_at = 0.0
    i = 0
    while True:
        next_tr = transitions[i][0] if i < len(transitions) else None
        if group_next is not None and (next_tr is None or group_next <= next_tr):
            t = group_next
            if t >= horizon:
                break
            if state != notified or (state == "firing" and t - notified_at >= repeat_interval):
                out.add(t, state)
                notified, notified_at = state, t
            if state == "resolved":
                group_next, notified = None, None  # group deleted; next firing starts over
            else:
                group_next = t + group_interval
            continue
        if next_tr is None or next_tr >= horizon:
            break
        t, state = transitions[i]
        i += 1
        if state == "firing" and group_next is None:
            group_next = t + group_wait
    return out


def _prometheus_rule(expr_at: Callable[[float], bool], horizon: float, rng: random.Random, *,
                     eval_interval: float = 60.0, for_s: float = 60.0) -> list[tuple[float, str]]:
    """Pending → firing after `for`, resolved at the first false evaluation."""
    transitions: list[tuple[float, str]] = []
    active_at: float | None = None
    firing = False
    t = rng.uniform(0, eval_interval)
    while t < horizon:
        if expr_at(t):
            if active_at is None:
                active_at = t
            if not firing and t - active_at >= for_s:
                firing = True
                transitions.append((t, "firing"))
        else:
            if firing:
                transitions.append((t, "resolved"))
            firing, active_at = False, None
        t += eval_interval
    return transitions


def run_prometheus_probe(world: World, rng: random.Random, scrape: float = 60.0) -> Notices:
    phase = rng.uniform(0, scrape)
    samples: list[tuple[float, bool]] = []
    t = phase
    while t < world.horizon:
        samples.append((t, world.probe(t)[0]))
        t += scrape

    def expr(t: float) -> bool:  # probe_success == 0, latest sample (staleness 5m)
        latest = None
        for (st, ok) in samples:
            if st > t:
                break
            latest = (st, ok)
        return latest is not None and t - latest[0] <= 300 and not latest[1]

    return _alertmanager(_prometheus_rule(expr, world.horizon, rng), world.horizon)


def run_prometheus_ratio(world: World, rng: random.Random, scrape: float = 60.0,
                         range_s: float = 120.0) -> Notices:
    phase = rng.uniform(0, scrape)
    scrapes: list[tuple[float, int, int]] = []  # t, requests_total, errors_total (provider)
    t, i, req, err = phase, 0, 0, 0
    reqs = world.requests
    while t < world.horizon:
        while i < len(reqs) and reqs[i][0] <= t:
            req += 1
            err += 1 if (not reqs[i][1] and reqs[i][2] in ("server", "network")) else 0
            i += 1
        scrapes.append((t, req, err))
        t += scrape

    def expr(t: float) -> bool:  # rate(errors[2m]) / rate(requests[2m]) > 0.5
        window = [s for s in scrapes if t - range_s < s[0] <= t]
        if len(window) < 2:
            return False
        dreq = window[-1][1] - window[0][1]
        derr = window[-1][2] - window[0][2]
        return dreq > 0 and derr / dreq > 0.5

    return _alertmanager(_prometheus_rule(expr, world.horizon, rng), world.horizon)


# -- scenarios --------------------------------------------------------------------------------

MODELS: dict[str, Callable[[World, random.Random], Notices]] = {
    "sora-bot": run_sora_bot,
    "sora-bot (probes only)": lambda w, r: run_sora_bot(w, r, ingest=False),
    "gatus": run_gatus,
    "prometheus+am (probe)": run_prometheus_probe,
    "prometheus+am (ratio)": run_prometheus_ratio,
}


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


def main() -> int:
    started, cpu = time.perf_counter(), time.process_time()
    print(__doc__.split("\n\n")[0])
    print(f"Assumptions: PROBE_INTERVAL={PROBE_INTERVAL:g}s x {len(PROBE_KINDS)} probe kinds; "
          f"monitor evaluated every {EVAL_INTERVAL:g}s and after each probe round; team traffic "
          f"{TEAM_RPM:g} req/min (Poisson) reported through the ingest API {INGEST_DELAY:g}s after "
          f"each failure; background {BACKGROUND_5XX:.0%} 5xx + {BACKGROUND_USER:.0%} user "
          f"errors; outage = {OUTAGE_FAIL:.0%} of requests and probes failing (70% 5xx, 30% "
          f"timeouts) for {OUTAGE_LEN / 60:g} min; {SEEDS} seeds (random phases). Delivery "
          "latency to the chat platform is the same for all and left out.\n")

    # 1. Outage: detection delay, resolve delay, notices.
    horizon = T0 + OUTAGE_LEN + 30 * 60
    res = run_scenario(outage_health, horizon)
    print("Outage (API failing from t0 for 10 min, then healthy):")
    print(f"  {'model':26} {'detect mean':>11} {'median':>7} {'worst':>6} {'resolve':>8} "
          f"{'notices':>8} {'false before t0':>15}")
    delays: dict[str, float] = {}
    for name, runs in res.items():
        first = [next((t - T0 for t in n.times if t >= T0), None) for n in runs]
        detected = [d for d in first if d is not None]
        resolved = [next((t - T0 - OUTAGE_LEN for t, label in zip(n.times, n.labels, strict=False)
                          if t >= T0 + OUTAGE_LEN and "resolv" in label), None) for n in runs]
        resolved_ok = [r for r in resolved if r is not None]
        notices = statistics.mean(len([t for t in n.times if t >= T0]) for n in runs)
        false = sum(len([t for t in n.times if t < T0]) for n in runs)
        mean = statistics.mean(detected) if detected else None
        if mean is not None:
            delays[name] = mean
        print(f"  {name:26} {_fmt(mean)} s {_fmt(statistics.median(detected) if detected else None)} "
              f"{_fmt(max(detected) if detected else None)} "
              f"{_fmt(statistics.mean(resolved_ok) if resolved_ok else None)} s "
              f"{notices:8.1f} {false:15d}"
              + ("" if len(detected) == len(runs) else f"  (missed {len(runs) - len(detected)})"))
    ours = delays["sora-bot"]
    prom_best = min(delays["prometheus+am (probe)"], delays["prometheus+am (ratio)"])
    r_gatus, r_prom = delays["gatus"] / ours, prom_best / ours
    print(f"  ratios (reference delay / sora-bot delay): gatus {r_gatus:.1f}x, "
          f"prometheus+am (better rule) {r_prom:.1f}x; probes-only sora-bot vs gatus "
          f"{delays['gatus'] / delays['sora-bot (probes only)']:.1f}x")
    detect_ok = r_gatus >= 2 and r_prom >= 2
    print(f"  target >= 2x sooner than both: {'MET' if detect_ok else 'NOT MET'}\n")

    # 2. Flapping hours: notices.
    print("Flapping hour (bad/good alternating every P min for 60 min, then healthy; notices "
          "counted until 80 min after, sora-bot's flapping resolve included). Each cell: "
          "notices / new top-level posts (sora-bot posts updates and resolves in the incident's "
          "thread; Gatus and Alertmanager post every notification as a new message):")
    flap_models = ("sora-bot", "gatus", "prometheus+am (probe)", "prometheus+am (ratio)")
    print(f"  {'P':>4} " + " ".join(f"{name:>22}" for name in flap_models))
    flap_ok = True
    for period in (2, 3, 5, 10):
        horizon = T0 + 3600 + 80 * 60
        res = run_scenario(flapping_health(period), horizon, FLAP_SEEDS, flap_models)
        means = {name: statistics.mean(len([t for t in n.times if t >= T0]) for n in runs)
                 for name, runs in res.items()}
        tops = {name: statistics.mean(
            len([lb for t, lb in zip(n.times, n.labels, strict=False) if t >= T0
                 and (not name.startswith("sora-bot") or lb.startswith(("open", "flapping")))])
            for n in runs) for name, runs in res.items()}
        flags = ""
        refs = min(means[name] for name in flap_models[1:])
        if means["sora-bot"] > refs:
            flags = "  <- more notices than a reference"
            if 3 <= period <= 5:
                flap_ok = False
        print(f"  {period:>3}m " + " ".join(f"{means[n]:>13.1f} / {tops[n]:>5.1f}"
                                            for n in flap_models) + flags)
    print("  P=2: a 2-min bad spell never gives Gatus 3 consecutive failures, so Gatus stays "
          "silent through an hour of 50% failure.\n  P=10: three separate 10-min outages; "
          "sora-bot's extra notice per outage is the 'severity changed' update in the thread "
          "when the probes confirm what the team's errors said (warning -> critical).\n"
          "  The target is judged for the 'every few minutes' rows, P = 3 and 5.")
    print(f"  target no more notices than either during flapping (P = 3, 5): "
          f"{'MET' if flap_ok else 'NOT MET'}\n")

    # 3. Noise and a short blip: what each model pages for.
    horizon = T0 + 3600
    print("Sensitivity (notices per run, after t0):")
    for label, health in (("noise hour (healthy, 1% background 5xx, isolated probe failures)",
                           noise_health),
                          (f"one {BLIP_LEN:g}-s blip of {OUTAGE_FAIL:.0%} failures", blip_health)):
        res = run_scenario(health, horizon, FLAP_SEEDS)
        print(f"  {label}:\n    " + ", ".join(
            f"{name}: {statistics.mean(len([t for t in n.times if t >= T0]) for n in runs):.1f}"
            for name, runs in res.items()))
    print("  (the blip is the price of speed: sora-bot tells the team about a minute in which "
          "nearly every request failed; the reference defaults wait it out.)\n")
    print(f"bench finished in {time.perf_counter() - started:.1f} s wall, "
          f"{time.process_time() - cpu:.1f} s CPU (virtual time)")
    return 0 if (detect_ok and flap_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
