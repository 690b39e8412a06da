"""Loopback fakes of the Sora API and the official status page (real HTTP on 127.0.0.1).

Shipped in the package because ``sora-bot run --demo`` plays a scripted outage against them;
tests import them through ``tests.fakes``. They are never used unless asked for by name.
"""

from bot.fakes._server import RecordedRequest, Scenario, key_hash
from bot.fakes.demo import DemoFakes, start_demo_fakes
from bot.fakes.sora import FakeSoraAPI
from bot.fakes.status import FakeIncident, FakeStatusPage, StatusStep

__all__ = ["FakeSoraAPI", "FakeStatusPage", "FakeIncident", "StatusStep", "RecordedRequest",
           "Scenario", "key_hash", "DemoFakes", "start_demo_fakes"]
