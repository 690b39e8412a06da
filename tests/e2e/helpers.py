"""Drive a real ``sora-bot run`` subprocess like a user at a pipe: write messages, read replies."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(cond: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll another process's state until ``cond`` returns something truthy, bounded (no event
    crosses processes, so this is the one place a test polls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """``sora-bot run`` with stdin/stdout pipes; stdout is read by a thread into a queue so the
    test can wait for a reply with a deadline instead of sleeping."""

    def __init__(self, env: dict[str, str], cwd: Path, args: tuple[str, ...] = ()) -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        full.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=cwd, env=full, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.stderr_lines.append(line)

    def send(self, message: str) -> None:
        self.proc.stdin.write(message.rstrip("\n") + "\n\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def read_block(self, timeout: float = 30.0) -> str:
        """The next output block (a reply or a notice), up to its blank line."""
        deadline = time.monotonic() + timeout
        buf: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete block; got {buf!r}; stderr tail "
                                   f"{''.join(self.stderr_lines[-20:])}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError("bot exited; stderr: " + "".join(self.stderr_lines[-20:]))
            self.transcript.append(line)
            if line.strip() == "" and buf:
                return "".join(buf)
            if line.strip():
                buf.append(line)

    def ask(self, message: str, want: str, timeout: float = 30.0) -> str:
        """Send a message and return the first block containing ``want`` (notices that arrive
        in between are kept in the transcript)."""
        self.send(message)
        deadline = time.monotonic() + timeout
        while True:
            block = self.read_block(max(0.1, deadline - time.monotonic()))
            if want in block:
                return block

    def close(self, timeout: float = 30.0) -> int:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
