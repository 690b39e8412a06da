"""Loopback fakes for tests (re-exported from ``bot.fakes``) and their pytest fixtures.

    from tests.fakes import FakeSoraAPI, FakeStatusPage
    from tests.fakes.fixtures import sora_api, status_page, fake_clock  # noqa: F401 (fixtures)
"""

from bot.fakes import (
                       DemoFakes,
                       FakeIncident,
                       FakeSoraAPI,
                       FakeStatusPage,
                       RecordedRequest,
                       Scenario,
                       StatusStep,
                       key_hash,
                       start_demo_fakes,
)

__all__ = ["FakeSoraAPI", "FakeStatusPage", "FakeIncident", "StatusStep", "RecordedRequest",
           "Scenario", "key_hash", "DemoFakes", "start_demo_fakes"]
