"""Issue 14's reproduction, as a real process: a target that flapped (three short outages) and
then fails for good must be announced as a sustained outage in the same thread, and its end must
be announced. Before the fix, flapping held every notice until the state had been stable for the
whole flapping window, so the sustained outage was never heard (PROBE_INTERVAL=1: three 8-second
outages, then 55 s down, no notice).

The fake API follows a script on its own clock (no sleeping in the test); the test reads the
notices the terminal prints, with deadlines.
"""

from __future__ import annotations

import re
import time

import pytest

from bot.fakes.sora import FakeSoraAPI
from bot.fakes.status import FakeStatusPage
from tests.e2e.helpers import BotProcess, free_port

KEY = "sk-test-" + "f" * 32
BAD = "server_error"
# (seconds from start, mode): healthy, three 8 s outages 8 s apart, then down for 45 s.
SCRIPT = [(0.0, "ok"), (10.0, BAD), (18.0, "ok"), (26.0, BAD), (34.0, "ok"), (42.0, BAD),
          (50.0, "ok"), (58.0, BAD), (103.0, "ok")]
SUSTAINED_AT = 58.0


@pytest.fixture
def fakes():
    sora, page = FakeSoraAPI(), FakeStatusPage()
    sora.start()
    page.start()
    try:
        yield sora, page
    finally:
        sora.stop()
        page.stop()


def _notices(bot: BotProcess, until: float) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    while time.monotonic() < until:
        try:
            block = bot.read_block(timeout=max(0.1, until - time.monotonic()))
        except TimeoutError:
            break
        if re.match(r"^\[(OPENED|UPDATE|RESOLVED|FLAPPING)\] ", block.strip()):
            out.append((time.monotonic(), block.strip()))
    return out


def test_a_sustained_outage_after_flapping_is_announced_and_ends(tmp_path, fakes):
    sora, page = fakes
    env = {"SORA_API_BASE_URL": sora.base_url, "SORA_STATUS_URL": page.base_url,
           "OPENAI_API_KEY": KEY, "PROBE_INTERVAL": "1", "STATUS_POLL_INTERVAL": "1",
           "PROBE_TIMEOUT": "2", "PORT": str(free_port()),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    bot = BotProcess(env, tmp_path)
    try:
        bot.ask("/sora help", "sora-bot help", timeout=60)  # up and answering
        start = time.monotonic()
        sora.set_scenario(SCRIPT)
        notices = _notices(bot, start + 125.0)
    finally:
        bot.close()
    seen = [(round(t - start, 1), n) for t, n in notices]
    heads = [(t, n.splitlines()[0]) for t, n in seen]
    # The sustained outage is heard within seconds of it starting, not an hour later ...
    loud = [(t, n) for t, n in seen if t >= SUSTAINED_AT and "sustained" in n.splitlines()[0]]
    assert loud and loud[0][0] <= SUSTAINED_AT + 20, heads
    assert "critical" in loud[0][1].splitlines()[0], heads
    # ... in the thread the flapping notice started, where its end is announced too.
    thread = re.search(r"incident #(\d+)", loud[0][1])
    assert thread, loud[0][1]
    flapping = [n for _, n in seen if n.startswith("[OPENED]") and "flapping" in n.splitlines()[0]]
    assert flapping and f"incident #{thread.group(1)}" in flapping[0], heads
    ended = [n for t, n in seen if t > loud[0][0] and f"incident #{thread.group(1)}" in n]
    assert ended and "over" in ended[0], heads
    # No notice storm: each short outage before the flapping notice at most opens and resolves.
    assert len(seen) <= 10, heads
