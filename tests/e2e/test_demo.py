"""Issue 5's "done when": `sora-bot run --demo` shows a whole incident lifecycle in the shell —
one opened per incident, updates in between, one resolved — and exits 0 on its own. Issue 14:
the probes' outage and the official page's incident are ONE incident, with concise notices."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.e2e.helpers import free_port


def test_demo_prints_one_lifecycle_per_incident(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({"PORT": str(free_port()), "LOG_LEVEL": "INFO"})
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--demo", "--demo-seconds", "20"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path, env=env,
        timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    blocks = [b for b in proc.stdout.split("\n\n")
              if re.match(r"^\[(OPENED|UPDATE|RESOLVED|FLAPPING)\] ", b.strip())]
    assert blocks, proc.stdout
    by_incident: dict[str, list[list[str]]] = {}
    for block in blocks:
        lines = [line.strip() for line in block.strip().splitlines()]
        number = re.search(r"incident #(\d+) · ", block)
        assert number, block
        by_incident.setdefault(number.group(1), []).append(lines)
    # One outage is one incident (issue 14): probes and the official page in one thread.
    assert len(by_incident) == 1, by_incident
    [notices] = by_incident.values()
    kinds = [n[0].split("]")[0].strip("[") for n in notices]
    assert kinds[0] == "OPENED" and kinds.count("OPENED") == 1, kinds
    assert kinds[-1] == "RESOLVED" and kinds.count("RESOLVED") == 1, kinds
    assert any(n[-1].endswith("official update") for n in notices), notices
    assert not any(n[0].startswith("[OPENED] Official:") for n in notices)
    # Concise: no line repeated within a notice, none of the parent's repeated in an update.
    parent = set(notices[0])
    for n in notices:
        assert len(set(n)) == len(n), n
        if n is not notices[0]:
            assert not parent & set(n), (parent & set(n))
    assert "Traceback" not in proc.stderr
    # the demo works on a throwaway database, not the user's
    assert not (tmp_path / "sora-bot.db").exists()
