"""Durable, idempotent delivery of incident notices to channels (the outbox's consumer).

    register_sink("slack", my_sink)                 # adapters do this; the core imports none
    worker = DeliveryWorker(store)                  # sinks default to the registry
    result = await worker.drain()                   # DrainResult(sent, retried, dead, ...)

Pipeline: dedup → mute → send (one RetryPolicy) → record; every decision has a Reason.
"""

from bot.notify.model import Decision, Delivered, Notice, OutboxRow, Reason, Sink
from bot.notify.pipeline import Pipeline
from bot.notify.policy import RetryPolicy
from bot.notify.sinks import (
    JsonlFileSink,
    register_sink,
    registered_sinks,
    render_text,
    unregister_sink,
)
from bot.notify.worker import DeliveryWorker, DrainResult, default_worker_id

__all__ = [
    "Decision", "Delivered", "DeliveryWorker", "DrainResult", "JsonlFileSink", "Notice",
    "OutboxRow", "Pipeline", "Reason", "RetryPolicy", "Sink", "default_worker_id",
    "register_sink", "registered_sinks", "render_text", "unregister_sink",
]
