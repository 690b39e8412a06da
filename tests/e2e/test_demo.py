"""Issue 5's "done when": `sora-bot run --demo` shows a whole incident lifecycle in the shell —
one opened per incident, updates in between, one resolved — and exits 0 on its own."""

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
    heads = re.findall(r"^\[(OPENED|UPDATE|RESOLVED|FLAPPING)\] (.+?)(?: \((?:warning|error|critical)\))?$",
                       proc.stdout, re.M)
    assert heads, proc.stdout
    by_title: dict[str, list[str]] = {}
    for kind, title in heads:
        by_title.setdefault(title, []).append(kind)
    official = [t for t in by_title if t.startswith("Official:")]
    ours = [t for t in by_title if "API" in t and not t.startswith("Official:")]
    assert official and ours, by_title
    for title, kinds in by_title.items():
        assert kinds[0] == "OPENED" and kinds.count("OPENED") == 1, (title, kinds)
        assert kinds[-1] == "RESOLVED" and kinds.count("RESOLVED") == 1, (title, kinds)
    assert any("UPDATE" in kinds for kinds in by_title.values())
    assert "Traceback" not in proc.stderr
    # the demo works on a throwaway database, not the user's
    assert not (tmp_path / "sora-bot.db").exists()
