"""Issue 13's "done when", in the terminal: a real ``sora-bot run`` process, restarted on the
same database. A second paste says "Seen 2 times"; a note shows on the next diagnosis; a
correction changes its category; ``/sora top`` lists the kind with its count; an ingest API
event joins the same team; and all of it is still there after the restart."""

from __future__ import annotations

import httpx
import pytest

from bot.fakes import FakeSoraAPI, FakeStatusPage
from tests.e2e.helpers import BotProcess, free_port

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')
TOKEN = "ingest-" + "t" * 24


@pytest.fixture
def env(tmp_path):
    with FakeSoraAPI() as api, FakeStatusPage() as page:
        yield {"SORA_API_BASE_URL": api.base_url, "SORA_STATUS_URL": page.base_url,
               "OPENAI_API_KEY": "sk-test-" + "k" * 32, "PROBE_TIMEOUT": "2",
               "PORT": str(free_port()), "INGEST_TOKEN": TOKEN,
               "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}


def _run(env, tmp_path, steps: list[tuple[str, str]]) -> list[str]:
    bot = BotProcess(env, tmp_path)
    try:
        blocks = [bot.ask(message, want) for message, want in steps]
    finally:
        code = bot.close()
    assert code == 0 and "Traceback" not in "".join(bot.stderr_lines)
    return blocks


def test_memory_in_the_terminal_survives_a_restart(env, tmp_path):
    first, second, noted, corrected, top = _run(env, tmp_path, [
        (SEED, "risk_control"),
        (SEED, "Seen 2 times"),
        ("/sora note last Top up the card; fixed in 5 min", "Note added"),
        ("/sora correct last quota", "is now quota"),
        ("/sora top", "Most frequent errors"),
    ])
    assert "Team memory" not in first and "Seen 2 times in this team" in second
    fingerprint = first.split("fingerprint ")[1].split()[0]
    assert fingerprint in noted and fingerprint in top and "quota (corrected) — 2×" in top

    # the restarted bot: the ingest API's event joins the terminal's team (INGEST_TEAM default)
    bot = BotProcess(env, tmp_path)
    try:
        bot.ask("/sora help", "sora-bot help")  # up and answering: the web app listens too
        resp = httpx.post(f"http://127.0.0.1:{env['PORT']}/v1/events", content=SEED,
                          headers={"Authorization": f"Bearer {TOKEN}",
                                   "Content-Type": "application/json"}, timeout=10)
        assert resp.status_code == 202 and resp.json()["team"] == "shell:local"
        after = bot.ask(SEED, "fingerprint")
        top = bot.ask("/sora top 7d", "Most frequent errors")
        listed = bot.ask(f"/sora note {fingerprint}", "Team notes")
    finally:
        code = bot.close()
    assert code == 0
    assert "Quota or billing limit (quota)" in after and "Seen 4 times in this team" in after
    assert "Category corrected to quota by you" in after
    assert "Top up the card; fixed in 5 min" in after
    assert f"`{fingerprint}` quota (corrected) — 4×" in top and "1 note" in top
    assert "Top up the card" in listed
