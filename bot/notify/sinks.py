"""Sink registry, plain-text rendering, and the append-only file sink.

Adapters register their sink by platform name (``register_sink("slack", SlackSink(...))``);
the core never imports an adapter. ``JsonlFileSink`` is the durable local sink: the shell
adapter prints notices and keeps this log, which also lets ``find_existing`` answer after a
crash ("was outbox row 42 already delivered?") by reading the file.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.clock import Clock, utcnow
from bot.errors import SendError
from bot.notify.model import Delivered, OutboxRow, Sink

_REGISTRY: dict[str, Sink] = {}


def register_sink(platform: str, sink: Sink) -> None:
    """Make ``sink`` deliver the notices of ``platform`` ('shell', 'slack', 'discord')."""
    if not isinstance(sink, Sink):
        raise TypeError(f"{type(sink).__name__} is not a Sink (needs async send and "
                        "find_existing)")
    _REGISTRY[platform] = sink


def unregister_sink(platform: str) -> None:
    _REGISTRY.pop(platform, None)


def registered_sinks() -> Mapping[str, Sink]:
    """The live registry (a worker built without explicit sinks reads it at every drain)."""
    return _REGISTRY


SEVERITY_MARK = {"warning": "WARNING", "error": "ERROR", "critical": "CRITICAL"}
NOTICE_MARK = {"opened": "OPENED", "updated": "UPDATE", "resolved": "RESOLVED",
               "flapping": "FLAPPING", "status": "STATUS"}


def render_text(payload: Mapping[str, Any]) -> str:
    """A notice as plain text (terminal, logs): one headline, then text, fields and links."""
    notice = NOTICE_MARK.get(str(payload.get("notice")), str(payload.get("notice", "")).upper())
    severity = SEVERITY_MARK.get(str(payload.get("severity")), str(payload.get("severity", "")))
    head = f"[{notice}] {payload.get('title', '')}"
    if payload.get("notice") != "resolved":
        head += f" ({severity.lower()})"
    lines = [head]
    if payload.get("text"):
        lines.append(f"  {payload['text']}")
    for f in payload.get("fields") or ():
        lines.append(f"  {f.get('name', '')}: {f.get('value', '')}")
    for link in payload.get("links") or ():
        lines.append(f"  {link.get('title', 'link')}: {link.get('url', '')}")
    lines.append(f"  incident #{payload.get('incident_id')} · {payload.get('reason', '')}")
    return "\n".join(lines)


class JsonlFileSink:
    """Appends each notice as one JSON line (fsync'ed) to ``path``; ``echo`` shows it too.

    The message id is ``<platform>-<outbox id>``; ``find_existing`` scans the file for the
    outbox id, so a notice written just before a crash is found instead of written twice.
    """

    channel_interval_s = 0.0

    def __init__(self, path: str | os.PathLike[str], *,
                 echo: Callable[[str], None] | None = None, now: Clock = utcnow) -> None:
        self.path = Path(path)
        self.echo = echo
        self.now = now
        self._lock = asyncio.Lock()

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    async def send(self, row: OutboxRow) -> Delivered:
        message_id = f"{row.platform}-{row.id}"
        record = {"outbox_id": row.id, "dedupe_key": row.dedupe_key, "message_id": message_id,
                  "thread_id": row.thread_id, "platform": row.platform,
                  "workspace": row.workspace, "channel": row.channel,
                  "incident_id": row.incident_id, "seq": row.seq, "notice": row.notice_kind,
                  "text": render_text(row.payload), "at": self.now().isoformat()}
        async with self._lock:
            try:
                self._append(record)
            except OSError as exc:
                raise SendError(f"cannot write {self.path}: {exc.strerror}",
                                retryable=True) from None
        if self.echo is not None:
            self.echo(str(record["text"]))
        return Delivered(message_id=message_id, thread_id=row.thread_id)

    def entries(self) -> list[dict[str, Any]]:
        """Every line written so far (a torn last line from a crash is skipped)."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        try:
            entries = self.entries()
        except OSError as exc:  # unreadable (a directory, no permission): the outbox retries
            raise SendError(f"cannot read {self.path}: {exc.strerror}", retryable=True) from None
        for entry in entries:
            if entry.get("outbox_id") == row.id and entry.get("dedupe_key") == row.dedupe_key:
                return Delivered(message_id=entry["message_id"], thread_id=entry.get("thread_id"))
        return None
