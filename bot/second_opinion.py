"""Optional LLM second opinion on a diagnosis the table is unsure about (off by default).

The knowledge table decides; this module only *adds* a line when the table's confidence is low
and an operator has configured an OpenAI-compatible chat endpoint. It sends the already
redacted paste (``Diagnosis.redacted``: keys, tokens and query secrets are masked before this
module ever sees the text) and the table's own verdict, asks for one JSON object back, and
checks it: a category outside Contract 1's list, a malformed answer, an HTTP error or a timeout
all give ``None`` — the caller then shows the table's diagnosis alone. It never raises.

Coherence: an opinion of auth, quota or permission is never retryable, whatever the model says.

Wiring (not done here): build one ``SecondOpinion(SecondOpinionConfig(...))`` at start-up when
``enabled``; after ``diagnose()``, ``opinion = await second.ask(d)``; when it is not ``None``
append ``opinion_line(opinion)`` to the diagnosis reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from bot.diagnosis.model import CATEGORIES, Diagnosis

NEVER_RETRY = frozenset({"auth", "quota", "permission"})
MAX_PASTE_CHARS = 4000

SYSTEM_PROMPT = (
    "You classify error messages from video-generation APIs (OpenAI Sora and OpenAI-compatible "
    "gateways). Answer with one JSON object and nothing else: "
    '{"category": one of ' + ", ".join(CATEGORIES) + ', "retryable": true, false or null, '
    '"reason": one short sentence}. '
    "auth = the key or token is missing/invalid; quota = out of credit or billing (even on "
    "HTTP 429 insufficient_quota); permission = valid key without access to this model, region "
    "or feature; rate_limit = too many requests, retry later; content_policy = the prompt or "
    "media was rejected by moderation; bad_request = a parameter is wrong; not_found = the "
    "model, job or URL does not exist; server = the provider or gateway failed; network = the "
    "request never completed; risk_control = an anti-abuse block that does not say what is "
    "wrong; unknown = the paste hides the cause."
)


@dataclass(frozen=True)
class SecondOpinionConfig:
    base_url: str = ""                 # e.g. https://api.openai.com/v1 or a gateway's /v1
    api_key: str = ""
    model: str = "gpt-4o-mini"
    enabled: bool = False              # off unless an operator turns it on
    below_confidence: float = 0.85     # ask only when the table is less sure than this
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Opinion:
    category: str
    retryable: bool | None
    reason: str
    model: str


class SecondOpinion:
    def __init__(self, config: SecondOpinionConfig,
                 client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client

    def wanted(self, d: Diagnosis) -> bool:
        c = self.config
        return bool(c.enabled and c.base_url and d.confidence < c.below_confidence)

    def request_body(self, d: Diagnosis) -> dict[str, object]:
        paste = d.redacted[:MAX_PASTE_CHARS]
        verdict = (f"The rule table says: category={d.category}, retryable={d.retryable}, "
                   f"confidence={d.confidence:.2f}.")
        return {
            "model": self.config.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"{verdict}\n\nPaste (secrets masked):\n{paste}"},
            ],
        }

    async def ask(self, d: Diagnosis) -> Opinion | None:
        """The model's opinion, or None (not wanted, or any failure)."""
        if not self.wanted(d):
            return None
        c = self.config
        url = c.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {c.api_key}"} if c.api_key else {}
        try:
            if self._client is not None:
                response = await self._client.post(url, json=self.request_body(d),
                                                   headers=headers, timeout=c.timeout_s)
            else:
                async with httpx.AsyncClient() as client:
                    response = await client.post(url, json=self.request_body(d),
                                                 headers=headers, timeout=c.timeout_s)
            if response.status_code != 200:
                return None
            return parse_opinion(response.json(), c.model)
        except (httpx.HTTPError, ValueError, TypeError, KeyError, IndexError):
            return None


def parse_opinion(body: object, model: str) -> Opinion | None:
    """An Opinion from an OpenAI chat-completions (or Responses API) JSON body, or None."""
    text = _content(body)
    if text is None:
        return None
    try:
        data = json.loads(text.strip().removeprefix("```json").removesuffix("```").strip())
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    category = data.get("category")
    if category not in CATEGORIES:
        return None
    retryable = data.get("retryable")
    if not isinstance(retryable, bool):
        retryable = None
    if category in NEVER_RETRY:
        retryable = False
    if category == "unknown":
        retryable = None
    reason = data.get("reason")
    reason = " ".join(str(reason).split())[:200] if reason else ""
    return Opinion(category=str(category), retryable=retryable, reason=reason, model=model)


def _content(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    choices = body.get("choices")
    if isinstance(choices, list) and choices:  # chat completions
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        return content if isinstance(content, str) else None
    output = body.get("output")  # Responses API: output[].content[].text
    if isinstance(output, list):
        for item in output:
            for part in (item.get("content") or []) if isinstance(item, dict) else []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    return str(part["text"])
    text = body.get("output_text")
    return text if isinstance(text, str) else None


def opinion_line(op: Opinion) -> str:
    """One chat line for the reply (advisory: the table's diagnosis stays as it is)."""
    retry = {True: "retryable", False: "not retryable", None: "retry unknown"}[op.retryable]
    reason = f": {op.reason}" if op.reason else ""
    return f"Second opinion ({op.model}): {op.category}, {retry}{reason}"


__all__ = ["Opinion", "SecondOpinion", "SecondOpinionConfig", "opinion_line", "parse_opinion"]
