"""What we know about Sora / OpenAI / gateway errors, kept as data.

Three tables, validated at import (a typo fails at boot, not during an incident):

* ``RULES``: how evidence found in a paste (codes, types, message patterns, HTTP status,
  exception class names, predicates) maps to a category and ``retryable``. The rule with the
  highest ``priority`` whose triggers match wins. Precedence is encoded in the priorities:
  quota beats a 429; a zero limit beats an ordinary rate limit; content-policy words beat the
  generic ``invalid_request_error``; specific codes and messages beat bare HTTP statuses.
* ``CAUSES``: cause id → title and why, in plain user language.
* ``ACTIONS``: action id → a concrete step. Templates may use ``{param}``, ``{hint}``,
  ``{retry_after}``, ``{status}``, ``{provider}`` (mid-sentence), ``{provider_name}``
  (sentence start), ``{code}``.

Rules reference causes (with a likelihood) and actions by id; categories have defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.diagnosis.model import CATEGORIES

STATUS_PAGE_URL = "https://status.openai.com"
LIMITS_URL = "https://platform.openai.com/settings/organization/limits"
BILLING_URL = "https://platform.openai.com/settings/organization/billing/overview"
USAGE_URL = "https://platform.openai.com/usage"
API_KEYS_URL = "https://platform.openai.com/api-keys"
ORG_SETTINGS_URL = "https://platform.openai.com/settings/organization/general"

# Predicates a rule may require (all of them, in addition to one trigger).
PREDICATES: frozenset[str] = frozenset({
    "param_null",     # the payload names no parameter
    "param_set",      # the payload names a parameter
    "no_status",      # no HTTP status shows in the text: the request never completed
    "html",           # the paste is an HTML page
    "job_failed",     # a video job object with status "failed"
    "has_payload",    # an error body (JSON / repr / fields) was found
    "wrapped",        # the error was found inside another error's message (a gateway relaying)
    "status_5xx",     # the HTTP status shown is 5xx
})


_META = set("\\.^$*+?{}[]()|")


def _branches(source: str) -> list[str]:
    """Split a regex at its top-level ``|`` (outside groups and character classes)."""
    out, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(source[start:i])
            start = i + 1
        i += 1
    out.append(source[start:])
    return out


def _leading_literal(branch: str) -> str:
    """The literal text every match of ``branch`` starts with ('' when there is none)."""
    i = 0
    while branch.startswith("\\b", i):  # zero-width word boundaries
        i += 2
    lit: list[str] = []
    while i < len(branch):
        c = branch[i]
        if c == "\\" and i + 1 < len(branch) and not branch[i + 1].isalnum():
            lit.append(branch[i + 1])
            i += 2
            continue
        if c in _META:
            if c in "*?{" and lit:
                lit.pop()  # the last character is optional or repeated
            break
        lit.append(c)
        i += 1
    return "".join(lit)


@dataclass(frozen=True)
class Matcher:
    """A lower-case regex plus the literal keywords one of which every match contains.

    Python's regex engine is slow on alternations without a literal prefix, so a rule's regex
    only runs when one of its keywords is in the (lower-cased) text: a few ``in`` checks.
    """

    regex: re.Pattern[str]
    keywords: tuple[str, ...] | None   # None: no safe prefilter, always run the regex

    @classmethod
    def build(cls, source: str) -> Matcher:
        bare = re.sub(r"\\.", "", source)
        if bare != bare.lower():
            raise ValueError(f"knowledge: pattern must be lower-case: {source[:60]}")
        literals = [_leading_literal(b) for b in _branches(source)]
        if any(len(x) < 2 for x in literals):
            return cls(re.compile(source), None)
        unique = list(dict.fromkeys(literals))
        # A keyword that contains another one adds nothing to the prefilter.
        minimal = tuple(k for k in unique if not any(o != k and o in k for o in unique))
        return cls(re.compile(source), minimal)

    def search(self, low: str) -> bool:
        """True when the regex matches ``low`` (a lower-cased text)."""
        if self.keywords is not None:
            for k in self.keywords:
                if k in low:
                    break
            else:
                return False
        return self.regex.search(low) is not None


@dataclass(frozen=True)
class Rule:
    """One piece of knowledge: if any trigger matches (and every predicate in ``when`` holds),
    the error is ``category`` and ``retryable``. Highest ``priority`` wins."""

    id: str
    category: str
    retryable: bool | None
    priority: int
    codes: frozenset[str] = frozenset()          # payload code/type/inner codes, lower-case
    message: str | None = None                   # lower-case regex on the lower-cased evidence
    statuses: frozenset[int] = frozenset()
    exceptions: frozenset[str] = frozenset()     # exception class names, short or qualified
    when: frozenset[str] = frozenset()
    summary: str | None = None                   # template; category default when None
    causes: tuple[tuple[str, float], ...] = ()   # (cause id, likelihood); category default
    actions: tuple[str, ...] = ()                # action ids; category default when empty
    matcher: Matcher | None = field(default=None, compare=False, repr=False)

    def matches(self, codes: frozenset[str], status: int | None, exceptions: frozenset[str],
                hay_lower: str, facts: frozenset[str]) -> bool:
        """True when every predicate holds and at least one trigger fires (a rule with no
        triggers, only predicates, fires whenever its predicates hold)."""
        if self.when and not self.when <= facts:
            return False
        if not (self.codes or self.statuses or self.exceptions or self.matcher):
            return True
        if self.codes and not self.codes.isdisjoint(codes):
            return True
        if self.statuses and status in self.statuses:
            return True
        if self.exceptions and not self.exceptions.isdisjoint(exceptions):
            return True
        return self.matcher is not None and self.matcher.search(hay_lower)


def _r(id: str, category: str, retryable: bool | None, priority: int, *,
       codes: tuple[str, ...] = (), message: str | None = None, statuses: tuple[int, ...] = (),
       exceptions: tuple[str, ...] = (), when: tuple[str, ...] = (), summary: str | None = None,
       causes: tuple[tuple[str, float], ...] = (), actions: tuple[str, ...] = ()) -> Rule:
    return Rule(
        id=id, category=category, retryable=retryable, priority=priority,
        codes=frozenset(c.lower() for c in codes), message=message,
        statuses=frozenset(statuses), exceptions=frozenset(exceptions), when=frozenset(when),
        summary=summary, causes=causes, actions=actions,
        matcher=Matcher.build(message) if message else None,
    )


_NET = ("no_status",)

# --------------------------------------------------------------------------------------------
# Rules. Priorities by tier: 90–100 decisive codes and phrases; 60–89 message patterns;
# 40–59 types and exception classes; 20–39 bare HTTP statuses; below 20 weak hints.
# --------------------------------------------------------------------------------------------
RULES: tuple[Rule, ...] = (
    # ---- quota: never advise retrying, even when it arrives as HTTP 429 --------------------
    _r("insufficient_quota", "quota", False, 100,
       codes=("insufficient_quota", "billing_hard_limit_reached", "billing_not_active",
              "insufficient_user_quota", "quota_exceeded", "insufficient_balance",
              "credit_balance_too_low", "pre_consume_token_quota_failed", "insufficientquota"),
       message=r"exceeded your current quota|check your plan and billing|billing hard limit"
               r"|billing (?:is )?not active|account is not active|credit balance is too low"
               r"|insufficient (?:balance|credits?|funds|quota)|out of credits"
               r"|exceeds the available quota|额度不足|余额不足|额度已用尽|配额不足"
               r"|quota (?:has been )?exhausted|insufficient_(?:user_)?quota"
               r"|quota[^\n]{0,60}?\bis not enough|pre-?consumed? quota failed"
               r"|exceeded your quota|budget (?:has been )?exceeded",
       summary="{provider_name} says the account is out of quota or credit (billing cap "
               "reached); retrying will not help until billing is fixed."),
    _r("payment_required", "quota", False, 36, statuses=(402,),
       summary="{provider_name} answered 402 Payment Required: the account needs credit."),

    # ---- a rate limit of zero: the tier has no access, waiting will not help --------------
    _r("limit_zero", "rate_limit", False, 97,
       message=r"\blimit:? 0\b(?![.,]?\d)|\blimit of 0\b",
       summary="{provider_name} rate-limited the request, but the limit for this model on "
               "your account is 0: your usage tier has no access to it, so waiting will not "
               "help.",
       causes=(("tier_no_access", 0.8), ("wrong_project", 0.2)),
       actions=("check_limits_page", "raise_tier", "check_project_model", "try_other_model")),

    # ---- content policy: the prompt, input or output was rejected by moderation -------------
    _r("moderation_code", "content_policy", False, 96,
       codes=("moderation_blocked", "content_policy_violation", "content_filter",
              "responsibleaipolicyviolation", "invalid_prompt", "safety_violation",
              "input_moderation", "output_moderation", "content_moderation",
              "sensitive_words_detected", "prompt_blocked", "image_generation_user_error"),
       summary="{provider_name} rejected the request on content-policy grounds (moderation "
               "of the prompt, the input image or the generated video)."),
    _r("moderation_message", "content_policy", False, 95,
       message=r"moderation|safety system|content (?:management )?polic|content filter"
               r"|usage polic|flagged|did not pass|guardrail|violat\w* (?:our|the) (?:\w+ )?"
               r"(?:policies|policy|terms)|not allowed by our safety|public figure"
               r"|real person|likeness|copyright|third-party content|内容违规|敏感词|违规内容"
               r"|内容审核|涉嫌违规|sensitive (?:information|content)|\bunsafe|_unsafe"
               r"|violate our (?:guardrails|policies)",
       summary="{provider_name} rejected the request on content-policy grounds (moderation "
               "of the prompt, the input image or the generated video)."),

    # ---- risk control: a generic anti-abuse rejection that does not say what is wrong -------
    _r("sentinel_block", "risk_control", False, 94,
       codes=("sentinel_block", "risk_control", "request_blocked_by_risk_control"),
       message=r"sentinel|risk[ _-]control|风控|unusual activity|suspicious activity"
               r"|abnormal (?:account|request|traffic)|账号异常|automated (?:traffic|queries)",
       summary="{provider_name} blocked the request with a generic anti-abuse (risk-control) "
               "rejection that does not say what is wrong.",
       causes=(("platform_risk_control", 0.55), ("request_pattern", 0.25),
               ("account_limits", 0.12), ("content_moderation", 0.08))),
    # Cloudflare's 1015 page shares the "Access denied" title with real blocks: the rate-limit
    # wording wins, it is temporary.
    _r("cloudflare_rate_limited", "rate_limit", True, 94,
       message=r"you are being rate limited|error 1015\b",
       summary="Cloudflare in front of {provider} is rate limiting this client (error 1015); "
               "it lifts after a short wait.",
       causes=(("rpm_exceeded", 0.5), ("request_pattern", 0.3), ("proxy_or_vpn_ip", 0.2)),
       actions=("retry_backoff", "slow_down", "check_egress_ip", "capture_ray_id")),
    _r("cloudflare_block", "risk_control", False, 93,
       message=r"you have been blocked|attention required!? \| cloudflare|error 10(?:06|07|08|10|12|20)\b"
               r"|access denied \| [\w.\-]{1,100} used cloudflare|just a moment\.\.\."
               r"|checking (?:if the site connection is secure|your browser)|cf-chl|challenge-platform"
               r"|enable javascript and cookies to continue|why have i been blocked"
               r"|security service to protect itself|needs to review the security of your connection",
       summary="A Cloudflare security check in front of {provider} blocked the request "
               "(anti-bot / anti-abuse), it never reached the API.",
       causes=(("edge_firewall", 0.6), ("request_pattern", 0.25), ("proxy_or_vpn_ip", 0.15)),
       actions=("check_egress_ip", "reduce_frequency", "set_user_agent", "failover_gateway",
                "capture_ray_id")),
    # Load shedding worded as a refusal ("… high demand and cannot process your request …
    # retry after 20 seconds"): the text says what is wrong, so it is not the generic block.
    # The same words with a 5xx ("503 … experiencing high demand", Gemini) are an overload.
    _r("peak_load_5xx", "server", True, 94, when=("status_5xx",),
       message=r"experiencing (?:high|heavy|unusually high) (?:demand|load|traffic)|during peak load",
       summary="{provider_name} is overloaded (high demand, {status}); the same request should "
               "succeed after a wait.",
       causes=(("server_overload", 0.6), ("provider_incident", 0.4)),
       actions=("retry_backoff", "check_status_page", "failover_gateway")),
    _r("peak_load", "rate_limit", True, 93,
       message=r"experiencing (?:high|heavy|unusually high) (?:demand|load|traffic)|during peak load",
       summary="{provider_name} is shedding load (high demand / peak load) and throttled this "
               "request; it succeeds after a wait.",
       causes=(("server_overload", 0.5), ("rpm_exceeded", 0.3), ("concurrency", 0.2)),
       actions=("retry_backoff", "slow_down", "queue_jobs", "failover_gateway")),
    _r("unable_to_process", "risk_control", False, 92,
       message=r"unable to process (?:the |your |this )?request|could not process (?:the |your |this )?request"
               r"|cannot process (?:the |your |this )?request|can't process (?:the |your |this )?request"
               r"|request (?:has been |was )?(?:rejected|refused|blocked)"
               r"(?! (?:by|due to|as a result of) (?:our )?(?:moderation|safety|content))",
       when=("param_null",),
       summary="{provider_name} refused the request without saying why (a generic "
               "risk-control rejection, not a bad parameter): usually anti-abuse filtering of "
               "the account, the request pattern or the content.",
       causes=(("platform_risk_control", 0.4), ("account_limits", 0.2), ("request_pattern", 0.16),
               ("temporary_server_issue", 0.14), ("content_moderation", 0.1)),
       actions=("check_status_page", "test_neutral_content", "reduce_frequency", "check_account",
                "wait_retry_later", "failover_gateway", "keep_request_id")),

    # ---- permission: valid key, but the account may not do this -----------------------------
    _r("region", "permission", False, 90,
       codes=("unsupported_country_region_territory", "unsupported_country", "region_not_supported"),
       message=r"country,? region,? or territory not supported|not available in your "
               r"(?:country|region)|unsupported (?:country|region)|region (?:is )?not supported",
       summary="{provider_name} does not serve the country or region the request comes from.",
       causes=(("region_blocked", 0.8), ("proxy_or_vpn_ip", 0.2)),
       actions=("check_region", "check_egress_ip", "failover_gateway")),
    _r("org_verification", "permission", False, 89,
       message=r"organi[sz]ation must be verified|verify organi[sz]ation|organization verification"
               r"|must be verified to (?:use|access)",
       summary="The organization must be verified before it can use this model.",
       causes=(("org_not_verified", 0.85), ("propagation_delay", 0.15)),
       actions=("verify_org", "wait_propagation", "try_other_model")),
    _r("phone_verification", "permission", False, 89,
       codes=("phone_number_required", "phone_verification_required"),
       message=r"phone (?:number )?verification|verify (?:your|a) phone|phone number (?:is )?required",
       summary="The account must complete phone verification before it can do this.",
       causes=(("phone_not_verified", 0.9),), actions=("verify_phone",)),
    _r("model_access", "permission", False, 88,
       codes=("model_not_allowed", "insufficient_permissions", "permission_denied",
              "permission_error", "access_denied", "project_model_access_denied",
              "permissiondenied", "request_forbidden"),
       message=r"does not have access to (?:the )?(?:model|api|operation|this)|not have access to (?:sora|this feature)"
               r"|insufficient permissions|missing scopes?|not (?:yet )?available (?:to|for) your"
               r" (?:account|organi[sz]ation|tier|plan)|ip (?:address )?(?:is )?not authori[sz]ed"
               r"|not allowed to (?:use|access)|无权访问|没有权限",
       summary="The key is valid, but this account or project is not allowed to use what the "
               "request asks for.",
       causes=(("project_model_access", 0.5), ("tier_no_access", 0.3), ("key_scopes", 0.2)),
       actions=("check_project_model", "check_key_scopes", "check_limits_page")),

    # ---- a gateway answered 5xx because ITS upstream credential was refused ------------------
    # (the 401 is inside the relayed message; the caller's own key was accepted by the gateway)
    _r("upstream_auth", "server", True, 88, when=("wrapped", "status_5xx"),
       message=r"unauthori[sz]ed|incorrect api key|invalid api key|invalid authentication"
               r"|\b401\b|无效的令牌|令牌已过期",
       summary="The gateway answered {status}: its own upstream credentials were refused (an "
               "upstream 401). Your key reached the gateway; the gateway has to fix its channel.",
       causes=(("gateway_upstream", 0.8), ("provider_incident", 0.2)),
       actions=("wait_retry_later", "failover_gateway", "keep_request_id")),

    # ---- auth: bad, missing or revoked key, wrong organization ------------------------------
    _r("invalid_key", "auth", False, 87,
       codes=("invalid_api_key", "missing_api_key", "invalid_authentication", "invalid_token",
              "access_terminated",
              "token_expired", "account_deactivated", "invalid_organization",
              "mismatched_organization", "no_such_organization", "invalid_project",
              "unauthenticated", "authentication_error", "invalid_auth", "unauthorized",
              "401"),
       message=r"incorrect api key|invalid api key|invalid authentication|no api key provided"
               r"|api key (?:is )?(?:missing|invalid|revoked|expired|disabled)"
               r"|you didn'?t provide an api key|must be a member of an organi[sz]ation"
               r"|openai-organization header|no such organi[sz]ation|deactivated account"
               r"|account (?:has been |was )?(?:deactivated|disabled)"
               r"|invalid subscription key|access denied due to invalid|key (?:has been )?revoked"
               r"|无效的令牌|令牌已过期|令牌不存在|未提供令牌|令牌状态不可用|无效的\s?key|invalid token"
               r"|token (?:is )?(?:invalid|expired)|unauthori[sz]ed|access (?:was )?terminated",
       summary="{provider_name} rejected the API key (wrong, revoked or missing key, or the "
               "wrong organization/project for it)."),

    # ---- not_found: model, deployment, video or URL does not exist for this key ------------
    _r("model_not_found", "not_found", False, 86,
       codes=("model_not_found", "deploymentnotfound", "deployment_not_found", "not_found",
              "not_found_error", "unknown_url", "resource_not_found", "notfound",
              "model_not_available", "no_available_channel"),
       message=r"does not exist|not found|no such (?:model|deployment|video|file|resource)"
               r"|invalid model\b"
               r"|unknown (?:model|url)|invalid url \(|no available channel|无可用渠道|模型不存在"
               r"|resource (?:was )?not found|deployment for this resource",
       summary="{provider_name} says what the request names does not exist for this key "
               "(model, deployment, video id or URL)."),

    # ---- bad_request: a specific bad parameter ---------------------------------------------
    _r("video_not_ready", "bad_request", True, 85,
       codes=("video_not_ready", "not_ready"),
       message=r"video is not (?:ready|completed)|not (?:yet )?(?:ready|completed) for download"
               r"|still (?:processing|in progress|queued)",
       summary="The video is not finished yet; its content can be downloaded once its status is "
               "\"completed\".",
       causes=(("job_still_running", 0.9),), actions=("poll_until_completed",)),
    _r("param_code", "bad_request", False, 84,
       codes=("invalid_value", "missing_required_parameter", "invalid_type", "unknown_parameter",
              "integer_above_max_value", "integer_below_min_value", "string_above_max_length",
              "string_below_min_length", "invalid_image", "invalid_image_format",
              "image_parse_error", "invalid_file_format", "unsupported_file", "invalid_size",
              "context_length_exceeded", "invalid_argument", "invalid_parameter",
              "unsupported_value", "unsupported_parameter", "operationnotsupported",
              "invalid_payload", "invalidpayload", "array_above_max_length",
              "unprocessable_entity", "validation_error", "value_error"),
       summary="The request has a bad parameter{param_part}{hint_part}"),
    _r("param_message", "bad_request", False, 83,
       message=r"invalid value|missing required parameter|unrecognized request argument"
               r"|unknown parameter|must be one of|supported values are|is not one of"
               r"|invalid type for|expected (?:a |an )?(?:string|integer|number|object)"
               r"|is a required property|field required|must match the requested"
               r"|must be (?:a |an )?(?:string|integer|number|one of)|too long|exceeds? the maximum"
               r"|invalid (?:image|file|size|parameter)|参数错误|参数无效"
               r"|\bmust (?:have|be|match|contain|not exceed)\b|unexpected value|permitted:"
               r"|maximum context length|reduce the length of"
               r"|check your (?:input|request|parameters)",
       summary="The request has a bad parameter{param_part}{hint_part}"),

    # ---- rate_limit: per-minute limits, concurrency, gateway saturation ---------------------
    _r("rate_limit_code", "rate_limit", True, 82,
       codes=("rate_limit_exceeded", "rate_limit_error", "requests", "tokens",
              "too_many_requests", "resource_exhausted", "concurrency_limit_exceeded",
              "rate_limited", "throttled", "429"),
       summary="{provider_name} rate-limited the request (too many requests or tokens per "
               "minute); it will succeed after a wait."),
    _r("rate_limit_message", "rate_limit", True, 81,
       message=r"rate limit|too many requests|you are being rate limited|error 1015\b"
               r"|requests per (?:min|minute|second|day)|concurren(?:cy|t) (?:limit|requests)"
               r"|too many concurrent|exceeded (?:\w+ )?rate limit|throttl"
               r"|too many 429|负载已饱和|请求过于频繁|请求频率|限流|并发(?:数)?(?:超|已达)"
               r"|上游负载|saturated",
       summary="{provider_name} rate-limited the request (too many requests or tokens per "
               "minute); it will succeed after a wait."),

    # ---- server: provider or gateway side 5xx / overloaded ---------------------------------
    _r("overloaded", "server", True, 80,
       codes=("server_error", "service_unavailable_error", "server_is_overloaded",
              "overloaded_error", "internal_error", "internal_server_error", "cf_bad_gateway",
              "cf_service_unavailable", "bad_gateway", "gateway_timeout", "unavailable",
              "service_unavailable", "do_request_failed", "upstream_error", "backend_error",
              "deadline_exceeded", "internal", "processing_error", "generation_failed",
              "video_generation_failed", "internalservererror", "serviceunavailable"),
       message=r"overloaded|the server had an error|server error|internal error"
               r"|service (?:is )?(?:temporarily )?unavailable|bad gateway|gateway time-?out"
               r"|upstream (?:connect error|request timeout|service|server)|no healthy upstream"
               r"|disconnect/reset before headers"
               r"|上游服务|服务器内部错误|系统繁忙|服务繁忙|服务不可用"
               r"|try (?:me )?again in a (?:little )?bit|try again in a few minutes",
       summary="{provider_name} had a server-side problem (5xx / overloaded); the same request "
               "should succeed after a wait."),

    # ---- network: the request never completed -----------------------------------------------
    _r("network_tls", "network", True, 79, when=_NET,
       codes=("cert_has_expired", "unable_to_verify_leaf_signature", "self_signed_cert_in_chain",
              "depth_zero_self_signed_cert", "err_tls_cert_altname_invalid"),
       exceptions=("SSLError", "SSLCertVerificationError", "SSLZeroReturnError", "SSLEOFError"),
       message=r"certificate[_ ]verify[_ ]failed|ssl(?:error|:)|tls handshake|unable to get local "
               r"issuer|self[- ]signed certificate|wrong version number|eof occurred in violation",
       summary="The TLS (HTTPS) handshake failed, so the request never reached "
               "{provider}.",
       causes=(("tls_interception", 0.5), ("ca_bundle", 0.35), ("proxy_or_vpn_ip", 0.15)),
       actions=("check_tls", "check_proxy", "retry_backoff")),
    _r("network_dns", "network", True, 79, when=_NET,
       codes=("enotfound", "eai_again"),
       exceptions=("gaierror", "NameResolutionError"),
       message=r"name or service not known|temporary failure in name resolution|getaddrinfo"
               r"|nodename nor servname|no address associated|could not resolve host"
               r"|name resolution|dns|err_name_not_resolved",
       summary="The host name could not be resolved (DNS), so the request never left this "
               "machine.",
       causes=(("dns_failure", 0.6), ("wrong_base_url", 0.25), ("local_network", 0.15)),
       actions=("check_base_url", "check_dns", "retry_backoff")),
    _r("network", "network", True, 78, when=_NET,
       codes=("econnreset", "etimedout", "econnrefused", "econnaborted", "epipe", "ehostunreach",
              "enetunreach", "und_err_connect_timeout", "und_err_socket", "und_err_headers_timeout",
              "und_err_body_timeout", "und_err_closed", "err_socket_connection_timeout"),
       exceptions=("APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout",
                   "ReadTimeout", "WriteTimeout", "PoolTimeout", "RemoteProtocolError", "ReadError",
                   "WriteError", "NetworkError", "TimeoutException", "TransportError",
                   "ClientConnectorError", "ClientConnectionError", "ServerDisconnectedError",
                   "ServerTimeoutError", "ClientOSError", "ClientPayloadError",
                   "ConnectionTimeoutError", "SocketTimeoutError", "ConnectionError",
                   "ConnectionResetError", "ConnectionRefusedError", "ConnectionAbortedError",
                   "BrokenPipeError", "TimeoutError", "MaxRetryError", "NewConnectionError",
                   "ProtocolError", "ProxyError", "ConnectTimeoutError", "ReadTimeoutError",
                   "IncompleteRead", "RemoteDisconnected", "ChunkedEncodingError", "Timeout",
                   "timeout", "FetchError", "ConnectTimeoutError", "SocketError",
                   "HeadersTimeoutError", "BodyTimeoutError"),
       message=r"connection (?:error|reset|refused|aborted|timed out|closed)|timed out"
               r"|socket hang up|fetch failed|network error|econnreset|etimedout|econnrefused"
               r"|server disconnected|remote end closed|peer closed connection"
               r"|cannot connect to host|failed to establish a new connection|read timeout"
               r"|timeout of \d+ ?ms exceeded|request timed out|context deadline exceeded"
               r"|i/o timeout|broken pipe|incomplete chunked read|connection error"
               r"|error communicating with openai|max retries exceeded with url"
               r"|cannot connect to (?:api|host|server)|connect timeout|failed to fetch"
               r"|err_connection_\w{2,20}|err_internet_disconnected|err_timed_out"
               r"|连接已断开|连接超时|连接被重置|网络错误|请求超时",
       summary="The request never completed: the connection to {provider} failed or "
               "timed out before an answer came back."),

    # ---- types and exception classes: weaker than the codes and messages above --------------
    _r("quota_exception", "quota", False, 58,
       exceptions=("InsufficientQuotaError", "BudgetExceededError")),
    _r("content_exception", "content_policy", False, 57,
       exceptions=("ContentPolicyViolationError", "ContentFilterError")),
    _r("auth_exception", "auth", False, 56,
       exceptions=("AuthenticationError", "openai.error.AuthenticationError")),
    _r("permission_exception", "permission", False, 55,
       exceptions=("PermissionDeniedError", "openai.error.PermissionError")),
    _r("not_found_exception", "not_found", False, 54, exceptions=("NotFoundError",)),
    _r("rate_limit_exception", "rate_limit", True, 53,
       exceptions=("RateLimitError", "TooManyRequests", "RateLimitExceeded")),
    _r("server_exception", "server", True, 52,
       exceptions=("InternalServerError", "ServiceUnavailableError", "APIError",
                   "openai.error.APIError", "BadGateway", "GatewayTimeout", "BadGatewayError",
                   "GatewayTimeoutError")),
    _r("bad_request_exception", "bad_request", False, 41,
       exceptions=("BadRequestError", "InvalidRequestError", "UnprocessableEntityError",
                   "ValidationError", "ConflictError", "ContextWindowExceededError")),

    # ---- bare HTTP statuses ------------------------------------------------------------------
    _r("status_401", "auth", False, 38, statuses=(401,),
       summary="{provider_name} answered 401 Unauthorized: the API key was not accepted."),
    _r("status_403", "permission", False, 37, statuses=(403, 451),
       summary="{provider_name} answered {status} Forbidden: this key or account may not do "
               "this."),
    _r("status_404", "not_found", False, 35, statuses=(404, 405, 410),
       summary="{provider_name} answered {status}: the URL, model or object does not exist "
               "for this key."),
    _r("status_429", "rate_limit", True, 34, statuses=(429,),
       summary="{provider_name} answered 429 Too Many Requests: slow down and retry with "
               "backoff."),
    _r("status_5xx", "server", True, 33,
       statuses=tuple(range(500, 600)),
       summary="{provider_name} answered {status}: a server-side failure; the same request "
               "should succeed after a wait."),
    _r("status_timeout", "network", True, 32, statuses=(408, 499),
       summary="The request timed out before it completed ({status})."),
    _r("status_4xx", "bad_request", False, 31, statuses=(400, 409, 411, 413, 414, 415, 422),
       summary="{provider_name} answered {status}: the request is malformed."),

    # ---- weak hints --------------------------------------------------------------------------
    _r("invalid_request_param", "bad_request", False, 15, codes=("invalid_request_error",),
       when=("param_set",),
       summary="The request has a bad parameter{param_part}{hint_part}"),
    _r("job_failed", "server", True, 14, when=("job_failed",),
       summary="The video job failed during generation without a specific reason; a new job "
               "with the same input usually succeeds.",
       causes=(("temporary_server_issue", 0.6), ("content_moderation", 0.25),
               ("input_problem", 0.15)),
       actions=("retry_new_job", "check_status_page", "test_neutral_content", "keep_request_id")),
    _r("named_param", "bad_request", False, 13, when=("param_set", "has_payload"),
       summary="The request has a bad parameter{param_part}{hint_part}"),
    _r("invalid_request_generic", "bad_request", False, 12,
       codes=("invalid_request_error", "invalid_request"),
       summary="{provider_name} rejected the request as invalid without naming a parameter."),
)

# --------------------------------------------------------------------------------------------
# Causes: id → (title, why).
# --------------------------------------------------------------------------------------------
CAUSES: dict[str, tuple[str, str]] = {
    # the seed error's five
    "platform_risk_control": (
        "Platform risk control (anti-abuse filter)",
        "The API answers \"Unable to process request\" with no parameter when an anti-abuse "
        "system rejects a request; it deliberately does not say why."),
    "account_limits": (
        "Account limits or standing",
        "Unpaid or low balance, a usage tier without Sora access, an unverified organization or "
        "a restricted account can surface as a generic rejection."),
    "request_pattern": (
        "Request pattern looks automated",
        "Bursts of identical requests, many parallel jobs or rapid retries from one key or IP "
        "are treated as suspicious."),
    "temporary_server_issue": (
        "Temporary problem on the provider side",
        "During incidents or capacity shedding the API returns generic errors that go away "
        "after a while."),
    "content_moderation": (
        "Content moderation",
        "The prompt or the input image may have tripped a safety check that is reported "
        "without details."),
    # others
    "bad_key": ("Wrong or revoked API key",
                "The key is mistyped, revoked, from another project, or not the one the "
                "process actually loads."),
    "missing_key": ("No API key sent",
                    "The Authorization header is empty: the environment variable is not set "
                    "where the code runs."),
    "wrong_org": ("Wrong organization or project",
                  "The key belongs to a different organization/project than the one sent in "
                  "the OpenAI-Organization / OpenAI-Project headers."),
    "gateway_key": ("Gateway key, not an OpenAI key",
                    "A gateway needs its own token; an OpenAI key (or the reverse) is rejected."),
    "org_not_verified": ("Organization not verified",
                         "Some models (such as sora-2-pro) require organization verification."),
    "propagation_delay": ("Verification not yet propagated",
                          "Access can take up to about 15 minutes to appear after verifying."),
    "phone_not_verified": ("Phone verification missing",
                           "The account has not completed phone verification."),
    "region_blocked": ("Unsupported country or region",
                       "The API is not offered where the request comes from (by IP)."),
    "proxy_or_vpn_ip": ("Proxy, VPN or cloud egress IP",
                        "The traffic leaves through an IP the provider or its CDN distrusts "
                        "or places in another country."),
    "project_model_access": ("Project not allowed to use the model",
                             "Project settings can restrict which models a key may call."),
    "tier_no_access": ("Usage tier has no access",
                       "The model's limit for your usage tier is 0; access comes with a higher "
                       "tier."),
    "key_scopes": ("Restricted key",
                   "The key was created with limited permissions (scopes)."),
    "wrong_project": ("Key from another project",
                      "Limits are per project; the key may belong to a project without access."),
    "model_name": ("Wrong model name",
                   "The model is misspelled or not offered (Sora: sora-2, sora-2-pro)."),
    "deployment_name": ("Wrong deployment or endpoint",
                        "On Azure the deployment name, resource endpoint or api-version does "
                        "not match."),
    "object_id": ("Unknown or expired object id",
                  "The video id is wrong, belongs to another project, or the video was "
                  "deleted or expired."),
    "wrong_base_url": ("Wrong base URL or path",
                       "The base URL or endpoint path is wrong (missing /v1, typo, gateway "
                       "path)."),
    "bad_parameter": ("A parameter has an invalid value",
                      "The API validates each parameter and names the one it rejected."),
    "sdk_version": ("Outdated SDK or wrong field types",
                    "Older SDKs send fields the API no longer accepts, or numbers where strings "
                    "are expected (Sora seconds)."),
    "input_problem": ("Problem with the input file",
                      "The input_reference image has the wrong format or dimensions."),
    "job_still_running": ("Job not finished",
                          "Video content is only available once the job is completed."),
    "prompt_policy": ("Prompt violates the content policy",
                      "Violence, sexual content, real people, public figures or copyrighted "
                      "characters are rejected for video."),
    "input_image_policy": ("Input image rejected",
                           "Reference images with real people or unsafe content are rejected."),
    "output_policy": ("Generated output failed moderation",
                      "The video was generated but did not pass the output check; the same "
                      "prompt can pass or fail on another try."),
    "edge_firewall": ("CDN / firewall block",
                      "Cloudflare (or another edge firewall) blocked the client by IP, "
                      "reputation or a missing browser check."),
    "rpm_exceeded": ("Requests-per-minute limit",
                     "More requests than the per-minute limit of the model and tier."),
    "concurrency": ("Too many jobs in parallel",
                    "Video generation also limits how many jobs run at once."),
    "shared_gateway_capacity": ("Gateway upstream saturated",
                                "The gateway's upstream capacity for this group is full; it "
                                "frees up by itself."),
    "out_of_credit": ("Out of credit", "Prepaid credit is used up or the balance is negative."),
    "billing_cap": ("Billing limit reached",
                    "A monthly budget or hard limit stops further requests."),
    "payment_failed": ("Payment method problem",
                       "The card failed or billing is not set up for the organization."),
    "gateway_quota": ("Gateway balance or token quota",
                      "On a gateway, the user or the token has used up its own quota."),
    "provider_incident": ("Provider incident",
                        "An outage or degradation on the provider side."),
    "server_overload": ("Capacity overload", "The service sheds load at peak times."),
    "gateway_upstream": ("Gateway or proxy failure",
                         "A gateway or reverse proxy in between failed or could not reach "
                         "upstream."),
    "local_network": ("Local network or firewall",
                      "Outbound HTTPS is blocked, flaky or needs a proxy from where the code "
                      "runs."),
    "timeout_too_short": ("Client timeout too short",
                          "Video calls can take long; a short client timeout aborts them."),
    "dns_failure": ("DNS failure", "The resolver could not resolve the API host name."),
    "tls_interception": ("TLS interception by a proxy",
                         "A corporate proxy re-signs HTTPS with its own certificate."),
    "ca_bundle": ("Missing CA certificates",
                  "The runtime's CA bundle is missing or outdated."),
    "not_enough_info": ("Not enough information in the paste",
                        "The paste shows no status code, error code or response body."),
}

# --------------------------------------------------------------------------------------------
# Actions: id → a concrete step (template).
# --------------------------------------------------------------------------------------------
ACTIONS: dict[str, str] = {
    "check_status_page": f"Check the official status page ({STATUS_PAGE_URL}) for an incident "
                         "affecting the API or Sora.",
    "test_neutral_content": "Test the same call with different, neutral content (a plain prompt "
                            "without people, brands or reference images) to see whether the "
                            "content triggers it.",
    "reduce_frequency": "Reduce request frequency: add exponential backoff with jitter, fewer "
                        "parallel jobs, and no tight retry loops.",
    "check_account": "Check the account: billing and credit balance, usage limits and tier, "
                     f"organization verification, and the usage dashboard ({USAGE_URL}).",
    "wait_retry_later": "Wait a few minutes and retry later; if it keeps failing, contact "
                        "support with the x-request-id.",
    "failover_gateway": "If it persists, fail over to an OpenAI-compatible gateway (or back to "
                        "the official API if you are on a gateway) for this workload.",
    "keep_request_id": "Keep the x-request-id (req_…) of the failed call; support needs it.",
    "retry_backoff": "Retry with exponential backoff (for example 1 s, 2 s, 4 s … up to a "
                     "minute) and jitter.",
    "retry_after_header": "Wait {retry_after} s as the server asked, then retry.",
    "check_limits_page": f"Check the model's limits for your tier on {LIMITS_URL}.",
    "raise_tier": "Add credit or move to a higher usage tier; limits grow with the tier.",
    "check_project_model": "Check the project's allowed models and that the key belongs to the "
                           "project you expect.",
    "try_other_model": "Meanwhile use a model you have access to (for example sora-2 instead of "
                       "sora-2-pro).",
    "check_key_scopes": f"Check the key's permissions on {API_KEYS_URL} (restricted keys need "
                        "the right scopes).",
    "check_key": f"Check the key: copy it again from {API_KEYS_URL}, make sure the process "
                 "loads the variable you think (print only its last 4 characters), and that it "
                 "is not revoked.",
    "check_org_header": "Check the OpenAI-Organization / OpenAI-Project headers match the "
                        "key's organization and project (or drop them).",
    "check_gateway_key": "If you call a gateway, use the gateway's token, not an OpenAI key "
                         "(and the reverse).",
    "verify_org": f"Verify the organization on {ORG_SETTINGS_URL} (Verify Organization).",
    "wait_propagation": "If you just verified, wait about 15 minutes and retry.",
    "verify_phone": "Complete phone verification in the account settings.",
    "check_region": "Call the API from a supported country or region; see OpenAI's supported "
                    "countries list.",
    "check_egress_ip": "Check which IP the requests leave from (proxy, VPN, cloud region) and "
                       "switch to a clean, supported egress.",
    "check_model_name": "Check the model name: Sora accepts \"sora-2\" or \"sora-2-pro\" (or a "
                        "dated snapshot); list available models with GET /v1/models.",
    "check_deployment": "On Azure, check the deployment name, the resource endpoint and the "
                        "api-version in the URL.",
    "check_object_id": "Check the video id: it must come from this project, and videos expire; "
                       "list them with GET /v1/videos.",
    "check_base_url": "Check the base URL and path (for the official API "
                      "https://api.openai.com/v1, endpoint /videos).",
    "fix_param": "Fix the parameter `{param}`: {hint}",
    "fix_param_generic": "Fix the parameter `{param}` named in the error message and resend.",
    "read_message": "Read the error message for the field it rejects, fix it and resend; the "
                    "same request will fail again unchanged.",
    "check_sdk": "Update the SDK and check field types (Sora: seconds is a string such as "
                 "\"8\"; size like \"1280x720\").",
    "poll_until_completed": "Poll GET /v1/videos/{{id}} until status is \"completed\", then "
                            "download the content.",
    "rephrase_prompt": "Rephrase the prompt: remove real people, public figures, copyrighted "
                       "characters, brands, violence or sexual content.",
    "change_input_image": "Use a different reference image (no real people or unsafe content).",
    "retry_new_job": "Submit a new job; output moderation and generation failures are not "
                     "deterministic.",
    "set_user_agent": "Call the API from a server, not a browser; keep the SDK's normal "
                      "headers.",
    "capture_ray_id": "Keep the Cloudflare Ray ID from the page when asking for help.",
    "slow_down": "Lower the request rate and the number of parallel video jobs below your "
                 "limits.",
    "queue_jobs": "Put video jobs in a queue with a concurrency cap instead of firing them at "
                  "once.",
    "add_credit": f"Add credit or raise the budget on the billing page ({BILLING_URL}); do not "
                  "retry until then.",
    "check_billing": "Check the payment method and the monthly budget in the billing settings.",
    "top_up_gateway": "Top up the gateway balance or raise the token's quota in the gateway's "
                      "console; do not retry until then.",
    "check_proxy": "Check proxy settings (HTTPS_PROXY, NO_PROXY) and any corporate proxy or "
                   "firewall between you and the API.",
    "check_tls": "If a corporate proxy re-signs HTTPS, add its CA to the trust store "
                 "(SSL_CERT_FILE / REQUESTS_CA_BUNDLE / NODE_EXTRA_CA_CERTS); update certifi.",
    "check_dns": "Check DNS from the host (nslookup api.openai.com) and the container's "
                 "resolver.",
    "raise_timeout": "Raise the client timeout for video calls (create and download can take "
                     "minutes) and retry.",
    "capture_body": "Capture the full HTTP response: status code, response body (the JSON "
                    "error), and the x-request-id header.",
    "capture_headers": "Include the response headers too (x-request-id, retry-after, "
                       "x-ratelimit-*), and which base URL was called.",
    "paste_again": "Paste the captured error here again for a precise diagnosis.",
}

# --------------------------------------------------------------------------------------------
# Category defaults.
# --------------------------------------------------------------------------------------------
CATEGORY_DEFAULTS: dict[str, tuple[str, tuple[tuple[str, float], ...], tuple[str, ...]]] = {
    "auth": (
        "The API key was not accepted (wrong, revoked or missing key, or the wrong "
        "organization).",
        (("bad_key", 0.55), ("missing_key", 0.2), ("wrong_org", 0.15), ("gateway_key", 0.1)),
        ("check_key", "check_org_header", "check_gateway_key"),
    ),
    "permission": (
        "The key is valid but this account may not do that.",
        (("project_model_access", 0.35), ("org_not_verified", 0.3), ("region_blocked", 0.2),
         ("tier_no_access", 0.15)),
        ("check_project_model", "verify_org", "check_region", "check_limits_page"),
    ),
    "not_found": (
        "What the request names does not exist for this key.",
        (("model_name", 0.4), ("object_id", 0.3), ("wrong_base_url", 0.2),
         ("deployment_name", 0.1)),
        ("check_model_name", "check_object_id", "check_base_url"),
    ),
    "bad_request": (
        "The request is malformed.",
        (("bad_parameter", 0.7), ("sdk_version", 0.2), ("input_problem", 0.1)),
        ("read_message", "check_sdk"),
    ),
    "content_policy": (
        "The request was rejected by content moderation.",
        (("prompt_policy", 0.6), ("input_image_policy", 0.25), ("output_policy", 0.15)),
        ("rephrase_prompt", "change_input_image", "retry_new_job"),
    ),
    "risk_control": (
        "The request was blocked by an anti-abuse check that does not say why.",
        (("platform_risk_control", 0.5), ("request_pattern", 0.25), ("account_limits", 0.15),
         ("content_moderation", 0.1)),
        ("check_status_page", "test_neutral_content", "reduce_frequency", "check_account",
         "wait_retry_later", "failover_gateway"),
    ),
    "rate_limit": (
        "Too many requests: the rate limit was hit; retry with backoff.",
        (("rpm_exceeded", 0.6), ("concurrency", 0.3), ("request_pattern", 0.1)),
        ("retry_backoff", "slow_down", "queue_jobs", "check_limits_page"),
    ),
    "quota": (
        "The account is out of quota or credit; retrying will not help.",
        (("out_of_credit", 0.5), ("billing_cap", 0.3), ("payment_failed", 0.2)),
        ("add_credit", "check_billing", "check_account"),
    ),
    "server": (
        "A server-side failure; the same request should succeed later.",
        (("provider_incident", 0.4), ("server_overload", 0.35), ("gateway_upstream", 0.25)),
        ("retry_backoff", "check_status_page", "failover_gateway", "keep_request_id"),
    ),
    "network": (
        "The request never completed (connection failed or timed out).",
        (("local_network", 0.4), ("timeout_too_short", 0.25), ("provider_incident", 0.2),
         ("gateway_upstream", 0.15)),
        ("retry_backoff", "check_proxy", "raise_timeout", "check_status_page"),
    ),
    "unknown": (
        "The paste does not show what went wrong; capture the full response to find out.",
        (("not_enough_info", 1.0),),
        ("capture_body", "capture_headers", "paste_again", "check_status_page"),
    ),
}

# Causes and actions for notable rules beyond their own tuples (when the rule gives none,
# these per-rule extras are used instead of the category default).
RULE_DETAILS: dict[str, tuple[tuple[tuple[str, float], ...], tuple[str, ...]]] = {
    "insufficient_quota": ((("out_of_credit", 0.55), ("billing_cap", 0.3),
                            ("payment_failed", 0.15)),
                           ("add_credit", "check_billing", "check_account")),
    "moderation_code": ((("prompt_policy", 0.55), ("input_image_policy", 0.25),
                         ("output_policy", 0.2)),
                        ("rephrase_prompt", "change_input_image", "retry_new_job")),
    "model_not_found": ((("model_name", 0.5), ("deployment_name", 0.2), ("object_id", 0.2),
                         ("wrong_base_url", 0.1)),
                        ("check_model_name", "check_deployment", "check_object_id",
                         "check_base_url")),
    "invalid_key": ((("bad_key", 0.55), ("missing_key", 0.2), ("wrong_org", 0.15),
                     ("gateway_key", 0.1)),
                    ("check_key", "check_org_header", "check_gateway_key")),
    "rate_limit_code": ((("rpm_exceeded", 0.6), ("concurrency", 0.3), ("request_pattern", 0.1)),
                        ("retry_backoff", "slow_down", "queue_jobs", "check_limits_page")),
    "overloaded": ((("server_overload", 0.45), ("provider_incident", 0.35), ("gateway_upstream", 0.2)),
                   ("retry_backoff", "check_status_page", "failover_gateway",
                    "keep_request_id")),
}

# Gateway variants: on a gateway some causes and steps differ.
GATEWAY_OVERRIDES: dict[str, tuple[tuple[tuple[str, float], ...], tuple[str, ...]]] = {
    "quota": ((("gateway_quota", 0.7), ("out_of_credit", 0.3)),
              ("top_up_gateway", "check_account")),
    "rate_limit": ((("shared_gateway_capacity", 0.5), ("rpm_exceeded", 0.3),
                    ("concurrency", 0.2)),
                   ("retry_backoff", "slow_down", "failover_gateway")),
    "auth": ((("gateway_key", 0.5), ("bad_key", 0.4), ("missing_key", 0.1)),
             ("check_gateway_key", "check_key")),
}

# --------------------------------------------------------------------------------------------
# Parameters of the Sora video API: what a valid value looks like.
# --------------------------------------------------------------------------------------------
PARAM_HINTS: dict[str, str] = {
    "seconds": "it must be the string \"4\", \"8\" or \"12\" (a string, not a number).",
    "size": "it must be one of \"720x1280\", \"1280x720\", \"1024x1792\" or \"1792x1024\".",
    "model": "it must be \"sora-2\" or \"sora-2-pro\" (or a dated snapshot such as "
             "\"sora-2-2025-10-06\").",
    "prompt": "it is required and must be a non-empty text description of the video.",
    "input_reference": "it must be a JPEG, PNG or WebP image (or an MP4) whose dimensions "
                       "match the requested size exactly.",
    "video_id": "it must be an id returned by POST /v1/videos (video_…) in this project.",
    "variant": "it must be \"video\", \"thumbnail\" or \"spritesheet\".",
    "limit": "it must be an integer between 1 and 100.",
    "order": "it must be \"asc\" or \"desc\".",
    "remix_video_id": "it must be the id of a completed video in this project.",
    # parameters Sora does not have, that people send anyway
    "duration": "Sora has no `duration`: send `seconds` as the string \"4\", \"8\" or \"12\".",
    "n": "Sora makes one video per request: drop `n` and send several requests.",
    "resolution": "Sora has no `resolution`: send `size`, one of \"720x1280\", \"1280x720\", "
                  "\"1024x1792\" or \"1792x1024\".",
    "aspect_ratio": "Sora has no `aspect_ratio`: pick a portrait or landscape `size` instead.",
    # a parameter with a specific code ("param:code")
    "prompt:string_above_max_length": "it is too long: shorten it below the maximum length the "
                                      "message names.",
    "input_reference:unsupported_file": "it must be a JPEG, PNG or WebP image (or an MP4).",
}

# Provider hints: lower-case substrings of the paste → provider, checked in this order
# (a gateway or Azure in front of OpenAI-shaped errors is still a gateway or Azure).
PROVIDER_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("azure", ("azure", "innererror", "deploymentnotfound", "ocp-apim", "apim-request-id",
               "responsibleaipolicyviolation", "invalid subscription key", '"content_filter"',
               "'content_filter'")),
    ("gateway", ("api_error", "openai_error", "new-api", "one-api", "openrouter",
                 "upstream error", "upstream_error", "bad_response_status_code",
                 "insufficient_user_quota", "(request id: ")),
    ("openai", ("openai", "req_", "invalid_request_error", "insufficient_quota")),
)
# Gateway hints in Chinese (one-api / new-api and their forks), looked for in non-ASCII pastes.
PROVIDER_HINTS_CJK: tuple[str, ...] = ("当前分组", "额度", "余额", "令牌", "渠道", "上游", "中转")

# How to name the provider mid-sentence ({provider}); {provider_name} is the capitalised form.
PROVIDER_NAMES: dict[str, str] = {
    "openai": "OpenAI", "azure": "Azure OpenAI", "gateway": "the gateway", "unknown": "the API",
}

# Parameters named by a phrase rather than by their name (message regex → parameter).
PARAM_ALIASES: tuple[tuple[str, str], ...] = (
    (r"\b(?:inpaint|input|reference) image\b|\binput_reference\b", "input_reference"),
    (r"\bvideo (?:length|duration)\b|\bduration\b", "seconds"),
    (r"\bresolution\b|\bwidth and height\b", "size"),
)

NOTABLE_CODES: tuple[str, ...] = tuple(sorted({c for r in RULES for c in r.codes}))


def _validate() -> None:
    """Fail at import on a broken table: unknown category, cause, action or predicate."""
    ids = [r.id for r in RULES]
    if len(ids) != len(set(ids)):
        raise ValueError("knowledge: duplicate rule ids")
    for rule in RULES:
        if rule.category not in CATEGORIES:
            raise ValueError(f"knowledge: rule {rule.id} has unknown category {rule.category}")
        if not rule.when <= PREDICATES:
            raise ValueError(f"knowledge: rule {rule.id} has unknown predicate {set(rule.when)}")
        for cause_id, likelihood in rule.causes:
            if cause_id not in CAUSES or not 0.0 <= likelihood <= 1.0:
                raise ValueError(f"knowledge: rule {rule.id} has bad cause {cause_id}")
        for action_id in rule.actions:
            if action_id not in ACTIONS:
                raise ValueError(f"knowledge: rule {rule.id} has unknown action {action_id}")
        if not (rule.codes or rule.message or rule.statuses or rule.exceptions or rule.when):
            raise ValueError(f"knowledge: rule {rule.id} has no trigger")
    for table in (CATEGORY_DEFAULTS, RULE_DETAILS, GATEWAY_OVERRIDES):
        for key, value in table.items():
            causes, actions = (value[1], value[2]) if table is CATEGORY_DEFAULTS else value
            if key not in CATEGORIES and key not in ids:
                raise ValueError(f"knowledge: unknown key {key}")
            for cause_id, _ in causes:
                if cause_id not in CAUSES:
                    raise ValueError(f"knowledge: {key} has unknown cause {cause_id}")
            for action_id in actions:
                if action_id not in ACTIONS:
                    raise ValueError(f"knowledge: {key} has unknown action {action_id}")
    if set(CATEGORY_DEFAULTS) != set(CATEGORIES):
        raise ValueError("knowledge: every category needs defaults")


_validate()

RULES_BY_PRIORITY: tuple[Rule, ...] = tuple(sorted(RULES, key=lambda r: -r.priority))

__all__ = [
    "ACTIONS", "CATEGORY_DEFAULTS", "CAUSES", "GATEWAY_OVERRIDES", "NOTABLE_CODES", "PARAM_ALIASES",
    "PARAM_HINTS",
    "Matcher", "PREDICATES", "PROVIDER_HINTS", "PROVIDER_HINTS_CJK", "PROVIDER_NAMES", "RULES",
    "RULES_BY_PRIORITY", "RULE_DETAILS", "Rule", "STATUS_PAGE_URL",
]
