"""The Slack Web API client, the start-up check, and Slack failures → ``SendError``.

One place builds the ``AsyncWebClient`` so every caller gets the same base URL
(``SLACK_API_URL``: bolt does not read it), timeout and retry handlers:

- a 429 is retried in place only when Slack asks for a short wait (``Retry-After`` ≤
  ``max_retry_wait``); a longer wait goes back to the caller, so the outbox can schedule it
  instead of holding a worker asleep;
- connection errors are retried once (slack_sdk's default) for commands; the alert sink turns
  them off, because a re-sent ``chat.postMessage`` after a dropped answer could post twice: the
  outbox reconciles with ``find_existing`` instead.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError, SendError

DEFAULT_TIMEOUT_S = 15
DEFAULT_MAX_RETRY_WAIT_S = 5.0

# Slack ``error`` codes → may the same call succeed later unchanged? Unknown codes are not
# retried: a client error repeats itself, and the outbox dead-letters it with this reason.
SLACK_ERROR_RETRYABLE: dict[str, bool] = {
    "ratelimited": True,
    "internal_error": True,
    "fatal_error": True,
    "service_unavailable": True,
    "request_timeout": True,
    "team_added_to_org": True,
    "channel_not_found": False,
    "not_in_channel": False,
    "is_archived": False,
    "channel_is_archived": False,
    "invalid_auth": False,
    "not_authed": False,
    "account_inactive": False,
    "token_revoked": False,
    "token_expired": False,
    "missing_scope": False,
    "no_permission": False,
    "restricted_action": False,
    "msg_too_long": False,
    "invalid_blocks": False,
    "invalid_metadata_format": False,
    "no_text": False,
    "message_not_found": False,
    "cant_update_message": False,
    "edit_window_closed": False,
}
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                         "token_expired", "not_allowed_token_type"})


def _header(response: HttpResponse | Any, name: str) -> str | None:
    headers = getattr(response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) and value else str(value)
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class BoundedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, but only for waits short enough to hold the caller."""

    def __init__(self, max_retry_count: int = 2, max_wait: float = DEFAULT_MAX_RETRY_WAIT_S) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _seconds(_header(response, "retry-after"))
        return wait is None or wait <= self.max_wait


def make_web_client(token: str, api_url: str | None = None, *, timeout: int = DEFAULT_TIMEOUT_S,
                    rate_limit_retries: int = 2, max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_S,
                    retry_connection_errors: bool = True) -> AsyncWebClient:
    """An ``AsyncWebClient`` on ``api_url`` (default slack.com) with our retry policy."""
    handlers: list[AsyncRetryHandler] = [BoundedRateLimitRetryHandler(rate_limit_retries, max_retry_wait)]
    if retry_connection_errors:
        handlers.append(AsyncConnectionErrorRetryHandler(max_retry_count=1))
    kwargs: dict[str, Any] = {"token": token, "timeout": timeout, "retry_handlers": handlers}
    if api_url:
        kwargs["base_url"] = api_url if api_url.endswith("/") else api_url + "/"
    return AsyncWebClient(**kwargs)


def check_mode(*, bot_token: str | None, app_token: str | None, signing_secret: str | None) -> str:
    """Which mode the settings ask for ("socket" or "http"); a bad combination is one line."""
    if not bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the xoxb-… token from OAuth & Permissions)")
    if not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app_token:
        if not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- "
                              "(Basic Information → App-Level Tokens, scope connections:write)")
        return "socket"
    if not signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is required in HTTP mode (Basic Information → "
                          "Signing Secret), or set SLACK_APP_TOKEN to use Socket Mode")
    return "http"


async def check_auth(client: AsyncWebClient) -> dict[str, Any]:
    """``auth.test`` at start: a rejected token is a ConfigError naming SLACK_BOT_TOKEN."""
    try:
        resp = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in AUTH_ERRORS:
            raise ConfigError(f"SLACK_BOT_TOKEN was rejected by Slack ({error}); "
                              "reinstall the app and copy the Bot User OAuth Token") from None
        raise ConfigError(f"SLACK_BOT_TOKEN could not be checked: auth.test failed ({error})") from None
    except (SlackClientError, OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Slack Web API at {client.base_url} for auth.test "
                          f"({type(exc).__name__}); check the network or SLACK_API_URL") from None
    return dict(resp.data) if isinstance(resp.data, dict) else {}


def send_error(method: str, exc: BaseException) -> SendError:
    """Classify a failed Web API call for the one retry policy (bot.notify). No token inside:
    the message is built from the method, Slack's error code and the HTTP status only."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        retry_after = _seconds(_header(exc.response, "retry-after"))
        if status == 429 or error == "ratelimited":
            # status 429 even when Slack said "ratelimited" in a 200: the policy keys on it
            return SendError(f"slack {method}: rate limited", retryable=True,
                             retry_after=retry_after if retry_after is not None else 1.0,
                             status=429)
        if status >= 500:
            return SendError(f"slack {method}: HTTP {status}", retryable=True,
                             retry_after=retry_after, status=status)
        code = str(error or f"HTTP {status}")
        return SendError(f"slack {method}: {code}", retryable=SLACK_ERROR_RETRYABLE.get(code, False),
                         retry_after=retry_after, status=status)
    # Connection reset, timeout, DNS: the call may or may not have happened; retry (the outbox
    # reconciles through find_existing before posting again).
    return SendError(f"slack {method}: {type(exc).__name__}", retryable=True)
