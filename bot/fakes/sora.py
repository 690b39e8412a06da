"""A fake of the Sora 2 video API on loopback, speaking the real wire format.

Bodies, status codes and headers follow the openai-python SDK and OpenAI's error-code guide
(see shared/notes/sora-api-and-status-page.md). Modes are switchable at run time, globally or
per route, and a clock-driven scenario can change the global mode over time (for the demo).

Order of checks, as at the real edge: infrastructure modes (5xx, HTML 502, slow, hung) hit every
request, keyed or not; then a request without a bearer key gets a fast 401; then the account and
request modes (seed error, 401/403/404, 429s) answer keyed requests.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.clock import Clock, utcnow
from bot.fakes._server import LoopbackServer, Scenario, key_hash


@dataclass(frozen=True)
class ErrorReply:
    status: int
    body: Mapping[str, Any] | str
    content_type: str = "application/json"
    headers: Mapping[str, str] | None = None


def _err(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


HTML_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
"""

SEED_ERROR = {"error": {"code": "invalid_request", "message": "Unable to process request",
                        "param": None, "type": "invalid_request_error"}}

NO_KEY = _err("You didn't provide an API key. You need to provide your API key in an "
              "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or "
              "as the password field (with blank username) if you're accessing the API from your "
              "browser and are prompted for a username. You can obtain an API key from "
              "https://platform.openai.com/account/api-keys.", "invalid_request_error", None)

# Canned error answers by mode. Rate-limit headers are added at send time (they carry numbers).
ERROR_REPLIES: dict[str, ErrorReply] = {
    "seed_error": ErrorReply(400, SEED_ERROR),
    "unauthorized": ErrorReply(401, _err(
        "Incorrect API key provided: sk-proj-****************************abcd. You can find your "
        "API key at https://platform.openai.com/account/api-keys.", "invalid_request_error",
        "invalid_api_key")),
    "forbidden": ErrorReply(403, _err("Country, region, or territory not supported",
                                      "request_forbidden", "unsupported_country_region_territory")),
    "not_found": ErrorReply(404, _err("The model `sora-2` does not exist or you do not have access "
                                      "to it.", "invalid_request_error", "model_not_found")),
    "rate_limit": ErrorReply(429, _err(
        "Rate limit reached for sora-2 in organization org-fake on requests per min (RPM): "
        "Limit 5, Used 5, Requested 1. Please try again in {retry_after}s.", "requests",
        "rate_limit_exceeded")),
    "insufficient_quota": ErrorReply(429, _err(
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "insufficient_quota", "insufficient_quota")),
    "server_error": ErrorReply(500, _err("The server had an error while processing your request. "
                                         "Sorry about that!", "server_error", None)),
    "overloaded": ErrorReply(503, _err("The engine is currently overloaded, please try again "
                                       "later.", "service_unavailable_error",
                                       "server_is_overloaded")),
    "html_502": ErrorReply(502, HTML_502, content_type="text/html"),
}

EDGE_MODES = frozenset({"server_error", "overloaded", "html_502", "slow", "hung", "flaky"})
MODES = frozenset({"ok", *ERROR_REPLIES, "slow", "hung", "flaky"})
ROUTES = ("models", "videos_list", "videos_create", "videos_retrieve")
JOB_MODES = {
    "complete": None,
    "moderation_blocked": {"code": "moderation_blocked",
                           "message": "Your request was blocked by our moderation system."},
    "server_error": {"code": "internal_error",
                     "message": "The server had an error processing your request."},
}
# What "flaky" serves, request after request: an error spike of 5xx and timeouts.
FLAKY_CYCLE: tuple[str, ...] = ("server_error", "overloaded", "html_502", "server_error", "hung")

MODELS = ("sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06",
          "sora-2-2025-12-08")
SECONDS = ("4", "8", "12")
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")


def _parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """Parse a JSON, urlencoded or multipart body into text fields (files are skipped)."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    if ctype == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace")))
    if ctype == "multipart/form-data":
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        out: dict[str, str] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name and not part.get_filename():
                payload = part.get_payload(decode=True) or b""
                if isinstance(payload, bytes):
                    out[str(name)] = payload.decode("utf-8", "replace")
        return out
    raise ValueError(f"unsupported content type {ctype or 'none'}")


class FakeSoraAPI(LoopbackServer):
    """Loopback Sora API. ``with FakeSoraAPI() as api: api.base_url`` → ``http://127.0.0.1:P/v1``.

    Knobs (plain attributes, settable at run time): ``retry_after_s`` (429 ``retry-after``),
    ``slow_seconds`` (delay of mode ``slow``), ``poll_after_ms`` (``openai-poll-after-ms`` on
    video reads), ``job_steps`` (reads before a job finishes), ``valid_keys`` (when set, other
    keys get 401 invalid_api_key; only their hashes are kept).
    """

    name = "fake-sora"

    def __init__(self, *, clock: Clock = utcnow, mode: str = "ok", retry_after_s: int = 2,
                 slow_seconds: float = 1.0, poll_after_ms: int = 20, job_steps: int = 2,
                 valid_keys: Iterable[str] | None = None, port: int = 0) -> None:
        super().__init__(clock=clock, port=port)
        self._check_mode(mode)
        self._mode = mode
        self._route_modes: dict[str, str] = {}
        self._scenario: Scenario[str] | None = None
        self._job_mode = "complete"
        self._flaky = itertools.cycle(FLAKY_CYCLE)
        self._jobs: dict[str, dict[str, Any]] = {}
        self.retry_after_s = retry_after_s
        self.slow_seconds = slow_seconds
        self.poll_after_ms = poll_after_ms
        self.job_steps = job_steps
        self._valid: frozenset[str] | None = (
            None if valid_keys is None else frozenset(key_hash(k) for k in valid_keys))

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    # scripting ----------------------------------------------------------------------------------

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(sorted(MODES))}")

    def set_mode(self, mode: str, route: str | None = None) -> None:
        """Set the global mode (clears any scenario) or one route's override.

        ``set_mode(None, route=...)`` is not needed: use ``clear_route_mode(route)``.
        """
        self._check_mode(mode)
        with self.lock:
            if route is None:
                self._mode = mode
                self._scenario = None
            else:
                if route not in ROUTES:
                    raise ValueError(f"unknown route {route!r}; one of {', '.join(ROUTES)}")
                self._route_modes[route] = mode

    def clear_route_mode(self, route: str | None = None) -> None:
        with self.lock:
            if route is None:
                self._route_modes.clear()
            else:
                self._route_modes.pop(route, None)

    def set_scenario(self, steps: Sequence[tuple[float, str]], start: Any = None) -> None:
        """Drive the global mode by ``(seconds_from_start, mode)`` steps on the fake's clock."""
        for _, mode in steps:
            self._check_mode(mode)
        with self.lock:
            self._scenario = Scenario(steps, start or self.clock())

    def set_job_mode(self, mode: str) -> None:
        """How new video jobs end: ``complete``, ``moderation_blocked`` or ``server_error``."""
        if mode not in JOB_MODES:
            raise ValueError(f"unknown job mode {mode!r}; one of {', '.join(JOB_MODES)}")
        self._job_mode = mode

    def mode(self, route: str | None = None) -> str:
        """The mode in force now for ``route`` (route override, else scenario, else global)."""
        with self.lock:
            if route is not None and route in self._route_modes:
                return self._route_modes[route]
            if self._scenario is not None:
                value = self._scenario.value_at(self.clock())
                if value is not None:
                    return value
            return self._mode

    # wire helpers ---------------------------------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"x-request-id": f"req_{secrets.token_hex(16)}",
                   "openai-processing-ms": str(17 + secrets.randbelow(200)),
                   "openai-version": "2020-10-01",
                   "openai-organization": "org-fake"}
        if extra:
            headers.update(extra)
        return headers

    def _json(self, status: int, body: Any, extra: Mapping[str, str] | None = None
              ) -> web.Response:
        return web.Response(status=status, text=json.dumps(body),
                            content_type="application/json", headers=self._headers(extra))

    def _error(self, mode: str) -> web.Response:
        reply = ERROR_REPLIES[mode]
        extra = dict(reply.headers or {})
        body: Any = reply.body
        if mode == "rate_limit":
            extra.update({"retry-after": str(self.retry_after_s),
                          "x-ratelimit-limit-requests": "5",
                          "x-ratelimit-remaining-requests": "0",
                          "x-ratelimit-reset-requests": f"{self.retry_after_s}s"})
            body = json.loads(json.dumps(body).replace("{retry_after}", str(self.retry_after_s)))
        if reply.content_type != "application/json":
            return web.Response(status=reply.status, text=str(body),
                                content_type=reply.content_type, headers=self._headers(extra))
        return self._json(reply.status, body, extra)

    def _invalid(self, message: str, param: str, code: str = "invalid_value") -> web.Response:
        return self._json(400, _err(message, "invalid_request_error", code, param))

    async def _gate(self, request: web.Request, route: str) -> web.StreamResponse | None:
        """Apply the mode in force; None means: serve the real answer."""
        mode = self.mode(route)
        if mode == "flaky":
            with self.lock:
                mode = next(self._flaky)
        if mode in EDGE_MODES:
            if mode == "hung":
                return await self.hang()
            if mode == "slow":
                await self.pause(self.slow_seconds)
                mode = "ok"
            else:
                return self._error(mode)
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._json(401, NO_KEY)
        if self._valid is not None and key_hash(token.strip()) not in self._valid:
            return self._error("unauthorized")
        if mode != "ok":
            return self._error(mode)
        return None

    # routes --------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/videos", self._videos_list)
        app.router.add_post("/v1/videos", self._videos_create)
        app.router.add_get("/v1/videos/{video_id}", self._videos_retrieve)
        app.router.add_route("*", "/{tail:.*}", self._fallback)

    async def _fallback(self, request: web.Request) -> web.StreamResponse:
        gated = await self._gate(request, "")
        if gated is not None:
            return gated
        return self._json(404, _err(f"Invalid URL ({request.method} {request.path})",
                                    "invalid_request_error", None))

    async def _models(self, request: web.Request) -> web.StreamResponse:
        gated = await self._gate(request, "models")
        if gated is not None:
            return gated
        data = [{"id": m, "object": "model", "created": 1759708800, "owned_by": "system"}
                for m in MODELS]
        return self._json(200, {"object": "list", "data": data})

    async def _videos_list(self, request: web.Request) -> web.StreamResponse:
        gated = await self._gate(request, "videos_list")
        if gated is not None:
            return gated
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self._invalid("Invalid value for 'limit': expected an integer.", "limit")
        with self.lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j["created_at"], reverse=True)
            data = [self._video(j, advance=False) for j in jobs[:max(limit, 0)]]
        return self._json(200, {"object": "list", "data": data,
                                "first_id": data[0]["id"] if data else None,
                                "last_id": data[-1]["id"] if data else None,
                                "has_more": len(jobs) > len(data)})

    async def _videos_create(self, request: web.Request) -> web.StreamResponse:
        gated = await self._gate(request, "videos_create")
        if gated is not None:
            return gated
        try:
            form = _parse_form(request.headers.get("Content-Type", ""), await request.read())
        except (ValueError, UnicodeDecodeError) as exc:
            return self._invalid(f"Could not parse request body: {exc}", "body",
                                 "invalid_request_body")
        prompt = form.get("prompt", "").strip()
        if not prompt:
            return self._invalid("Missing required parameter: 'prompt'.", "prompt",
                                 "missing_required_parameter")
        model = form.get("model", "sora-2")
        if model not in MODELS:
            return self._invalid(f"Invalid value: '{model}'. Supported values are: "
                                 f"{', '.join(repr(m) for m in MODELS[:2])}.", "model")
        seconds = form.get("seconds", "4")
        if seconds not in SECONDS:
            return self._invalid(f"Invalid value: '{seconds}'. Supported values are: "
                                 "'4', '8', and '12'.", "seconds")
        size = form.get("size", "720x1280")
        if size not in SIZES:
            return self._invalid(f"Invalid value: '{size}'. Supported values are: "
                                 f"{', '.join(repr(s) for s in SIZES)}.", "size")
        job = {"id": f"video_{secrets.token_hex(12)}", "model": model, "seconds": seconds,
               "size": size, "prompt": prompt, "created_at": int(self.clock().timestamp()),
               "reads": 0, "outcome": self._job_mode}
        with self.lock:
            self._jobs[str(job["id"])] = job
            video = self._video(job, advance=False)
        return self._json(200, video, {"openai-poll-after-ms": str(self.poll_after_ms)})

    async def _videos_retrieve(self, request: web.Request) -> web.StreamResponse:
        gated = await self._gate(request, "videos_retrieve")
        if gated is not None:
            return gated
        video_id = request.match_info["video_id"]
        with self.lock:
            job = self._jobs.get(video_id)
            video = None if job is None else self._video(job, advance=True)
        if video is None:
            return self._json(404, _err(f"Video with id '{video_id}' not found.",
                                        "invalid_request_error", "not_found", "video_id"))
        return self._json(200, video, {"openai-poll-after-ms": str(self.poll_after_ms)})

    def _video(self, job: dict[str, Any], *, advance: bool) -> dict[str, Any]:
        """The Video object; each read moves queued → in_progress → completed/failed."""
        if advance:
            job["reads"] += 1
        reads, steps = job["reads"], max(self.job_steps, 1)
        error = None
        completed_at = expires_at = None
        if reads == 0:
            status, progress = "queued", 0
        elif reads < steps:
            status, progress = "in_progress", int(100 * reads / steps)
        else:
            error = JOB_MODES[job["outcome"]]
            status = "failed" if error else "completed"
            progress = 100 if error is None else int(100 * (steps - 1) / steps)
            completed_at = job["created_at"] + 90
            expires_at = None if error else completed_at + 86400
        return {"id": job["id"], "object": "video", "model": job["model"], "status": status,
                "progress": progress, "created_at": job["created_at"],
                "completed_at": completed_at, "expires_at": expires_at, "prompt": job["prompt"],
                "remixed_from_video_id": None, "seconds": job["seconds"], "size": job["size"],
                "error": dict(error) if error else None}

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {k: dict(v) for k, v in self._jobs.items()}
