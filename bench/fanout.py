"""Fan-out benchmark: one incident to 1,000 subscribed channels through the real outbox.

A fake platform enforces 1 message/s per channel and a global 200 messages/s (sliding one-second
window), answering past either limit with a 429 and an integer Retry-After, as Slack does. The
worker (real Store on a SQLite file, real pipeline, real retry policy) runs on a virtual clock:
its waits are injected, so the run measures the delivery schedule, not the wall clock.

Prints, per scenario, the virtual time until the last notice was accepted against the floor
the rate limits allow (target ≤ 1.1×), with lost = 0 and duplicates = 0.

    python bench/fanout.py [--channels 1000] [--lifecycle-channels 300] [--global-rate 200]

Scenarios: "opened" (one incident opened: 1,000 rows) and "lifecycle" (opened, updated,
resolved: 3 rows per channel, where the per-channel limit matters too; smaller by default only
to keep `make bench` short — it passes at 1,000 as well).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections import Counter, deque
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import FakeClock  # noqa: E402
from bot.errors import SendError  # noqa: E402
from bot.notify import Delivered, DeliveryWorker, OutboxRow  # noqa: E402
from bot.store import open_store  # noqa: E402


class RateLimitedPlatform:
    """Accepts a message unless the channel got one < 1 s ago or the platform already took
    ``global_rate`` in the last second; then 429 with Retry-After in whole seconds."""

    channel_interval_s = 1.0  # what the real Slack sink declares (chat.postMessage: 1/s/channel)

    def __init__(self, clock: FakeClock, global_rate: int) -> None:
        self.clock = clock
        self.global_rate = global_rate
        self.window: deque[datetime] = deque()
        self.last_in_channel: dict[str, datetime] = {}
        self.accepted: list[tuple[str, datetime]] = []
        self.rejected = 0

    def _reject(self, wait_s: float) -> SendError:
        self.rejected += 1
        return SendError("ratelimited", retryable=True, status=429,
                         retry_after=float(max(1, math.ceil(wait_s))))

    async def send(self, row: OutboxRow) -> Delivered:
        now = self.clock()
        while self.window and (now - self.window[0]).total_seconds() >= 1.0:
            self.window.popleft()
        last = self.last_in_channel.get(row.channel)
        if last is not None and (now - last).total_seconds() < 1.0:
            raise self._reject(1.0 - (now - last).total_seconds())
        if len(self.window) >= self.global_rate:
            raise self._reject(1.0 - (now - self.window[0]).total_seconds())
        self.window.append(now)
        self.last_in_channel[row.channel] = now
        self.accepted.append((row.dedupe_key, now))
        return Delivered(f"m{len(self.accepted)}")

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        return None


async def scenario(name: str, channels: int, notices: int, global_rate: int,
                   workdir: Path) -> bool:
    clock = FakeClock()
    store = open_store(f"sqlite:///{workdir / f'{name}.db'}", now=clock)
    store.upgrade()
    for i in range(channels):
        store.subscribe("slack", "T1", f"C{i:04d}", "all")
    start = clock()
    inc = store.open_incident("outage:openai", "outage", title="OpenAI API failing")
    if notices >= 2:
        store.update_incident(inc.id, reason="severity changed", severity="critical")
    if notices >= 3:
        store.resolve_incident(inc.id)
    rows = store.outbox_pending_count()

    platform = RateLimitedPlatform(clock, global_rate)
    stop = asyncio.Event()

    async def virtual_sleep(seconds: float) -> None:
        clock.advance(seconds)
        if store.outbox_pending_count() == 0:
            stop.set()

    worker = DeliveryWorker(store, {"slack": platform}, now=clock, sleep=virtual_sleep,
                            worker_id="bench")
    wall = time.perf_counter()
    await asyncio.wait_for(worker.run(stop), timeout=600)
    wall = time.perf_counter() - wall

    total = channels * notices
    last = max(at for _, at in platform.accepted)
    elapsed = (last - start).total_seconds()
    floor = max(math.ceil(total / global_rate) - 1, notices - 1)
    copies = Counter(key for key, _ in platform.accepted)
    lost = rows - len(copies)
    duplicates = sum(n - 1 for n in copies.values())
    counts = store.outbox_counts()
    ratio = elapsed / floor if floor else float("nan")
    ok = ratio <= 1.1 and lost == 0 and duplicates == 0 and counts == {"sent": total}
    print(f"{name}: {channels} channels x {notices} notice(s) = {total} messages, "
          f"limits 1/s/channel + {global_rate}/s global")
    print(f"  time to last delivery {elapsed:.2f} s (virtual) vs rate-limit floor {floor:.2f} s"
          f" = {ratio:.3f}x  (target <= 1.1x)")
    print(f"  lost = {lost}, duplicates = {duplicates}, 429s received = {platform.rejected}, "
          f"outbox = {counts}, wall {wall:.1f} s")
    print(f"  {'OK' if ok else 'FAILED'}")
    store.close()
    return ok


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--lifecycle-channels", type=int, default=300)
    parser.add_argument("--global-rate", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            await scenario("opened", args.channels, 1, args.global_rate, Path(tmp)),
            await scenario("lifecycle", args.lifecycle_channels, 3, args.global_rate, Path(tmp)),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
