"""The terminal chat in a real pseudo-terminal, read through a terminal emulator (pyte).

``sora-bot run --demo`` on a pty: while a half-typed ``/sora sta`` sits at the prompt, the
demo's incident notice arrives; it must print above the prompt, and the prompt and the half
line must be redrawn below it (before: ``sora> /sora sta[OPENED] …``). Ctrl-D then ends the
chat with exit 0 and leaves the cursor on a fresh line.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time

import pyte
import pytest

from tests.e2e.helpers import free_port

ROWS, COLS = 30, 110


class Terminal:
    """A pty whose output feeds a pyte screen; the screen answers cursor-position requests
    the way a real terminal does."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: str) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.screen = pyte.Screen(COLS, ROWS)
        self.screen.set_mode(pyte.modes.LNM)  # the tty's ONLCR: "\n" also returns the carriage
        self.screen.write_process_input = lambda data: os.write(self.master, data.encode())
        self.stream = pyte.Stream(self.screen)
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                     env=env, cwd=cwd, close_fds=True, start_new_session=True)
        os.close(slave)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.stream.feed(data.decode("utf-8", "replace"))

    def lines(self) -> list[str]:
        with self.lock:
            return [line.rstrip() for line in self.screen.display]

    def cursor_line(self) -> str:
        with self.lock:
            return self.screen.display[self.screen.cursor.y].rstrip()

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n" + "\n".join(self.lines()))


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pty")
def test_a_notice_prints_above_the_prompt_and_ctrl_d_ends_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({"TERM": "xterm", "PORT": str(free_port()), "LOG_LEVEL": "INFO"})
    term = Terminal([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                     "run", "--demo", "--demo-seconds", "20"], env, str(tmp_path))
    try:
        term.wait(lambda: term.cursor_line() == "sora>", 60, "the prompt")  # right-stripped
        term.type("/sora sta")
        term.wait(lambda: term.cursor_line() == "sora> /sora sta", 10, "the half-typed line")
        term.wait(lambda: any("[OPENED]" in line for line in term.lines()), 90, "the demo's notice")
        time.sleep(0.5)  # let the prompt redraw after the notice (it is a redraw, not an event)
        lines = term.lines()
        opened = next(i for i, line in enumerate(lines) if "[OPENED]" in line)
        assert not any("sta[OPENED]" in line for line in lines), "\n".join(lines)
        assert term.cursor_line() == "sora> /sora sta", "\n".join(lines)
        assert term.screen.cursor.y > opened
        term.type("\x15\x04")  # Ctrl-U clears the line, Ctrl-D on an empty line quits
        assert term.proc.wait(30) == 0
        time.sleep(0.2)
        assert term.screen.cursor.x == 0, "Ctrl-D left the cursor mid-line"
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait(10)
        os.close(term.master)
