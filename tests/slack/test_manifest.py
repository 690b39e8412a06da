"""manifest.yml grants exactly the scopes the code uses, the events it listens to, /sora.

No YAML library is a dependency, so the manifest's few lists are read line by line (its layout
is ours); the code side is ``adapters.slack.scopes`` plus a scan of the Web API calls made.
"""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack import app as slack_app
from adapters.slack.scopes import EVENT_SCOPES, METHOD_SCOPES, required_bot_scopes

SLACK_DIR = Path(slack_app.__file__).parent
MANIFEST = (SLACK_DIR / "manifest.yml").read_text()


def _list_after(key: str) -> list[str]:
    """Items of the YAML list under ``key:`` (``- item`` lines, deeper-indented)."""
    lines = MANIFEST.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent:
            break
        if stripped.startswith("- "):
            items.append(stripped[2:].strip())
    return items


def test_manifest_bot_scopes_are_exactly_the_needed_ones():
    assert set(_list_after("bot")) == required_bot_scopes()


def test_every_web_api_call_in_the_adapter_has_its_scopes_listed():
    called = set()
    for path in SLACK_DIR.glob("*.py"):
        for name in re.findall(r"(?<!slack\.)client\.([a-z]+_[a-zA-Z_]+)\(", path.read_text()):
            called.add(name)
    assert {"chat_postMessage", "chat_update", "users_info"} <= called  # the scan sees calls
    methods = {m.replace(".", "_") for m in METHOD_SCOPES}
    assert called <= methods, f"add scopes for {called - methods} to adapters/slack/scopes.py"


def test_events_slash_command_interactivity_and_socket_mode():
    assert set(_list_after("bot_events")) == set(EVENT_SCOPES)
    assert f"- command: {slack_app.SLASH_COMMAND}" in MANIFEST
    assert re.search(r"interactivity:\n\s+is_enabled: true", MANIFEST)
    assert "socket_mode_enabled: true" in MANIFEST
    assert "messages_tab_enabled: true" in MANIFEST  # DMs to the bot
