"""An in-memory Sink for tests: records every delivery, and follows a script of failures.

Script entries (consumed one per send call, then every call succeeds):
  SendError(...)   raise it without delivering (the platform refused)
  "ambiguous"      deliver, then raise a retryable error with no status (timeout after post)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.errors import SendError
from bot.notify import Delivered, OutboxRow


@dataclass(frozen=True)
class Post:
    outbox_id: int
    dedupe_key: str
    channel: str
    notice: str
    incident_id: int
    seq: int
    thread_id: str | None
    message_id: str


class FakeSink:
    channel_interval_s = 0.0

    def __init__(self, script: list[object] | None = None, *, delay_s: float = 0.0) -> None:
        self.script = list(script or [])
        self.posts: list[Post] = []
        self.calls = 0
        self.find_calls = 0
        self.delay_s = delay_s

    def _post(self, row: OutboxRow) -> Post:
        post = Post(row.id, row.dedupe_key, row.channel, row.notice_kind, row.incident_id,
                    row.seq, row.thread_id, f"m{len(self.posts) + 1}")
        self.posts.append(post)
        return post

    async def send(self, row: OutboxRow) -> Delivered:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        step = self.script.pop(0) if self.script else None
        if isinstance(step, SendError):
            raise step
        post = self._post(row)
        if step == "ambiguous":
            raise SendError("read timed out", retryable=True)
        return Delivered(post.message_id, row.thread_id)

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        self.find_calls += 1
        for post in self.posts:
            if post.outbox_id == row.id:
                return Delivered(post.message_id, post.thread_id)
        return None

    def copies(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for post in self.posts:
            out[post.dedupe_key] = out.get(post.dedupe_key, 0) + 1
        return out
