"""The diagnosis pipeline: redact → extract → weigh the evidence → explain → fingerprint.

``diagnose_text`` never raises: the stages are written to be total and linear on any input,
and a last-resort guard turns an unexpected exception into an ``unknown`` diagnosis (with the
redacted text) instead of a traceback in a chat channel.

``Engine(knowledge)`` runs the pipeline with another knowledge table (tests, the rule-file
checker); the module functions use the default table.
"""

from __future__ import annotations

from bot.diagnosis.classify import Classifier, Verdict
from bot.diagnosis.explain import ask_for, explain, param_from_message
from bot.diagnosis.extract import Extracted, extract, names_a_parameter
from bot.diagnosis.fingerprint import fingerprint
from bot.diagnosis.knowledge import DEFAULT, Knowledge
from bot.diagnosis.lexicon import DEFAULT_LEXICON, WEAK_SCORE, Lexicon
from bot.diagnosis.model import Cause, Diagnosis
from bot.diagnosis.redact import mask_values, might_hold_secret, redact, redact_collect

MAX_INPUT = 16 * 1024 * 1024  # longer pastes are cut (and say so) before any work


def _as_text(text: object) -> str:
    """Accept str, bytes (UTF-8, undecodable bytes replaced), None, or anything printable."""
    if isinstance(text, str):
        value = text
    elif isinstance(text, (bytes, bytearray, memoryview)):
        value = bytes(text[:MAX_INPUT]).decode("utf-8", errors="replace")
    elif text is None:
        value = ""
    else:
        try:
            value = str(text)
        except Exception:  # noqa: BLE001 - a broken __str__ must not break diagnosis
            value = ""
    if len(value) > MAX_INPUT:
        value = value[:MAX_INPUT]
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value


class _Cleaner:
    """Redacts fields decoded from the paste, remembering what it had to mask."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def __call__(self, value: str | None) -> str | None:
        if not value:
            return value or None
        out, found = redact_collect(value)
        self.secrets |= found
        return out


def lexicon_may_speak(verdict: Verdict, ex: Extracted) -> bool:
    """No rule fired, or only the paste's form did (a bare 4xx, a class name): never over a
    rule that names a cause, nor over a 5xx (the server said it failed, whatever words its
    page carries)."""
    if verdict.rule is None:
        return True
    return verdict.score < WEAK_SCORE and not (ex.status is not None and ex.status >= 500)


class Engine:
    """The pipeline for one knowledge table."""

    def __init__(self, kb: Knowledge = DEFAULT, lexicon: Lexicon | None = DEFAULT_LEXICON) -> None:
        self.kb = kb
        self.classifier = Classifier(kb)
        self.lexicon = lexicon

    def diagnose(self, text: str | bytes) -> Diagnosis:
        """Diagnose any pasted text (or bytes). Never raises."""
        value = ""
        try:
            value = _as_text(text)
            redacted = redact(value)
            return self.build(extract(redacted), redacted)
        except Exception:  # noqa: BLE001 - last-resort guard (RecursionError, MemoryError too);
            return self.fallback(value)  # the parsers are total, tests never reach this

    def build(self, ex: Extracted, redacted: str) -> Diagnosis:
        """Weigh and explain extracted evidence (exposed for tests and re-ranking)."""
        verdict = self.classifier.weigh(ex)
        if self.lexicon is not None and lexicon_may_speak(verdict, ex):
            # the words may still say the category (bot/diagnosis/lexicon.py), said at the
            # lexicon's own, measured, confidence
            guess = self.lexicon.guess(ex)
            if guess is not None and guess.category != verdict.category:
                verdict = Verdict(None, guess.category, self.kb.category_retryable[guess.category],
                                  0.0, 0.0, False, False, self.lexicon.confidence, verdict.fired)
        return self.explain(verdict, ex, redacted)

    def explain(self, verdict: Verdict, ex: Extracted, redacted: str) -> Diagnosis:
        kb = self.kb
        rule, category, retryable = verdict.rule, verdict.category, verdict.retryable
        param = ex.param if ex.param and names_a_parameter(ex.param) else None
        if category == "bad_request" and not param:
            param = param_from_message(ex.message, kb)
        # Fields that come from the paste are redacted again: JSON escapes such as \u0073k- can
        # hide a key from the first pass and reappear once the JSON is decoded. A secret found
        # that way is then masked in the redacted text too.
        # (A field found verbatim in the redacted text needs no second look: the text has it.)
        fields = (ex.message, ex.error_type, ex.error_code, param, ex.request_id)
        message, error_type, error_code, param, request_id = fields
        decoded = [v for v in fields if v and v not in redacted]
        if decoded and might_hold_secret("\n".join(decoded)):
            clean = _Cleaner()
            message, error_type, error_code, param, request_id = (
                clean(v) if v and v not in redacted else v for v in fields)
            if clean.secrets:
                redacted = mask_values(redacted, clean.secrets)
                message, error_type, error_code, param, request_id = (
                    mask_values(v, clean.secrets) if v else v
                    for v in (message, error_type, error_code, param, request_id))
        ex.message, ex.error_type, ex.error_code, ex.request_id = (
            message, error_type, error_code, request_id)
        summary, causes, actions = explain(rule, category, ex, param, retryable, kb)
        fp = fingerprint(
            rule_id=rule.id if rule is not None else "unknown", category=category,
            provider=ex.provider, error_type=error_type, error_code=error_code,
            param=ex.param, message=message or ex.hay[:300],
            exception=None if ex.has_payload else ex.exception_name,
        )
        return Diagnosis.from_fields({
            "category": category,
            "retryable": retryable,
            "http_status": ex.status,
            "error_type": error_type,
            "error_code": error_code,
            "message": message,
            "param": param,
            "provider": ex.provider,
            "summary": summary,          # templates filled with already-redacted values
            "causes": causes,
            "actions": actions,
            "retry_after_s": ex.retry_after_s,
            "fingerprint": fp,
            "redacted": redacted,
            "verdict": None,
            "request_id": request_id,
            "verdict_reason": None,
            "confidence": round(verdict.confidence, 3),
            "ask": ask_for(ex, category),
            "rule_id": rule.id if rule is not None else None,
        })

    def fallback(self, text: str) -> Diagnosis:
        """The ``unknown`` diagnosis used when something unexpected went wrong."""
        try:
            redacted = redact(text)
        except Exception:  # noqa: BLE001
            redacted = ""
        summary, causes_spec, actions_spec = self.kb.categories["unknown"]
        return Diagnosis(
            category="unknown", retryable=None, http_status=None, error_type=None,
            error_code=None, message=None, param=None, provider="unknown", summary=summary,
            causes=tuple(Cause(c, self.kb.causes[c][0], lk, self.kb.causes[c][1])
                         for c, lk in causes_spec),
            actions=tuple(self.kb.actions[a] for a in actions_spec), retry_after_s=None,
            fingerprint="fp_0000000000000000", redacted=redacted, verdict=None,
            confidence=0.0, ask=None,
        )


DEFAULT_ENGINE = Engine(DEFAULT)


def build(ex: Extracted, redacted: str) -> Diagnosis:
    """Weigh and explain extracted evidence with the default table."""
    return DEFAULT_ENGINE.build(ex, redacted)


def diagnose_text(text: str | bytes) -> Diagnosis:
    """Diagnose any pasted text (or bytes) with the default table. Never raises."""
    return DEFAULT_ENGINE.diagnose(text)


__all__ = ["DEFAULT_ENGINE", "Engine", "build", "diagnose_text"]
