"""`echo '/sora help' | sora-bot run`, many times, four at once, with the web port already
taken and some runs stopped by SIGTERM in the middle of start-up: every run exits 0 and no
traceback is printed. (It used to exit 1 now and then with ``AttributeError: 'NoneType' object
has no attribute 'shutdown'``: a shutdown and a lost lead both stopped the scheduler.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

RUNS = 16


def _wait_sigterm_caught(pid: int, timeout: float = 30.0) -> None:
    """Until the process has a SIGTERM handler (its SigCgt mask in /proc), however loaded the
    machine is: a signal before that is the kernel's to handle, not the bot's."""
    deadline = time.monotonic() + timeout
    bit = 1 << (signal.SIGTERM - 1)
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return  # gone already, or no /proc: send anyway
        if caught & bit:
            return
        time.sleep(0.01)


def _run(i: int, port: int, tmp: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({"PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp}/bot{i % 4}.db",
                "SORA_API_BASE_URL": "http://127.0.0.1:9/v1", "SORA_STATUS_URL": "http://127.0.0.1:9",
                "PROBE_TIMEOUT": "1", "PROBE_INTERVAL": "1", "STATUS_POLL_INTERVAL": "1"})
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                             "run"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=tmp, text=True)
    if i % 3 == 2:  # stopped mid-start: the signal lands wherever start-up has got to
        _wait_sigterm_caught(proc.pid)  # before that, the kernel's default action applies
        time.sleep(0.1 * (i % 5))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate("", timeout=60)
    else:
        out, err = proc.communicate("/sora help\n", timeout=60)
    return proc.returncode, out, err


def test_many_piped_runs_with_a_busy_port_all_exit_0(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda i: _run(i, port, str(tmp_path)), range(RUNS)))
    for i, (code, out, err) in enumerate(results):
        assert code == 0, f"run {i} exited {code}: {err[-2000:]}"
        assert "Traceback" not in err and "AttributeError" not in err, err[-2000:]
        if i % 3 != 2:
            assert "sora-bot help" in out, (i, out, err[-500:])
            assert "cannot listen on port" in err  # the busy port is one warning, not a failure
