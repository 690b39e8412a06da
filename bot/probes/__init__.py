"""Probes of the official Sora API and OpenAI-compatible gateways (httpx, async)."""

from bot.probes.prober import NEUTRAL_PROMPT, Prober
from bot.probes.result import DEFAULT_KINDS, KINDS, ProbeResult

__all__ = ["Prober", "ProbeResult", "KINDS", "DEFAULT_KINDS", "NEUTRAL_PROMPT"]
