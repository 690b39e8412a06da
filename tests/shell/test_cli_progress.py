"""Slow CLI work says what it waits for, on a terminal (issue 11 #8): ``sora-bot probe`` and
``sora-bot status`` against a target that accepts connections and never answers."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
import threading
import time

import pytest


@pytest.fixture
def silent_server():
    """Accepts connections and never sends a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    for conn in held:
        conn.close()
    sock.close()


@pytest.mark.parametrize("command", ["probe", "status"])
def test_a_terminal_is_told_what_is_awaited(silent_server, tmp_path, command):
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({"SORA_API_BASE_URL": silent_server + "/v1", "SORA_STATUS_URL": silent_server,
                "PROBE_TIMEOUT": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                             command], stdout=subprocess.PIPE, stderr=slave, env=env, cwd=tmp_path)
    os.close(slave)
    seen = b""
    while time.monotonic() - started < 60:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the process ended and closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    text = seen.decode("utf-8", "replace")
    assert "⏳ probing openai (each request times out after 1 s)" in text
    if command == "status":
        assert f"reading the status page {silent_server}" in text
    assert out  # and then the answer itself, on stdout


def test_nothing_extra_when_stderr_is_not_a_terminal(silent_server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({"SORA_API_BASE_URL": silent_server + "/v1", "SORA_STATUS_URL": silent_server,
                "PROBE_TIMEOUT": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    done = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                           "probe", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert "⏳" not in done.stderr
