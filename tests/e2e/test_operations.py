"""Safe defaults of a running bot (issue 12 item 10 and the operations guide).

* With only the terminal chat, nothing outside the host needs the web app, so it listens on
  127.0.0.1 (before: 0.0.0.0, with /healthz and /metrics open to the network); ``HOST``
  chooses another interface.
* Logs are one JSON object per line when stderr is not a terminal (before: text), secrets
  redacted like the text format.
"""

from __future__ import annotations

import io
import json
import logging
import socket

import httpx
import pytest

from bot.config import load_settings
from bot.logs import setup_logging
from tests.e2e.helpers import BotProcess, free_port
from tests.e2e.replica_support import wait_for

OPENAI_KEY = "sk-proj-OpsOpsOpsOpsOpsOps0123456789abcdefABCDEF"


def _outside_address() -> str | None:
    """An address of this host that is not loopback (None in a sandbox without one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))  # no packet is sent for a UDP connect
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _start(tmp_path, **env: str) -> tuple[BotProcess, int]:
    port = free_port()
    bot = BotProcess({"DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}", "PORT": str(port),
                      "SORA_API_BASE_URL": "http://127.0.0.1:9/v1",
                      "SORA_STATUS_URL": "http://127.0.0.1:9", "PROBE_TIMEOUT": "1",
                      "OPENAI_API_KEY": OPENAI_KEY, **env}, tmp_path)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 60, "the web app on loopback")
    return bot, port


@pytest.mark.parametrize("host, outside", [(None, False), ("0.0.0.0", True)],
                         ids=["default-loopback", "HOST=0.0.0.0"])
def test_where_the_terminal_only_bot_listens(tmp_path, host: str | None, outside: bool) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to test from")
    bot, port = _start(tmp_path, **({"HOST": host} if host else {}))
    try:
        assert _reachable("127.0.0.1", port)
        assert _reachable(address, port) is outside
    finally:
        assert bot.close() == 0


def test_logs_are_json_lines_when_stderr_is_not_a_terminal(tmp_path) -> None:
    bot, _ = _start(tmp_path)
    assert bot.close() == 0
    lines = [line for line in bot.stderr_lines if line.strip()]
    assert lines
    entries = [json.loads(line) for line in lines]  # every line is one object
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["message"].startswith("web app listening on 127.0.0.1:") for e in entries)
    assert all(e["ts"].endswith("Z") for e in entries)
    assert OPENAI_KEY not in "".join(lines)


def test_json_lines_are_redacted_and_carry_exceptions_on_one_line() -> None:
    out = io.StringIO()
    setup_logging("INFO", stream=out, fmt="json")
    log = logging.getLogger("bot.test")
    try:
        log.warning("probe failed with key %s", OPENAI_KEY)
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            log.exception("job failed")
    finally:
        setup_logging("INFO", stream=io.StringIO(), fmt="text")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "bot.test"
    assert OPENAI_KEY not in first["message"] and "probe failed with key" in first["message"]
    assert second["exc_type"] == "ValueError" and "second line" in second["exc"]


def test_log_format_auto_picks_text_on_a_terminal(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    setup_logging("INFO", stream=out, fmt="auto")
    try:
        logging.getLogger("bot.test").warning("hello")
    finally:
        setup_logging("INFO", stream=io.StringIO(), fmt="text")
    assert out.getvalue().rstrip().endswith("WARNING bot.test: hello")
    assert load_settings(env_file=None).LOG_FORMAT == "auto"
