"""The one exception tree of sora-bot.

    SoraBotError
     ├── ConfigError        bad or missing setting; the CLI prints one line and exits 2
     ├── StoreError         database unreachable or at a newer schema; one line, exit 1
     ├── ProbeError         internal to probes; always turned into a diagnosed ProbeResult
     └── SendError          a delivery sink failed; carries retryable and retry_after so
                            one retry policy (bot.notify) can decide, whatever the platform

Errors are caught at the level that can do something useful: probes turn errors into results,
the notify pipeline turns SendError into a retry or a dead letter, the CLI turns the rest into
one clear line.
"""

from __future__ import annotations


class SoraBotError(Exception):
    """Base of every error sora-bot raises on purpose."""


class ConfigError(SoraBotError):
    """A setting is missing or malformed. The message names the setting."""


class StoreError(SoraBotError):
    """The database cannot be used (unreachable, newer schema, bad URL)."""


class ProbeError(SoraBotError):
    """A probe could not complete; probes convert this into a result, never raise it out."""


class SendError(SoraBotError):
    """A sink could not deliver a notice.

    ``retryable`` says whether the same send may succeed later; ``retry_after`` (seconds) is
    the platform's own hint (Retry-After) when it gave one. The message must never hold a token.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
