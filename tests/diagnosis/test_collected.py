"""More real pastes (tests/diagnosis/collected.jsonl), collected for issue 10: each with its
source, the client library, language, gateway and provider, and a label decided from the
paste and its thread. This is the learning set the knowledge table was written against, with
realworld.jsonl and the retired blind sets; the held-out blind set is kept apart and only
measured (see test_blind.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.diagnosis import CATEGORIES, diagnose
from tests.diagnosis.conftest import HELD_OUT, HERE, LEARNING, ROW_FIELDS, known_miss, load_jsonl

CASES = load_jsonl(HERE / "collected.jsonl")


def test_collected_set_is_sourced_and_complete() -> None:
    assert len(CASES) >= 150
    for c in CASES:
        assert set(c) == ROW_FIELDS, c["source"]
        assert c["source"] and c["client"] and c["category"] in CATEGORIES
        assert (c["retryable"] is None) == (c["category"] == "unknown")
    assert len({c["text"] for c in CASES}) == len(CASES)
    others = [c for name in (*LEARNING, *HELD_OUT) if name != "collected.jsonl"
              for c in load_jsonl(HERE / name)]
    assert not {c["text"] for c in CASES} & {c["text"] for c in others}


def test_whole_real_corpus_is_varied() -> None:
    """Issue 10's counts: ≥ 500 real pastes, ≥ 25 per category."""
    real = (load_jsonl(HERE / "realworld.jsonl") + CASES + load_jsonl(HERE / "blind.jsonl"))
    assert len(real) >= 500
    per_category = Counter(c["category"] for c in real)
    assert min(per_category[c] for c in CATEGORIES) >= 25, per_category


# Learning pastes the table does not get right, kept visible rather than fixed by a rule that
# would only fit them (strict: the day one passes, it moves out of this list). Keys: see
# conftest.known_miss.
KNOWN_MISSES = {
    "https://github.com/raycast/extensions/issues/24649":
        "Raycast's catch-all 'Gemini has decided that your prompt did not comply with its "
        "regulations' for a JSON error: the lexicon reads a refusal of content (another thread "
        "with the same line is labelled content_policy)",
    # round 4, batch w4 (gateways, local servers, agent frameworks)
    "https://github.com/MacPaw/OpenAI/issues/88":
        "Swift's DecodingError keyNotFound 'id': the bad key is only in the thread",
    "https://github.com/adamrushy/OpenAISwift/issues/28":
        "Swift's DecodingError keyNotFound 'object': the server_error body is only in the thread",
    "https://github.com/wwwzhouhui/Claude2-PyAPI/issues/9":
        "a bare 'HTTP Error 403: Forbidden' reads as a permission refusal; the detection is "
        "only in the thread",
    "https://github.com/qgrail/obsidian-ai-assistant/issues/5":
        "a JSON SyntaxError reading the answer ('Expected property name'): no server words",
    "https://github.com/snowby666/poe-api-wrapper/issues/192":
        "'unexpected character: line 1 column 1' reading poe.com's answer: the Cloudflare "
        "challenge is only in the thread",
    "https://github.com/XInTheDark/raycast-g4f/issues/206":
        "a bare 'AbortError: The operation was aborted.' reads as a cut connection; the thread "
        "never found the cause",
    "https://github.com/volcengine/volc-sdk-python/issues/55":
        "'Access Denied: Internal Error' with code 50400: the 5xx-like code reads server; the "
        "maintainer says no permission",
    "https://github.com/Lapis0x0/obsidian-yolo/issues/321":
        "'403 status code (no body)' reads as a permission refusal (low confidence); the cause "
        "was never found",
    "https://github.com/n3d1117/chatgpt-telegram-bot/issues/257":
        "'The model: gpt-4-32k-0314 does not exist' for an account without access: read as not "
        "found",
    "https://github.com/aws-samples/amazon-bedrock-workshop/issues/58":
        "'The requested operation is not recognized by the service' (a ValidationException "
        "from the wrong Bedrock endpoint): read as a bad request",
    "https://github.com/lm-sys/FastChat/issues/412":
        "FastChat's catch-all 'NETWORK ERROR DUE TO HIGH TRAFFIC' with only its error_code: "
        "read as a network failure; the thread found the model worker not ready",
    "https://github.com/songquanpeng/one-api/issues/1038":
        "a message retyped from a screenshot with typos ('user auota is not enouah'): no "
        "family signal survives the spelling",
    "https://github.com/replicate/replicate-javascript/issues/267":
        "Replicate's 'Prediction failed: ' with an empty reason",
    # round 4, batches w3a (risk_control / content_policy) and w3b (quota / permission / unknown)
    "https://github.com/automazeio/vibeproxy/issues/335":
        "labelled risk_control by its collector (an account shut for "
        "a Terms-of-Service violation); the table reads Google's PERMISSION_DENIED as permission, as the project reads OpenAI's terminated access as auth: the conventions for policy bans disagree",
    "https://github.com/badrisnarayanan/antigravity-claude-proxy/issues/277":
        "Gemini 'disabled in this account for violation of Terms of Service' (PERMISSION_DENIED): "
        "labelled risk_control; the table reads permission",
    "https://github.com/NoeFabris/opencode-antigravity-auth/issues/526":
        "'This service has been disabled in this account for violation of Terms of Service' "
        "with Status: 403: labelled risk_control; the table reads permission",
    "https://github.com/helallao/perplexity-ai/issues/47":
        "a JSONDecodeError reading Perplexity's socket.io answer: the Cloudflare challenge is "
        "only in the thread's title",
    "https://github.com/anomalyco/opencode/issues/49972":
        "'[user_blocked] Your access has been restricted due to repeated policy violations': "
        "read as a content refusal; labelled as an abuse ban",
    "https://github.com/adamrushy/OpenAISwift/issues/71":
        "an all-nil decoded result (object: nil, choices: nil …): the expired quota is only in "
        "the thread",
    "https://github.com/superdesigndev/superdesign/issues/73":
        "a bare 'Error: Forbidden' reads as a permission refusal (low confidence); the thread "
        "never found the cause",
    "https://github.com/kognetiks/kognetiks-chatbot/issues/105":
        "a plugin's 'Oops! Something went wrong on our end' reads as the provider's 5xx "
        "wording; the thread never found the cause",
    "https://github.com/HuaYaoAI/FinGenius/issues/20":
        "tenacity's 'raised PermissionDeniedError>' broken across a box-drawn frame",
    "https://github.com/microsoft/semantic-kernel/issues/4282":
        "a bare 403 (Forbidden) reads as a permission refusal; the cause was never found",
    "https://github.com/microsoft/semantic-kernel/issues/906":
        "'Access denied: The request is not authorized, HTTP status: 403' reads as permission; "
        "the thread never found the cause",
    "https://github.com/LLM-Red-Team/kimi-free-api/issues/133":
        "an axios 'Request failed with status code 400' reads as a bad request (low "
        "confidence); no body shown",
    "https://github.com/axios/axios/issues/4513":
        "'Request failed with status code 400' reads as a bad request (low confidence); no "
        "body shown",
    "https://github.com/kirodotdev/Kiro/issues/6593":
        "a suspended account 'locked as a security precaution': read as risk control; the "
        "convention says a suspended account is permission",
    "https://github.com/pollinations/pollinations/issues/4241":
        "a body {'error': 'Internal Server Error', 'message': '… generation failed: No image'}: "
        "read as the server failing; the label says the cause is hidden",
    "https://github.com/xLmiler/grok2api_python/issues/32":
        "a relay's log of Grok's bare 403 (its token 'expired'): the anti-bot shield is only in "
        "the maintainer's answer",
    "https://github.com/goplus/builder/issues/2722":
        "'There are no images in the model's response. Please optimize your prompt': a sensitive "
        "prompt only in the maintainer's answer",
    # round 4, batch w3c (image and video APIs)
    "https://github.com/basketikun/chatgpt2api/issues/75":
        "a relay's poll log ending in image_poll_timeout: no failure words a provider prints",
    "https://github.com/replicate/replicate-python/pull/449":
        "the SDK's pydantic ValidationError on an unknown prediction status ('aborted'): "
        "validation words for the provider's side",
    "https://github.com/Wildric-Auric/MidJourney-Wrapper/issues/51":
        "Discord's 'Invalid Form Body' (50035) around INVALID_PERMISSIONS: the form-body words "
        "outweigh the permission sentence",
    "https://github.com/Haidra-Org/AI-Horde-Worker/issues/306":
        "'Worker with ID 'string' not found' for example values sent as parameters: read as "
        "not found",
    "https://github.com/su-kaka/gcli2api/issues/236":
        "Google's QUOTA_EXHAUSTED reason with a reset delay: the exhausted-quota code decides "
        "(quota); the label reads the window as a rate limit",
    "https://github.com/GeminiGenAI/Free-Nano-Banana-Pro-API-Ultimate-AI-Image-Generator/issues/3":
        "an app's 'Generation failed Timeout 4 minutes': no provider words",
    "https://github.com/mouxangithub/midjourney-proxy-on-wechat/issues/22":
        "a client's KeyError 'code' after hitting a non-API route: the wrong path is only in "
        "the thread",
    # round 4, batch w2c (permission / risk / server / not_found / network, non-Python clients)
    "https://github.com/obiscr/ChatGPT/issues/28":
        "a bare 'Http 响应码: 403' reads as a permission refusal; the block of non-browser "
        "clients is only in the thread",
    "https://github.com/adamrushy/OpenAISwift/issues/103":
        "model_not_found ('The model: `gpt-4` does not exist') for an account without GPT-4 "
        "access: the code decides",
    "https://github.com/acheong08/OpenAIAuth/issues/48":
        "OpenAI's HTML challenge page reduced to its CSS under 'Error:': no block words reach "
        "the evidence",
    "https://github.com/PawanOsman/OpenCursor/issues/115":
        "'your country may not be supported yet' reads as a region refusal; the maintainer "
        "says datacenter IPs are blocked",
    "https://github.com/openai/openai-testing-agent-demo/issues/9":
        "'404 The model … does not exist or you do not have access to it' for a tier-gated "
        "model: read as not found",
    "https://github.com/AstrBotDevs/AstrBot/issues/2118":
        "a retry wrapper around google-genai's ClientError (any 4xx): the 429 is only in the "
        "thread",
    # round 4, batch w2a (content_policy / quota / rate_limit)
    "https://github.com/TomLBZ/koishi-plugin-openai/issues/10":
        "a bare 'Request failed with status code 429' reads as a rate limit; the used-up free "
        "credit is only in the thread",
    "https://github.com/google-gemini/deprecated-generative-ai-python/issues/384":
        "Gemini's StopCandidateException with finish_reason OTHER: the safety block is only "
        "in the maintainer's answer",
    "https://docs.typingmind.com/troubleshooting/error-429:-claude-rate-limit-exceeded":
        "an app's 429 text that lists 'The model is currently overloaded' among possible "
        "reasons: the overload words outweigh Claude's rate-limit sentence",
    "https://github.com/skywind3000/vim-gpt-commit/issues/3":
        "a urllib traceback cut off before its 'HTTP Error 429' line: the lexicon reads a "
        "connection failure",
    "https://github.com/emacs-openai/chatgpt/issues/30":
        "'429 - Rate limit reached for requests' on a fresh key without billing: the payment "
        "cause is only in the thread",
    # round 4, batch w2b (unknown / bad_request / auth)
    "https://github.com/kognetiks/kognetiks-chatbot/issues/65":
        "a plugin's 'Oops! Something went wrong on our end' reads as the provider's 5xx "
        "wording; the thread never found the cause",
    "https://github.com/Limekiller/moodle-block_openai_chat/issues/53":
        "a plugin's 'An error ocurred! Please try again later': the billing cause is only in "
        "the maintainer's answer",
    "https://github.com/GPTutor/gptutor-extension/issues/7":
        "an app's 400 that blames the length (a bad request in its words); the reporter "
        "says short messages fail too",
    "https://github.com/RooCodeInc/Roo-Code/issues/9662":
        "a bare '400 \"bad request\"' reads as a bad request; the thread never found why",
    "https://github.com/open-webui/open-webui/issues/14613":
        "a bare 422 Unprocessable Entity reads as a bad request; the body was dropped",
    "https://github.com/BigPizzaV3/CodexPlusPlus/issues/2126":
        "OpenAI's HTML 403 page cut down to its CSS: the lexicon reads a block page, as another "
        "paste of the same page is labelled (sub2api #2413); this thread's label is permission",
    "https://github.com/yokonsan/midjourney-api/issues/68":
        "a Midjourney notification of type 'banned' with no words: a field value, not a message",
    # round 4 batches (net, risk, video): first looks in first_looks.jsonl
    "https://github.com/QwenLM/Qwen-Image/issues/127":
        "'failed to fetch response status from fal-ai API' reads as a connection failure; the "
        "thread never found the cause",
    "https://github.com/PaddlePaddle/ERNIE-SDK/issues/348":
        "erniebot's InvalidTokenError says '暂无权限使用' (no permission to use): the "
        "permission words outweigh the class name",
    "https://github.com/0x676e67/ninja/issues/109":
        "a bare 403 from chat.openai.com for want of an Arkose token: nothing in the paste "
        "names the captcha",
    "https://github.com/anomalyco/opencode/issues/24462":
        "an OpenRouter-style body cut off inside metadata.raw (the upstream's 'insufficient "
        "balance' never closes): the relay's 429 and 'calls too frequent' decide",
    "https://github.com/RoCry/grok3-api-cf/issues/1":
        "'Grok API error: 403 Forbidden': Cloudflare's bot protection only in the thread",
    "https://github.com/chenyme/grok2api/issues/190":
        "a retry loop over bare 403s from grok.com: an IP ban only in the thread",
    "https://github.com/gochendong/suno-api/issues/1":
        "Suno's 'Token validation failed.' (a missing hCaptcha token): validation words",
    "https://github.com/google-gemini/deprecated-generative-ai-swift/issues/82":
        "the Swift SDK's 'RPCError error 1' hides 'User location is not supported'",
    "https://github.com/SwiftBeta/SwiftOpenAI/issues/38":
        "'SwiftOpenAI.OpenAIAPIError error 1' hides the billing failure the thread found",
    "https://github.com/yihong0618/klingCreator/issues/32":
        "Kling's 500 '内部系统繁忙' (system busy) to a client its new captcha shut out: the "
        "500 and the busy words decide",
    "https://errs.dmxapi.cn/detail.php?id=1874":
        "a bare 403 reads as a permission refusal (at low confidence); the page concludes "
        "nothing",
    "https://github.com/Wan-Video/Wan2.2/issues/386":
        "Wan's 'No inspiration found for this description. Try changing it.': no refusal words",
    "https://github.com/openai/openai-openapi/issues/15":
        "a bare 'Request failed with status code 400' on DALL-E: the safety rejection is only in "
        "the thread",
    "https://github.com/google-gemini/cookbook/issues/706":
        "Veo's 404 NOT_FOUND for a key without billing: the not-found code decides",
    "https://github.com/Taewan-P/gpt_mobile/issues/101":
        "'The model `gpt-4` does not exist or you do not have access to it' for an account "
        "without paid credit: read as not found",
    "https://github.com/openai-php/laravel/issues/76":
        "openai-php's 'UnserializableResponse Syntax error' (a non-JSON answer): a region block "
        "only guessed in the thread",
    "https://github.com/djeddi-yacine/brain_fusion/issues/23":
        "'check queue code 404' in a sentence: no status form a client prints",
    "https://github.com/djeddi-yacine/brain_fusion/issues/37":
        "'Failed to generate the image in the server': expiring session tokens only in the "
        "thread",
    "https://github.com/djeddi-yacine/brain_fusion/issues/13":
        "'run code :400' reads as a bad request (low confidence); the cause was never found",
    "https://github.com/wlsdml1114/generate_video/issues/9":
        "a RunPod job FAILED whose error is Korean 'video not found': no server words",
    "https://github.com/hexthedev/OpenAi-Api-Unity/issues/53":
        "a bare 'HTTP/1.1 400 Bad Request' reads as a bad request (the reply asks for the "
        "body); the label says it hides the cause",
    "https://github.com/mishl-dev/Discord-AI-Chatbot/issues/165":
        "an unofficial endpoint that stopped working answered 400 Bad Request: read as a bad "
        "request",
    "https://github.com/volcengine/ai-app-lab/issues/123":
        "a client that failed to load the raw response ('Invalid \\escape'): the wrong model "
        "type is only in the thread",
    "https://github.com/revodavid/copilot-for-r/issues/1":
        "a bare 'HTTP 400 Bad Request.' reads as a bad request; the label says it hides the "
        "cause",
    "https://github.com/emacs-openai/codegpt/issues/9":
        "'400 - Bad request. Please check error message and your parameters': the client's own "
        "words for any 400; the label says it hides the cause",
    "https://github.com/FoundationAgents/MetaGPT/issues/81":
        "an empty body openai-python could not parse (_interpret_response_line): read as the "
        "server's broken answer, as two round-4 pastes of it are; here the thread suspects a "
        "local proxy and never found out",
    "https://github.com/GeorgeXie2333/LLM-Stream-Optimizer/issues/1":
        "'400 status code (no body)' reads as a bad request at low confidence (the reply asks "
        "for the body); labelled as hiding the cause",
    "https://github.com/RooCodeInc/Roo-Code/issues/5724":
        "a 403 whose body broke off ('Premature close'): read as the broken connection",
    "https://github.com/HITsz-TMG/VideoClaw/issues/24":
        "a tool's FileNotFoundError for an image it took as a path (it was a data URL): "
        "not-found words for a malformed input",
    "https://github.com/Anil-matcha/Open-Generative-AI/issues/154":
        "'403 Forbidden {\"detail\":\"Not authorize' cut off before the key is named",
    "https://github.com/liliMozi/openhanako/issues/1724":
        "a failed task whose reason is only 'API error 404'",
    "https://github.com/duixcom/Duix-Avatar/issues/208":
        "a local service's 'queue full, severely blocked' in Chinese: no provider words",
    "https://github.com/xcanwin/KeepChatGPT/issues/160":
        "ChatGPT web's catch-all 'Either the engine you requested does not exist or there was "
        "another issue': read as not found, labelled as hiding the cause",
    "https://github.com/lobehub/lobehub/issues/14027":
        "'The test return is empty … check the proxy address does not end in /v1': a wrong base "
        "URL in a tool's own words",
    "https://github.com/Ekultek/WhatWaf/issues/378":
        "a 429 whose body is Google's captcha page, cut before its words: read as a rate limit",
    "https://github.com/roseforyou/ZtoApi/pull/3":
        "Alibaba Cloud's WAF page under a 405, its words past the part of a long page that is read",
    "https://github.com/watson-developer-cloud/assistant-toolkit/issues/209":
        "watsonx's 403 says 'Failed to find the … member in project': not-found words for a "
        "membership the account lacks",
    'https://github.com/elizaOS/eliza/issues/4040 "(AI_APICallError) Request"':
        "a request larger than the whole per-minute limit: a rate limit that waiting cannot "
        "fix, which the words do not say",
    "https://github.com/musistudio/claude-code-router/issues/1630":
        "Cloudflare's 'Could not route to' (7003) inside a body the terminal wrapped mid-string",
    "https://github.com/cloudflare/cloudflare-os/issues/21":
        "a bare '403 status code (no body)' reads as a permission refusal at low confidence",
    "https://github.com/aws-samples/aws-genai-llm-chatbot/issues/246 not_found":
        "a ValidationException 'Operation unknown' for a region without the API: read as a bad "
        "request",
    "https://github.com/tashfeenahmed/freellmapi/issues/522":
        "NVIDIA's 'DEGRADED function cannot be invoked' sent as 400: the status decides",
    "https://github.com/BerriAI/litellm/issues/1564":
        "'content_filter_error: The contents are not filtered' is self-contradictory; labelled "
        "as hiding the cause",
    "https://github.com/yym68686/uni-api/issues/67 network":
        "a gateway's own 500 wrapping its ConnectTimeout to the provider: the status decides",
    "https://github.com/cline/cline/issues/5936":
        "a bare '403 Forbidden' page with no vendor mark: a block or a plain refusal, the paste "
        "cannot say which",
    "https://github.com/caozhiyuan/copilot-api/issues/179":
        "'Copilot Pro trials have been temporarily paused': a plan restriction in words no "
        "other provider uses",
    "https://github.com/Exafunction/codeium/issues/332":
        "'Permission denied: internal server error': two verdicts in one line, labelled as "
        "hiding the cause",
    "https://github.com/terry3041/pyChatGPT/issues/100":
        "a bare 'HTTP Error 403: Forbidden' reads as a permission refusal (at low confidence); "
        "the thread could not say more",
    "https://github.com/ATH-MaaS/Pixelle-Video/issues/46":
        "ComfyUI's type 'invalid_prompt' (a workflow error) is OpenAI's code for a prompt its "
        "safety system refused; the OpenAI meaning is kept",
    "https://github.com/ViewComfy/ViewComfy/issues/11":
        "'ComfyUI not running on specified address': a local tool's words for a refused "
        "connection",
    "https://github.com/UrielCh/midjourney-client/issues/6":
        "Discord's 'Unknown Application' (code 10002) under a 400: Discord's not-found words",
    "https://github.com/Comfy-Org/ComfyUI/issues/7864":
        "the bad value is the word 'Moderation.auto', which reads as moderation",
    "https://github.com/aurora-develop/aurora/issues/104":
        "a relay's 'response status code is not 200' with its own 401: read as auth, labelled "
        "as hiding the cause",
    "https://github.com/openai/openai-java/issues/478":
        "openai-java failed to read a 400 body ('`message` is null'): what the 400 said is lost",
    "https://github.com/linshenkx/prompt-optimizer/issues/192":
        "a browser's 'Failed to fetch' (here CORS) reads as a network failure; the paste cannot "
        "tell CORS from a dropped connection",
    "https://github.com/moeru-ai/unspeech/pull/5 network":
        "a gateway's 502 whose detail is its own 'connection refused' to a backend: read as the "
        "gateway's server error (the request reached it), labelled network by the thread",
    "https://github.com/QwenLM/qwen-code/issues/2068":
        "the cause (a context-length 400) is only in a JSON-RPC error's data.details under "
        "'Internal error (code: -32603)'; the wrapper's words decide",
    "https://github.com/op7418/CodePilot/issues/570":
        "'An unexpected error occurred' is a provider's 5xx wording elsewhere; here an app's "
        "generic line that hides the cause",
    "https://github.com/TheSmallHanCat/flow2api/issues/24":
        "a bare 'HTTP Error 400:' with no body reads as a bad request (at low confidence, so the "
        "reply asks for the body); what was wrong is not in the paste",
}


def _param(i: int, c: dict) -> object:
    reason = known_miss(KNOWN_MISSES, c)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(c, id=f'{i:03d}-{c["category"]}', marks=marks)


@pytest.mark.parametrize("case", [_param(i, c) for i, c in enumerate(CASES)])
def test_collected_paste_classified_as_expected(case: dict) -> None:
    d = diagnose(case["text"])
    assert (d.category, d.retryable) == (case["category"], case["retryable"]), (
        case["source"], d.rule_id, d.summary)
