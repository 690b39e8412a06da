from tests.fakes.fixtures import fake_clock, sora_api, status_page  # noqa: F401 (fixtures)
