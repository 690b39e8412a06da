"""A toy chat platform, written the way docs/adding-a-platform.md says a new one is added.

The "platform" is two HTTP endpoints on the bot's own web app: ``POST /toy/say`` with a JSON
``{"channel", "user", "text", "mentioned"}`` is a chat message, answered with the rendered
Reply; ``POST /toy/click`` with ``{"channel", "user", "action", "value"}`` is a click on a
control. Notices for toy channels are appended to the file named by ``TOY_NOTICES``. It is
enabled by ``TOY_CHAT=1``, a variable the core's settings know nothing about.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.commands.model import CHANNEL, Caller, ChannelRef
from bot.commands.reply import ActionKind
from bot.commands.text import render_text
from bot.config import Settings
from bot.notify import Delivered, OutboxRow
from bot.notify.sinks import render_text as render_notice
from bot.platform import AdapterContext, Started


class ToySink:
    """Notices for toy channels, one JSON line each in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, row: OutboxRow) -> Delivered:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"outbox_id": row.id, "channel": row.channel,
                                 "text": render_notice(row.payload)}) + "\n")
        return Delivered(message_id=str(row.id), thread_id=row.thread_id or str(row.id))

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        if not self.path.exists():
            return None
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if json.loads(line)["outbox_id"] == row.id:
                return Delivered(message_id=str(row.id), thread_id=row.thread_id or str(row.id))
        return None


class ToyPlatform:
    name = "toy"
    fallback = False
    uses_terminal = False
    surface = CHANNEL

    def enabled(self, settings: Settings) -> bool:
        return settings.environ().get("TOY_CHAT") == "1"

    async def start(self, ctx: AdapterContext) -> Started:
        router = ctx.router

        def where(body: dict[str, str]) -> tuple[ChannelRef, Caller]:
            # the toy's own rule: user "boss" may manage; everyone else may not
            return (ChannelRef(self.name, "toyland", body["channel"]),
                    Caller(user_id=body["user"], can_manage=body["user"] == "boss"))

        async def say(request: Request) -> JSONResponse:
            body = await request.json()
            channel, caller = where(body)
            reply = await router.handle_chat(body["text"], channel, caller,
                                             mentioned=bool(body.get("mentioned")))
            return JSONResponse({"reply": render_text(reply) if reply else None,
                                 "kind": reply.kind.value if reply else None})

        async def click(request: Request) -> JSONResponse:
            body = await request.json()
            channel, caller = where(body)
            outcome = await router.handle_action(ActionKind(body["action"]), body.get("value", ""),
                                                 channel, caller)
            return JSONResponse({"mark": outcome.mark.line(body["user"]) if outcome.mark else None,
                                 "reply": render_text(outcome.reply) if outcome.reply else None})

        notices = Path(ctx.env("TOY_NOTICES") or Path(ctx.data_dir) / "toy-notices.jsonl")
        return Started(sink=ToySink(notices),
                       routes=[Route("/toy/say", say, methods=["POST"]),
                               Route("/toy/click", click, methods=["POST"])],
                       notes=[f"toy chat on /toy/say, notices in {notices}"])
