"""The fake Sora API speaks the wire format the probes and the diagnosis rely on."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from bot.clock import FakeClock
from bot.fakes import FakeSoraAPI, key_hash
from bot.fakes.sora import SEED_ERROR
from tests.fakes.fixtures import fake_clock, sora_api  # noqa: F401 (fixtures)

KEY = "sk-proj-TESTKEY0123456789abcdefghij"
AUTH = {"Authorization": f"Bearer {KEY}"}


def get(api: FakeSoraAPI, path: str, **kw: object) -> httpx.Response:
    return httpx.get(api.base_url + path, timeout=5, **kw)  # type: ignore[arg-type]


def test_base_url_is_loopback_v1(sora_api: FakeSoraAPI) -> None:
    assert sora_api.base_url.startswith("http://127.0.0.1:")
    assert sora_api.base_url.endswith("/v1")


def test_models_lists_sora_models_with_openai_headers(sora_api: FakeSoraAPI) -> None:
    r = get(sora_api, "/models", headers=AUTH)
    assert r.status_code == 200
    ids = [m["id"] for m in r.json()["data"]]
    assert {"sora-2", "sora-2-pro"} <= set(ids)
    assert r.headers["x-request-id"].startswith("req_")
    assert int(r.headers["openai-processing-ms"]) >= 0


def test_no_key_gets_fast_401(sora_api: FakeSoraAPI) -> None:
    r = get(sora_api, "/models")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "x-request-id" in r.headers


def test_videos_list_empty_matches_fixture(sora_api: FakeSoraAPI) -> None:
    r = get(sora_api, "/videos", params={"limit": "1"}, headers=AUTH)
    assert r.json() == {"object": "list", "data": [], "first_id": None, "last_id": None,
                        "has_more": False}


@pytest.mark.parametrize(("mode", "status", "code"), [
    ("seed_error", 400, "invalid_request"),
    ("unauthorized", 401, "invalid_api_key"),
    ("forbidden", 403, "unsupported_country_region_territory"),
    ("not_found", 404, "model_not_found"),
    ("rate_limit", 429, "rate_limit_exceeded"),
    ("insufficient_quota", 429, "insufficient_quota"),
    ("server_error", 500, None),
    ("overloaded", 503, "server_is_overloaded"),
])
def test_error_modes(sora_api: FakeSoraAPI, mode: str, status: int, code: str | None) -> None:
    sora_api.set_mode(mode)
    r = get(sora_api, "/videos", params={"limit": "1"}, headers=AUTH)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.headers["x-request-id"].startswith("req_")


def test_seed_error_body_is_exact(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("seed_error")
    assert get(sora_api, "/models", headers=AUTH).json() == SEED_ERROR


def test_rate_limit_headers(sora_api: FakeSoraAPI) -> None:
    sora_api.retry_after_s = 7
    sora_api.set_mode("rate_limit")
    r = get(sora_api, "/models", headers=AUTH)
    assert r.headers["retry-after"] == "7"
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert r.headers["x-ratelimit-limit-requests"] == "5"
    assert r.headers["x-ratelimit-reset-requests"] == "7s"
    assert "try again in 7s" in r.json()["error"]["message"]


def test_html_502_hits_even_unkeyed_requests(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("html_502")
    r = get(sora_api, "/models")
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert "cloudflare" in r.text


def test_account_modes_still_answer_401_without_key(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("insufficient_quota")
    assert get(sora_api, "/models").status_code == 401


def test_route_mode_overrides_global(sora_api: FakeSoraAPI) -> None:
    sora_api.set_mode("forbidden", route="videos_list")
    assert get(sora_api, "/models", headers=AUTH).status_code == 200
    assert get(sora_api, "/videos", headers=AUTH).status_code == 403
    sora_api.clear_route_mode("videos_list")
    assert get(sora_api, "/videos", headers=AUTH).status_code == 200


def test_unknown_mode_and_route_rejected(sora_api: FakeSoraAPI) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        sora_api.set_mode("explode")
    with pytest.raises(ValueError, match="unknown route"):
        sora_api.set_mode("ok", route="nope")


def test_hung_never_answers_and_slow_answers_late() -> None:
    with FakeSoraAPI(slow_seconds=0.2) as api:
        api.set_mode("hung")
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(api.base_url + "/models", timeout=0.3)
        api.set_mode("slow")
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(api.base_url + "/models", headers=AUTH, timeout=0.1)
        r = httpx.get(api.base_url + "/models", headers=AUTH, timeout=2)
        assert r.status_code == 200
        assert r.elapsed.total_seconds() >= 0.2


def test_stop_releases_a_hung_request_quickly() -> None:
    api = FakeSoraAPI().start()
    api.set_mode("hung")
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(httpx.get(api.base_url + "/models", timeout=10).status_code)
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    t = threading.Thread(target=call)
    t.start()
    api.wait_for_requests(1)
    api.stop()
    t.join(5)
    assert not t.is_alive()
    assert outcome  # either a 503 or a closed connection, but the client is not left hanging


def test_record_redacts_authorization_but_keeps_a_hash(sora_api: FakeSoraAPI) -> None:
    get(sora_api, "/models", headers=AUTH)
    (rec,) = sora_api.wait_for_requests(1)
    assert rec.headers["authorization"] == "Bearer [REDACTED]"
    assert KEY not in repr(rec)
    assert rec.key_sha256 == key_hash(KEY)
    assert rec.method == "GET" and rec.path == "/v1/models"


def test_valid_keys_reject_others() -> None:
    with FakeSoraAPI(valid_keys=[KEY]) as api:
        assert get(api, "/models", headers=AUTH).status_code == 200
        r = get(api, "/models", headers={"Authorization": "Bearer sk-wrong"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def create(api: FakeSoraAPI, **fields: str) -> httpx.Response:
    files = {k: (None, v) for k, v in fields.items()}
    return httpx.post(api.base_url + "/videos", files=files, headers=AUTH, timeout=5)


def test_create_validates_seconds(sora_api: FakeSoraAPI) -> None:
    r = create(sora_api, prompt="a calm ocean at sunrise", seconds="5")
    assert r.status_code == 400
    err = r.json()["error"]
    assert (err["code"], err["param"], err["type"]) == ("invalid_value", "seconds",
                                                        "invalid_request_error")


def test_create_accepts_json_and_requires_prompt(sora_api: FakeSoraAPI) -> None:
    r = httpx.post(sora_api.base_url + "/videos", json={"model": "sora-2", "seconds": "8",
                                                       "prompt": "a kite"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["seconds"] == "8"
    r = httpx.post(sora_api.base_url + "/videos", json={"seconds": "4"}, headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"


def test_job_progresses_to_completed_with_poll_header(sora_api: FakeSoraAPI) -> None:
    sora_api.job_steps = 3
    video = create(sora_api, prompt="a calm ocean at sunrise", model="sora-2", seconds="4").json()
    assert video["status"] == "queued" and video["object"] == "video"
    seen = []
    for _ in range(3):
        r = get(sora_api, f"/videos/{video['id']}", headers=AUTH)
        assert r.headers["openai-poll-after-ms"] == str(sora_api.poll_after_ms)
        seen.append(r.json()["status"])
    assert seen == ["in_progress", "in_progress", "completed"]
    assert r.json()["error"] is None and r.json()["progress"] == 100
    listed = get(sora_api, "/videos", params={"limit": "1"}, headers=AUTH).json()
    assert listed["data"][0]["id"] == video["id"]


def test_job_fails_with_moderation(sora_api: FakeSoraAPI) -> None:
    sora_api.set_job_mode("moderation_blocked")
    video = create(sora_api, prompt="something", seconds="4").json()
    last = {}
    for _ in range(sora_api.job_steps):
        last = get(sora_api, f"/videos/{video['id']}", headers=AUTH).json()
    assert last["status"] == "failed"
    assert last["error"]["code"] == "moderation_blocked"
    assert set(last["error"]) == {"code", "message"}


def test_unknown_video_is_404(sora_api: FakeSoraAPI) -> None:
    assert get(sora_api, "/videos/video_nope", headers=AUTH).status_code == 404


def test_scenario_follows_the_injected_clock(fake_clock: FakeClock) -> None:
    with FakeSoraAPI(clock=fake_clock) as api:
        api.set_scenario([(0, "ok"), (10, "server_error"), (20, "ok")])
        assert get(api, "/models", headers=AUTH).status_code == 200
        fake_clock.advance(10)
        assert get(api, "/models", headers=AUTH).status_code == 500
        fake_clock.advance(10)
        assert get(api, "/models", headers=AUTH).status_code == 200
        api.set_mode("overloaded")  # an explicit mode ends the scenario
        fake_clock.advance(-15)
        assert get(api, "/models", headers=AUTH).status_code == 503


def test_flaky_mode_mixes_5xx() -> None:
    with FakeSoraAPI() as api:
        api.set_mode("flaky")
        codes = [get(api, "/models", headers=AUTH).status_code for _ in range(4)]
        assert codes == [500, 503, 502, 500]


def test_body_is_recorded(sora_api: FakeSoraAPI) -> None:
    httpx.post(sora_api.base_url + "/videos", json={"prompt": "p", "seconds": "4"}, headers=AUTH)
    (rec,) = sora_api.wait_for_requests(1, path="/v1/videos")
    assert rec.json() == {"prompt": "p", "seconds": "4"}
    assert json.loads(rec.body)["seconds"] == "4"
