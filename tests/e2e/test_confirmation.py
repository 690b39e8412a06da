"""Fast confirmation (issue 14 item 7) in a real ``sora-bot run``: after a round in which a
target failed, the probe job re-probes that target ``confirm_probes`` (2) times,
``confirm_interval_s`` apart (capped at a third of PROBE_INTERVAL), so three rounds of
requests reach the failing API within one PROBE_INTERVAL; when the bot's own connectivity is
lost it does not confirm. Counted at loopback servers."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import BotProcess, free_port, wait_until
from tests.probes.loopback import LoopbackServer, closed_port

PAGE = b'{"status": {"indicator": "none"}, "components": [], "incidents": []}'
INTERVAL = 6.0  # confirmations min(3 s, 6/3) = 2 s apart: three rounds fit in one interval


def _env(tmp_path, api: str, page: str, interval: float) -> dict[str, str]:
    return {"SORA_API_BASE_URL": api + "/v1", "SORA_STATUS_URL": page + "/api/v2/summary.json",
            "OPENAI_API_KEY": "sk-test-" + "c" * 32, "PROBE_INTERVAL": f"{interval:g}",
            "STATUS_POLL_INTERVAL": "1", "PROBE_TIMEOUT": "2", "PORT": str(free_port()),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "INFO"}


@pytest.fixture
def servers():
    with LoopbackServer("ok", status=503, body=b'{"error": {"message": "overloaded"}}') as api, \
            LoopbackServer("ok", body=PAGE) as page:
        yield api, page


def test_a_failed_round_is_confirmed_twice_within_one_interval(servers, tmp_path):
    api, page = servers
    bot = BotProcess(_env(tmp_path, api.base_url, page.base_url, INTERVAL), tmp_path)
    try:
        wait_until(lambda: api.requests >= 9, 30, "three rounds of probe requests")
        times = sorted(api.times)
        # three kinds per round: 0-2 the regular round, 3-5 and 6-8 the confirmations
        assert times[8] - times[0] < INTERVAL - 0.5, times  # not the next regular round
        assert times[3] - times[0] > 1.5 and times[6] - times[3] > 1.5, times  # ~2 s apart
        assert set(api.paths[:9]) == {"/v1/models", "/v1/videos?limit=1"}
    finally:
        assert bot.close() == 0


def test_no_confirmation_when_connectivity_is_lost(tmp_path):
    interval = 3.0  # confirmations would come 1 s after the round
    with LoopbackServer("close") as api:  # accepts, then hangs up: network level (reset)
        bot = BotProcess(_env(tmp_path, api.base_url, f"http://127.0.0.1:{closed_port()}",
                              interval), tmp_path)
        try:
            wait_until(lambda: len(api.accepted) >= 6, 30, "two rounds of connections")
            times = sorted(api.accepted)
            assert times[3] - times[0] > interval * 0.8, times  # the next regular round
        finally:
            assert bot.close() == 0
