"""Extraction details: payload shapes, wrapped errors, statuses shown (never guessed), hints."""

from __future__ import annotations

import pytest

from bot.diagnosis import diagnose
from bot.diagnosis.extract import extract, parse_duration, parse_objects


def test_json_inside_prose_is_found() -> None:
    d = diagnose('hey all, sora keeps saying {"error":{"message":"Rate limit reached for '
                 'sora-2","type":"requests","param":null,"code":"rate_limit_exceeded"}} since 9am')
    assert (d.category, d.error_code, d.error_type) == ("rate_limit", "rate_limit_exceeded",
                                                         "requests")


def test_python_repr_with_none_true_false() -> None:
    ex = extract("{'error': {'message': 'boom', 'type': 'server_error', 'param': None, "
                 "'code': None, 'retryable': True}}")
    assert (ex.message, ex.error_type, ex.error_code, ex.param) == ("boom", "server_error",
                                                                    None, None)


def test_repr_with_double_quoted_message_containing_apostrophes() -> None:
    ex = extract("""{'error': {'message': "Invalid value: '10'. Supported values are: '4', '8', """
                 """and '12'.", 'type': 'invalid_request_error', 'param': 'seconds', """
                 """'code': 'invalid_value'}}""")
    assert ex.param == "seconds" and ex.message.startswith("Invalid value: '10'")


def test_innermost_error_of_a_gateway_wrapper_wins() -> None:
    inner = ('{\\"error\\":{\\"message\\":\\"You exceeded your current quota\\",\\"type\\":'
             '\\"insufficient_quota\\",\\"code\\":\\"insufficient_quota\\"}}')
    text = ('{"error":{"message":"upstream error: status 429, body: ' + inner +
            '","type":"upstream_error","code":"bad_response_status_code"}}')
    d = diagnose(text)
    assert (d.category, d.error_code, d.provider) == ("quota", "insufficient_quota", "gateway")
    assert d.http_status == 429  # shown in the text ("status 429")


def test_doubly_wrapped_error() -> None:
    level2 = '{"error":{"message":"The server had an error","type":"server_error"}}'
    level1 = '{"error":{"message":' + _q(level2) + ',"type":"relay"}}'
    level0 = '{"error":{"message":' + _q(level1) + ',"type":"new_api_error"}}'
    d = diagnose(level0)
    assert (d.category, d.error_type, d.message) == ("server", "server_error",
                                                     "The server had an error")


def _q(s: str) -> str:
    import json
    return json.dumps(s)


def test_escaped_json_in_a_log_line() -> None:
    d = diagnose('level=error msg="sora failed" body="{\\"error\\":{\\"message\\":\\"Invalid '
                 'value\\",\\"type\\":\\"invalid_request_error\\",\\"param\\":\\"size\\",'
                 '\\"code\\":\\"invalid_value\\"}}"')
    assert (d.category, d.param) == ("bad_request", "size")


def test_truncated_json_falls_back_to_fields() -> None:
    d = diagnose('{"error":{"message":"You exceeded your current quota, please check your plan '
                 'and billing details.","type":"insufficient_quota","param":null,"code":"insuff')
    assert d.category == "quota" and d.error_type == "insufficient_quota"


def test_a_body_cut_off_inside_its_message_still_speaks() -> None:
    # the quote never closes: the message runs to the end of the paste
    d = diagnose('API Error: 502 upstream API call failed: 429 Too Many Requests\n'
                 '{"message":"Due to suspicious activity, we are imposing temporary limits on '
                 'how frequently your account can send a req')
    assert d.category == "risk_control"


def test_a_body_with_full_width_quotes_is_read() -> None:
    # an input method or a translator turned the JSON punctuation full-width
    d = diagnose('[qwen] 返回错误响应：“{”status_code”：403，“code”：“AccessDenied.Unpurchased”，'
                 '“message”：“Access模型被拒绝。”}”')
    assert (d.category, d.http_status) == ("permission", 403)


def test_last_exception_of_a_traceback_counts() -> None:
    text = ("Traceback (most recent call last):\n  ...\nhttpx.ReadTimeout: timed out\n\n"
            "During handling of the above exception, another exception occurred:\n\n"
            "Traceback (most recent call last):\n  ...\nopenai.RateLimitError: Error code: 429 - "
            "{'error': {'message': 'Rate limit reached for sora-2', 'type': 'requests', "
            "'param': None, 'code': 'rate_limit_exceeded'}}")
    d = diagnose(text)
    assert (d.category, d.http_status) == ("rate_limit", 429)


@pytest.mark.parametrize("text,status", [
    ("HTTP/1.1 429 Too Many Requests", 429),
    ("HTTP 401 Unauthorized", 401),
    ("openai.RateLimitError: Error code: 429 - {}", 429),
    ("status: 503", 503),
    ("status=429", 429),
    ('"statusCode": 500,', 500),
    ("AxiosError: Request failed with status code 500", 500),
    ("<html><head><title>502 Bad Gateway</title></head></html>", 502),
    ("Error: 403 Country, region, or territory not supported", 403),
    ("<span>Error code 520</span> cloudflare", 520),
    ("urllib.error.HTTPError: HTTP Error 429: Too Many Requests", 429),
    ("httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://x/v1/videos/1'", 404),
    ("curl: (22) The requested URL returned error: 503", 503),
    ("upstream error: status 504, body: gateway timeout", 504),
    ("Client error '400 ' for url 'https://api-beijing.klingai.com/v1/videos/x'", 400),
    ("Server error '503 ' for url 'https://x/v1/videos'", 503),
])
def test_status_shown_in_the_text(text: str, status: int) -> None:
    assert diagnose(text).http_status == status


@pytest.mark.parametrize("text", [
    '{"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}',
    '{"error":{"message":"Rate limit reached for sora-2","code":"rate_limit_exceeded"}}',
    "httpx.ConnectTimeout: timed out",
    "processed 5000 items in 429 seconds",
    "Error: read ECONNRESET",
])
def test_status_is_never_guessed(text: str) -> None:
    assert diagnose(text).http_status is None


@pytest.mark.parametrize("text,seconds", [
    ("retry-after: 7", 7.0),
    ("Retry-After: 20\n", 20.0),
    ("retry-after-ms: 2500", 2.5),
    ('{"error":{"message":"Rate limit reached. Please try again in 20ms.","code":"rate_limit_exceeded"}}', 0.02),
    ('{"error":{"message":"Rate limit reached. Please try again in 1m30s.","code":"rate_limit_exceeded"}}', 90.0),
    ('{"error":{"code":"429","message":"exceeded call rate limit. Please retry after 6 seconds."}}', 6.0),
    ("x-ratelimit-reset-requests: 6m0s\nHTTP/1.1 429", 360.0),
])
def test_retry_after(text: str, seconds: float) -> None:
    assert diagnose(text).retry_after_s == seconds


def test_no_retry_after_when_not_said() -> None:
    assert diagnose('{"error":{"message":"Rate limit reached","type":"requests"}}').retry_after_s is None


@pytest.mark.parametrize("text,request_id", [
    ("x-request-id: req_0123456789abcdef0123456789abcdef", "req_0123456789abcdef0123456789abcdef"),
    ("X-Request-Id: 7f3e2a1b-9c8d-4e5f-a6b7-c8d9e0f1a2b3", "7f3e2a1b-9c8d-4e5f-a6b7-c8d9e0f1a2b3"),
    ('{"error":{"message":"busy (request id: 20261130101501234)","type":"new_api_error"}}',
     "20261130101501234"),
    ("Please include the request ID req_abcdef123456 in your message.", "req_abcdef123456"),
    ("Cloudflare Ray ID: <strong>8e1a2b3c4d5e6f70</strong>", "8e1a2b3c4d5e6f70"),
])
def test_request_id(text: str, request_id: str) -> None:
    assert diagnose(text).request_id == request_id


@pytest.mark.parametrize("text,provider", [
    ('{"error":{"message":"x","type":"invalid_request_error","param":null,"code":null}}', "openai"),
    ("openai.APIConnectionError: Connection error.", "openai"),
    ('POST https://api.openai.com/v1/videos -> 500', "openai"),
    ('{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}', "azure"),
    ("POST https://myres.openai.azure.com/openai/v1/videos 429", "azure"),
    ('{"error":{"message":"x","type":"new_api_error"}}', "gateway"),
    ('{"error":{"message":"当前分组上游负载已饱和","type":"x"}}', "gateway"),
    ("POST https://api.my-relay.example.com/v1/videos failed: 502 Bad Gateway", "gateway"),
    ("Error: something went wrong", "unknown"),
])
def test_provider(text: str, provider: str) -> None:
    assert diagnose(text).provider == provider


def test_failed_job_object() -> None:
    ex = extract('{"id":"video_1","object":"video","status":"failed","error":{"code":"internal_error",'
                 '"message":"boom"}}')
    assert ex.job_failed and ex.error_code == "internal_error"
    # a failed job whose reason names nothing the table knows hides the cause
    assert diagnose('{"object":"video","status":"failed","error":{"code":"weird_new_code",'
                    '"message":"Generation stopped."}}').category == "unknown"


def test_completed_job_is_not_an_error() -> None:
    assert diagnose('{"id":"video_1","object":"video","status":"completed","error":null}').category == "unknown"


def test_fastapi_detail_names_the_parameter() -> None:
    d = diagnose('{"detail":[{"loc":["body","size"],"msg":"bad size","type":"value_error"}]}')
    assert d.param == "size"


def test_node_error_code_is_the_error_code() -> None:
    d = diagnose("Error: connect ECONNREFUSED 10.0.0.5:443\n  code: 'ECONNREFUSED'")
    assert (d.category, d.error_code) == ("network", "ECONNREFUSED")


def test_gateway_5xx_about_its_upstream_network_is_server_not_network() -> None:
    d = diagnose('HTTP/1.1 502\n{"error":{"message":"dial tcp: i/o timeout","type":"new_api_error"}}')
    assert (d.category, d.retryable) == ("server", True)


def test_parse_objects_is_bounded_on_junk() -> None:
    assert parse_objects("{" * 100_000) == []
    assert parse_objects('{"a": ' * 50_000) == []


@pytest.mark.parametrize("text,seconds", [
    ("7s", 7.0), ("20ms", 0.02), ("1m30s", 90.0), ("6m0s", 360.0), ("2 seconds", 2.0),
    ("1h", 3600.0), ("nothing", None),
])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "httpx.ConnectError: [Errno 111] Connection refused",
    "httpx.ConnectTimeout: timed out",
    "httpx.ReadTimeout: The read operation timed out",
    "httpx.RemoteProtocolError: Server disconnected without sending a response.",
    "httpcore.ConnectError: [Errno -3] Temporary failure in name resolution",
    "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host api.openai.com:443 ssl:default [Connect call failed ('1.2.3.4', 443)]",
    "aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected",
    "requests.exceptions.ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
    "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.openai.com', port=443): Read timed out. (read timeout=30)",
    "urllib3.exceptions.MaxRetryError: HTTPSConnectionPool(host='api.openai.com', port=443): Max retries exceeded with url: /v1/videos (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno 101] Network is unreachable'))",
    "ssl.SSLError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)",
    "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)",
    "openai.APIConnectionError: Connection error.",
    "openai.APITimeoutError: Request timed out.",
    "Error: read ECONNRESET",
    "Error: connect ETIMEDOUT 104.18.7.192:443",
    "Error: connect ECONNREFUSED 127.0.0.1:3000",
    "Error: getaddrinfo ENOTFOUND api.openai.com",
    "Error: getaddrinfo EAI_AGAIN api.openai.com",
    "TypeError: fetch failed\n  [cause]: ConnectTimeoutError: Connect Timeout Error\n  code: 'UND_ERR_CONNECT_TIMEOUT'",
    "TypeError: fetch failed\n  [cause]: SocketError: other side closed\n  code: 'UND_ERR_SOCKET'",
    "Error: socket hang up",
    "AxiosError: timeout of 30000ms exceeded",
    "Post \"https://api.openai.com/v1/videos\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
])
def test_connection_errors_are_network_and_retryable(text: str) -> None:
    d = diagnose(text)
    assert (d.category, d.retryable, d.http_status) == ("network", True, None), d.summary


@pytest.mark.parametrize("text,category", [
    ('{"error":{"message":"当前分组上游负载已饱和，请稍后再试","type":"new_api_error"}}', "rate_limit"),
    ('{"error":{"message":"用户额度不足, 剩余额度: ＄0.01","type":"new_api_error"}}', "quota"),
    ('{"error":{"message":"无效的令牌","type":"new_api_error"}}', "auth"),
    ('{"error":{"message":"当前分组 default 下对于模型 sora-2 无可用渠道","type":"new_api_error"}}', "not_found"),
    ('{"error":{"message":"Requests to the Videos Operation have exceeded call rate limit. Please retry after 3 seconds.","code":"429"}}', "rate_limit"),
    ('{"error":{"code":"content_filter","message":"The response was filtered","innererror":{"code":"ResponsibleAIPolicyViolation"}}}', "content_policy"),
    ('{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}', "not_found"),
])
def test_gateway_and_azure_forms(text: str, category: str) -> None:
    assert diagnose(text).category == category


# ---- class names and codes outside the usual exception line / error body ----------------------
@pytest.mark.parametrize("text,name", [
    ("tenacity.RetryError: RetryError[<Future at 0x7f state=finished raised RateLimitError>]",
     "RateLimitError"),
    ('{"error_type":"ServiceUnavailableError","message":"Failed to invoke model"}',
     "ServiceUnavailableError"),
    ('PluginInvokeError: {\\"error_type\\":\\"APIConnectionError\\"}', "APIConnectionError"),
    ("Help: InsufficientQuotaError after following the quickstart guide", "InsufficientQuotaError"),
    ('Instance of "UnsupportedUserLocation" error with the API', "UnsupportedUserLocation"),
])
def test_class_names_mentioned_outside_exception_lines(text: str, name: str) -> None:
    assert name in extract(text).exceptions


def test_prose_words_are_class_names_only_without_an_exception_line() -> None:
    """With a real exception line, CamelCase words elsewhere (a product name, a class in a code
    line) are not taken as what was raised."""
    ex = extract("openai.AuthenticationError: Incorrect API key\nsee RateLimitError docs")
    assert "AuthenticationError" in ex.exceptions and "RateLimitError" not in ex.exceptions


@pytest.mark.parametrize("text,code", [
    ('ApiError(ApiError { message: "x", type: Some("insufficient_quota"), param: None, '
     'code: Some("insufficient_quota") })', "insufficient_quota"),
    ("Azure.RequestFailedException: The response was filtered\nStatus: 400 (Bad Request)\n"
     "ErrorCode: content_filter", "content_filter"),
])
def test_codes_of_rust_debug_structs_and_dotnet_error_lines(text: str, code: str) -> None:
    assert code in extract(text).codes


def test_text_after_an_exception_line_is_evidence() -> None:
    """Rust anyhow's "Caused by:" chain and what a program printed after the exception."""
    text = ("Error: Failed to call chat-completions api\n\nCaused by:\n    Invalid Authentication "
            "(type: invalid_authentication_error)")
    assert diagnose(text).category == "auth"


def test_terminal_wrapped_lines_read_as_one() -> None:
    text = ('API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":'
            '"Output blocked by content\n     filtering policy"}}')
    assert "content filtering policy" in extract(text).hay_lower
    assert diagnose(text).category == "content_policy"
