"""Does a chat message contain an error paste worth diagnosing?

Chat adapters call ``looks_like_error`` on every message in channels the bot is in, so it must
be cheap and conservative: it answers True for the shapes people paste (JSON / repr error
bodies, SDK exception lines, tracebacks, HTML error pages, connection-error lines, status
lines such as ``Error code: 429``) and False for ordinary talk *about* errors ("the error rate
looks fine today", "any errors?").
"""

from __future__ import annotations

import re

MAX_SCAN = 64 * 1024

# (needles, regex): the regex runs only when one of the lower-case needles occurs.
_SIGNALS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    # JSON / repr error bodies: {"error": …}, {'error': {…}}, "message": … with "code"/"type"
    (("error",), re.compile(r"[{,]\s{0,20}\\?[\"']error\\?[\"']\s{0,5}:\s{0,5}[{\"'\[]")),
    (("message",), re.compile(r"[{,]\s{0,20}\\?[\"']message\\?[\"']\s{0,5}:\s{0,5}\\?[\"']"
                              r"[^\n]{0,2000}?\\?[\"'](?:code|type|status)\\?[\"']\s{0,5}:")),
    (("status",), re.compile(r"[\"']status[\"']\s{0,5}:\s{0,5}[\"']failed[\"']")),
    (("detail",), re.compile(r"\{\s{0,20}[\"']detail[\"']\s{0,5}:")),
    # tracebacks and exception lines
    (("traceback",), re.compile(r"Traceback \(most recent call last\)")),
    (("error", "exception", "timeout", "exceeded"),
     re.compile(r"(?:^|[\s(\[])(?:[A-Za-z_]\w{0,40}\.){1,6}[A-Z]\w{0,60}"
                r"(?:Error|Exception|Timeout|Exceeded)\b(?:\s?\[\w{1,40}\])?:", re.MULTILINE)),
    (("error", "exception"),
     re.compile(r"(?:^|[\s(\[])[A-Z][A-Za-z0-9_]{0,60}(?:Error|Exception)(?:\s?\[\w{1,40}\])?:"
                r"[ \t]*\S", re.MULTILINE)),
    (("error",), re.compile(r"^[ \t]*(?:Uncaught (?:\(in promise\) )?)?Error(?: \[\w{1,40}\])?:[ \t]*\S",
                            re.MULTILINE)),
    (("ai_", "error"), re.compile(r"\bAI_[A-Za-z]{3,40}Error\b")),
    # status lines
    (("http",), re.compile(r"\bHTTP/\d(?:\.\d)?\s[1-5]\d\d\b|\bHTTP (?:[Ee]rror )?[45]\d\d\b")),
    (("error code", "status code", "status"),
     re.compile(r"(?i:error code|status code|status(?:code)?)\s?[:=]?\s?[45]\d\d\b")),
    (("too many", "bad gateway", "unavailable", "gateway time", "internal server", "unauthorized",
      "forbidden"),
     re.compile(r"\b[45]\d\d (?:Too Many Requests|Bad Gateway|Service Unavailable|Gateway "
                r"Time-?out|Internal Server Error|Unauthorized|Forbidden)\b")),
    # HTML error pages
    (("<title", "<html", "cloudflare"),
     re.compile(r"(?i)<title>[^<]{0,200}(?:\d{3}|error|blocked|attention required|just a moment"
                r"|forbidden|unavailable|timed? ?out)|cf-error|error code \d{3,4}")),
    # Cloudflare error page copied as text: "Error 524 Ray ID: 8c1f…"
    (("ray id",), re.compile(r"\bError [1-5]\d{2,3}\b[^\n]{0,200}Ray ID:?\s?[0-9a-f]{16}")),
    # connection errors
    (("econn", "etimedout", "enotfound", "eai_again", "und_err", "epipe", "ehostunreach"),
     re.compile(r"\b(?:ECONNRESET|ETIMEDOUT|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EPIPE|EHOSTUNREACH"
                r"|ECONNABORTED|UND_ERR_[A-Z_]{2,30})\b")),
    (("socket hang up", "fetch failed", "connection refused", "connection reset",
      "name or service not known", "certificate verify failed", "max retries exceeded",
      "timed out", "name resolution"),
     re.compile(r"(?i)socket hang up|TypeError: fetch failed|Connection (?:refused|reset by peer)"
                r"|Name or service not known|CERTIFICATE_VERIFY_FAILED|Max retries exceeded with url"
                r"|(?:Read|Connect(?:ion)?) timed out|Temporary failure in name resolution")),
    # more phrases only the API, its SDKs, gateways or Cloudflare write (seen in real pastes)
    (("error communicating with openai", "status code (no body)", "from api (", "api error",
      "do not have access to it", "must be verified to", "territory not supported",
      "error while processing your request", "overloaded with other requests",
      "model is overloaded. please", "as a result of our safety system",
      "content management policy", "by our moderation system", "maximum context length is",
      "supported values are:", "invalid type for '", "user quota is not enough", "无可用渠道",
      "用户额度不足", "cf-error-details", "why have i been blocked",
      "invalid subscription key", "inpaint image must match"),
     re.compile(r"(?i)Error communicating with OpenAI|\b[45]\d\d status code \(no body\)"
                r"|HTTP code [45]\d\d from API \(|\bAPI Error:? [45]\d\d\b"
                r"|does not exist or you do not have access to it|must be verified to (?:use|stream)"
                r"|Country, region, or territory not supported"
                r"|The server had an error while processing your request"
                r"|currently overloaded with other requests|The model is overloaded\. Please"
                r"|rejected as a result of our safety system|triggering Azure OpenAI.s content "
                r"management policy|blocked by our moderation system"
                r"|maximum context length is \d{3,7} tokens|Supported values are: '"
                r"|Invalid type for '\w{1,40}'|user quota is not enough|无可用渠道|用户额度不足"
                r"|cf-error-details|Why have I been blocked\?|invalid subscription key or wrong API"
                r"|Inpaint image must match")),
    # phrases only the API or gateways write
    (("rate limit reached", "exceeded your current quota", "incorrect api key",
      "unable to process request", "当前分组", "额度不足", "无效的令牌", "upstream error"),
     re.compile(r"(?i)Rate limit reached for|You exceeded your current quota|Incorrect API key "
                r"provided|Unable to process request|当前分组|额度不足|无效的令牌|upstream error")),
)


def looks_like_error(text: str) -> bool:
    """True when ``text`` contains an error payload worth diagnosing. Never raises."""
    try:
        if not isinstance(text, str) or not text.strip():
            return False
        sample = text if len(text) <= MAX_SCAN else text[: MAX_SCAN // 2] + "\n" + text[-MAX_SCAN // 2:]
        low = sample.lower()
        for needles, pattern in _SIGNALS:
            if any(n in low for n in needles) and pattern.search(sample):
                return True
        return False
    except Exception:  # noqa: BLE001 - detection must never break a chat listener
        return False


__all__ = ["looks_like_error"]
