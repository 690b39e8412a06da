"""Probes of the official Sora API and OpenAI-compatible gateways (httpx, async)."""

from bot.probes.prober import NEUTRAL_PROMPT, Prober, ProbeRun
from bot.probes.result import DEFAULT_KINDS, KINDS, ProbeResult

__all__ = ["Prober", "ProbeRun", "ProbeResult", "KINDS", "DEFAULT_KINDS", "NEUTRAL_PROMPT"]
