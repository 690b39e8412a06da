"""Issue 11's first hour, through a real ``sora-bot run`` with piped stdin (Contract 2).

One process, one conversation: every case a newcomer hit is a message, and each answer is
read back as the terminal prints it.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import BotProcess, free_port
from tests.shell.cases import CHAINED_TRACEBACK, PRETTY_JSON, SEED


@pytest.fixture
def bot(tmp_path):
    env = {"SORA_API_BASE_URL": "http://127.0.0.1:9/v1", "SORA_STATUS_URL": "http://127.0.0.1:9",
           "PROBE_TIMEOUT": "1", "PORT": str(free_port()), "LOG_LEVEL": "INFO",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    process = BotProcess(env, tmp_path)
    yield process
    process.close()


def _titles(block: str) -> list[str]:
    return [line for line in block.splitlines() if re.match(r"^\S+ ", line) and not line.startswith(" ")]


def test_the_first_hour_in_the_terminal(bot):
    # one paste, one message: the chained traceback and the pretty JSON are one diagnosis each
    chained = bot.ask(CHAINED_TRACEBACK, "(network)")
    assert "Network failure (network)" in chained
    pretty = bot.ask(PRETTY_JSON, "content_policy")
    assert "Content policy rejection" in pretty

    # small talk gets a hint, not a diagnosis
    hint = bot.ask("hello there", "Not an error I can diagnose")
    assert "Unrecognised error" not in hint and "Likely causes" not in hint

    # commands without the slash and in any case
    assert "sora-bot help" in bot.ask("sora help", "sora-bot help")
    help_text = bot.ask("/SORA HELP", "sora-bot help")
    assert "thread" not in help_text and "the channel" not in help_text  # it speaks of here
    assert "This terminal will get one notice" in bot.ask("/sora subscribe", "Subscri")

    # an error is one line naming the problem
    refused = bot.ask("/sora probe nope", "nope")
    assert refused.strip() == "❌ Unknown probe target 'nope'; configured: openai"

    # /sora paste off works here: a paste gets a hint until it is switched back on
    bot.ask("/sora paste off", "Paste settings updated")
    assert "paste detection is off" in bot.ask(SEED, "paste detection is off")
    bot.ask("/sora paste on", "Paste settings updated")
    assert "risk_control" in bot.ask(SEED, "risk_control")

    # what was counted: the three diagnoses, not the small talk or the hint-answered paste
    status = bot.ask("/sora status", "Sora status:")
    assert re.search(r"Team errors \(15 min\)\s+3\b", status), status

    assert bot.close() == 0
    assert "Traceback" not in "".join(bot.stderr_lines)
