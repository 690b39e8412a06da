"""Codes, class names and wrapped lines outside an error body.

Most pastes hold their evidence in a JSON or repr error body, which ``extract`` parses. Much
of the rest is written around it or instead of it, in forms every client prints its own way:
gRPC status names, logfmt fields, botocore's "An error occurred (X) when calling", codes as
UPPER_SNAKE or dotted words in prose, retry wrappers naming the last attempt's class, lines a
terminal wrapped. This module finds those; ``extract`` adds them to the evidence. Every pattern
here is gated by a literal (or looks only at tokens that can hold a match), because most pastes
contain none of them.
"""

from __future__ import annotations

import re

# Exception class names a paste mentions without an exception line of their own:
#   retry wrappers print the last attempt's class ("RetryError[<Future at 0x… state=finished
#   raised RateLimitError>]": tenacity, concurrent.futures); plugin hosts relay it as a field
#   ("error_type": "ServiceUnavailableError"); people name it in prose ("InsufficientQuotaError
#   after following the quickstart", "Instance of 'UnsupportedUserLocation'").
_RAISED = re.compile(r"\braised ([A-Z][A-Za-z0-9_]{2,80})>")
_TYPE_FIELD = re.compile(r"(?:error_type|errorType|exc_type|exception_type)\\?[\"']\s*:\s*\\?[\"']"
                         r"([A-Z][A-Za-z0-9_]{2,80})")
# (the look-behind follows the first letter, so the regex engine can skip ahead to a capital)
_CAMEL = re.compile(r"[A-Z](?<![\w.][A-Z])[a-z0-9]+(?:[A-Z][a-z0-9]*)+(?![\w.])")


def mentioned_exceptions(text: str, prose: str | None) -> set[str]:
    """Class names mentioned outside exception lines. ``prose`` (the text's head and tail,
    given only when the paste has no exception line at all): any CamelCase word in it counts;
    unknown names simply match no rule."""
    names = set(_RAISED.findall(text)) if "raised " in text else set()
    if ("_type" in text or "rType" in text) and ("rror" in text or "xception" in text):
        names.update(_TYPE_FIELD.findall(text))  # (every match holds "_type" or "rType")
    if prose:
        names.update(_CAMEL.findall(prose)[:32])
    return names


# Codes printed outside an error body:
#   gRPC status names: Python ``status = StatusCode.PERMISSION_DENIED``, Go ``rpc error: code =
#   PermissionDenied desc = …``;
#   structured logs (logfmt: ``err=no_available_candidate``,
#   ``providerErrorCode=InputImageSensitiveContentDetected.PrivacyInformation``);
#   a completion that ended on a filter (``"finish_reason": "content_filter"``, Gemini's
#   ``finishReason: SAFETY``), as ``finish_reason:<value>``;
#   object-store XML errors (``<Code>AccessDenied</Code>``), botocore's "An error occurred
#   (ThrottlingException) when calling …".
_GRPC_STATUS = re.compile(r"StatusCode\.([A-Z_]{4,40})\b|\bcode = ([A-Z][A-Za-z]{3,40}) desc = ")
_LOGFMT_CODE = re.compile(r"(?<![\w.])(?:[A-Za-z]*(?:[Ee]rror_?[Cc]ode|[Ee]rr_?[Cc]ode)|code|err|error_code)"
                          r"=\"?([A-Za-z][\w.\-]{2,80})")
_FINISH = re.compile(r"finish_?[Rr]eason\\?[\"']?\s{0,3}[:=]\s{0,3}\\?[\"']?"
                     r"(content_filter|CONTENT_FILTER|SAFETY|safety|PROHIBITED_CONTENT|BLOCKLIST|SPII"
                     r"|IMAGE_SAFETY|RECITATION)\b")
# botocore: "An error occurred (ThrottlingException) when calling the InvokeModel operation"
_BOTO_CODE = re.compile(r"n error occurred \(([A-Za-z][A-Za-z.]{2,60})\) when calling")
_XML_CODE = re.compile(r"<Code>([A-Za-z][\w.]{2,60})</Code>")  # S3 / OSS / Azure Storage errors
#   codes written as words: UPPER_SNAKE or dotted (``API_KEY_INVALID``, ``SAFETY.INPUT.TEXT``,
#   ``SensitiveContentDetected.SevereViolation``), snake_case codes and error types in prose
#   (``permission_error: …``, ``OpenAIException - sensitive_words_detected``), bracketed
#   connect-rpc codes (``[permission_denied] …``), and
#   Google's ``"reason": "SERVICE_DISABLED"`` without the ErrorInfo around it. Unknown words
#   are harmless: only the table's codes count.
# (both code patterns start with a letter, the look-behind after it: the regex engine skips
# ahead to a candidate letter instead of trying the look-behind at every position)
_WORD_CODE = re.compile(r"[A-Z](?<![\w.][A-Z])(?:[A-Z0-9]+(?:[_.][A-Z0-9]+)+"
                        r"|[a-z]+[A-Za-z]*(?:\.[A-Z][A-Za-z0-9]+)+)(?![\w.])")
CODE_MESSAGE = re.compile(r"[a-z]+(?:_[a-z0-9]+)+")
_SNAKE_CODE = re.compile(r"[a-z](?<![\w.][a-z])[a-z]*(?:_[a-z0-9]+)+(?![\w.])")
_BRACKET_CODE = re.compile(r"\[([a-z][a-z0-9_]{3,60})\]")  # "[permission_denied] api server …"
_REASON_FIELD = re.compile(r"\breason\\?[\"']?\s{0,3}[:=]\s{0,3}\\?[\"']([A-Z][A-Z0-9_]{3,60})\b")
_CAMEL_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])")


def side_codes(text: str, in_body: bool) -> set[str]:
    """Codes printed outside an error body (see the patterns above). Each pattern runs only
    when a literal every match contains is in the text: most pastes hold none of them."""
    out: set[str] = set()
    if "StatusCode." in text or " desc = " in text:
        for a, b in _GRPC_STATUS.findall(text)[:4]:
            out.add(a.lower() if a else _CAMEL_SPLIT.sub("_", b).lower())
    if "rr=" in text or "ode=" in text:
        out.update(c.lower() for c in _LOGFMT_CODE.findall(text)[:6])
    if "inish" in text:
        out.update("finish_reason:" + v.lower() for v in _FINISH.findall(text)[:2])
    if "<Code>" in text:
        out.update(c.lower() for c in _XML_CODE.findall(text)[:2])
    if "n error occurred (" in text:
        out.update(c.lower() for c in _BOTO_CODE.findall(text)[:2])
    if not in_body:  # a parsed body's codes and types are known already
        # code words contain "_" or "."; looking only at such whitespace-separated tokens is
        # several times cheaper than running the patterns over the whole text
        found = 0
        for tok in text.split():
            snake = "_" in tok
            if not (snake or "." in tok and not tok.islower()):
                continue
            if snake and not tok.isupper():
                out.update(_SNAKE_CODE.findall(tok))
            if not tok.islower():  # UPPER_SNAKE, dotted and CamelCase codes need a capital
                out.update(c.lower() for c in _WORD_CODE.findall(tok))
            found += 1
            if found >= 48:
                break
        if "[" in text:
            out.update(_BRACKET_CODE.findall(text)[:4])
    if 'reason"' in text or "reason'" in text or 'reason\\"' in text or "reason:" in text:
        out.update(c.lower() for c in _REASON_FIELD.findall(text)[:4])
    return out


QUOTA_LIMIT_ZERO = re.compile(r"quota_limit_value\W{1,8}(?:value\W{1,8})?0(?![\d.])")
DEBUG_CODES = re.compile(r"\b(?:code|type|r#type|kind): Some\(\"([^\"\n]{1,80})\"\)"
                          r"|^[ \t]*ErrorCode: ?([A-Za-z][\w.\-]{1,80})[ \t]*$", re.M)

# A terminal or a log viewer wraps long lines ("Output blocked by content\n     filtering
# policy", "Your\n    organization must be verified"): a line break inside a sentence (a
# lower-case word or a comma before it, a lower-case word after it) is read as a space, so
# phrases match across it.
_WRAPPED_LINE = re.compile(r"(?<=[a-z,])[ \t]*\r?\n[ \t]*(?=[a-z])")


def join_wrapped(low: str) -> str:
    """``_WRAPPED_LINE.sub(" ", low)``, found from each line break instead of trying the
    look-behind at every position (the regex cannot skip ahead; most texts have few breaks)."""
    i = low.find("\n")
    if i == -1:
        return low
    out: list[str] = []
    done = 0  # low[:done] is in ``out`` already
    n = len(low)
    while i != -1:
        j = i
        if j > 0 and low[j - 1] == "\r":
            j -= 1
        while j > done and (low[j - 1] == " " or low[j - 1] == "\t"):
            j -= 1
        k = i + 1
        while k < n and (low[k] == " " or low[k] == "\t"):
            k += 1
        if (j > done and "a" <= low[j - 1] <= "z" or j > done and low[j - 1] == ",") and (
                k < n and "a" <= low[k] <= "z"):
            out.append(low[done:j])
            out.append(" ")
            done = k
        i = low.find("\n", i + 1)
    if not out:
        return low
    out.append(low[done:])
    return "".join(out)
