"""The delivery pipeline, its order written once: dedup → mute → send (one retry policy) →
record. Stages before ``record`` drop the notices they decide; ``record`` sees them all."""

from __future__ import annotations

from typing import Protocol

from bot.notify.model import Notice


class Stage(Protocol):
    async def process(self, notices: list[Notice]) -> list[Notice]: ...


class Pipeline:
    def __init__(self, *, dedup: Stage, mute: Stage, send: Stage, record: Stage) -> None:
        self.stages: tuple[Stage, ...] = (dedup, mute, send)
        self.record = record

    async def run(self, notices: list[Notice]) -> list[Notice]:
        going = list(notices)
        for stage in self.stages:
            if not going:
                break
            going = await stage.process(going)
        return await self.record.process(list(notices))
