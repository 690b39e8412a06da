"""Run as a subprocess by test_notify_crash.py: drain the outbox with a file sink that kills
this process (SIGKILL, no cleanup, no finally blocks) right after its Nth send returns, before
the worker can mark anything sent.

usage: python crash_worker.py DATABASE_URL LOG_FILE KILL_AFTER
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.notify import Delivered, DeliveryWorker, JsonlFileSink, OutboxRow
from bot.store import open_store


class KillingSink(JsonlFileSink):
    def __init__(self, path: str, kill_after: int) -> None:
        super().__init__(path)
        self.kill_after = kill_after
        self.sent = 0

    async def send(self, row: OutboxRow) -> Delivered:
        await asyncio.sleep(0)  # let every concurrent send record its attempt first
        delivered = await super().send(row)  # appended and fsync'ed: the message is out
        self.sent += 1
        if self.sent >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return delivered


async def main(url: str, log_path: str, kill_after: int) -> None:
    store = open_store(url)
    worker = DeliveryWorker(store, {"shell": KillingSink(log_path, kill_after)},
                            worker_id="crashing-worker")
    await worker.drain()
    print("drain finished without being killed", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
