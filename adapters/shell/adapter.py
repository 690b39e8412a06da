"""The shell adapter: a terminal chat, the embedded default and the test chat backend.

Each message is a ``/sora …`` command or a pasted error (which may span lines); messages are
separated by a blank line. Non-interactive input is read to the end and answered in order; on a
terminal there is a prompt with line-editing history. Alerts are printed by ``ShellSink``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TypeVar

from bot.commands.model import TERMINAL, Caller, ChannelRef, is_command_text
from bot.commands.reply import Reply
from bot.commands.router import Router
from bot.commands.text import render_text
from bot.config import Settings
from bot.notify import JsonlFileSink
from bot.platform import AdapterContext, Started

SHELL_CHANNEL = ChannelRef("shell", "local", "terminal")
PROMPT = "sora> "
CONTINUATION = "....> "


class MessageSplitter:
    """Incremental message framing: a blank line ends a message.

    A ``/sora`` command on one line is a message of its own even without a blank line after it,
    so ``printf '/sora help\\n/sora status\\n'`` gives two messages. Incremental, so a long-lived
    pipe gets each answer as soon as its message is complete.
    """

    def __init__(self) -> None:
        self._buf: list[str] = []

    def feed(self, raw: str) -> list[str]:
        line = raw.rstrip("\r\n")
        if not line.strip():
            return self.flush()
        if line.lstrip().startswith("/sora") and not self._buf:
            return [line.strip()]
        self._buf.append(line)
        return []

    def flush(self) -> list[str]:
        if not self._buf:
            return []
        message, self._buf = "\n".join(self._buf), []
        return [message]


def split_messages(lines: Iterable[str]) -> Iterator[str]:
    splitter = MessageSplitter()
    for raw in lines:
        yield from splitter.feed(raw)
    yield from splitter.flush()


def _complete_json(line: str) -> bool:
    """A one-line JSON body needs no blank line to end it (the usual paste in a terminal)."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


T = TypeVar("T")


async def _blocking(fn: Callable[..., T], *args: object) -> T:
    """Run a blocking read (readline, input) in a daemon thread.

    Not ``asyncio.to_thread``: a read blocked on a terminal or an open pipe cannot be
    cancelled, and the default executor would then hold up interpreter exit on SIGTERM.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if fut.done():  # the waiter was cancelled (shutdown)
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)  # type: ignore[arg-type]  # None only with an error

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # EOFError, KeyboardInterrupt reach the caller
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=work, name="shell-input", daemon=True).start()
    return await fut


class ShellAdapter:
    def __init__(self, router: Router, *, out: IO[str] | None = None, color: bool | None = None,
                 channel: ChannelRef = SHELL_CHANNEL, user: str = "you") -> None:
        self.router = router
        self.out = out or sys.stdout
        self.color = self.out.isatty() if color is None else color
        self.channel = channel
        # The person at the terminal owns it: they may change its alerts.
        self.caller = Caller(user_id=user, display=user, can_manage=True)
        self._lock = asyncio.Lock()

    async def reply_to(self, message: str) -> Reply | None:
        """The router decides: a command (with or without ``/sora``), a paste, or a hint."""
        return await self.router.handle_chat(message, self.channel, self.caller, surface=TERMINAL)

    async def print(self, text: str) -> None:
        async with self._lock:
            self.out.write(text + "\n\n")
            self.out.flush()

    async def handle(self, message: str) -> Reply | None:
        reply = await self.reply_to(message)
        if reply is not None:
            await self.print(render_text(reply, color=self.color))
        return reply

    async def run_stream(self, stream: IO[str]) -> int:
        """Answer every message of a non-interactive stream in order, as each one completes;
        exit code 0 at end of input."""
        splitter = MessageSplitter()
        while True:
            raw = await _blocking(stream.readline)
            messages = splitter.feed(raw) if raw else splitter.flush()
            for message in messages:
                await self.handle(message)
            if not raw:
                return 0

    async def run_interactive(self) -> int:
        """A prompt with history (readline); a blank line sends a multi-line paste."""
        try:
            import readline  # noqa: F401  (enables history and line editing for input())
        except ImportError:  # pragma: no cover - not on every platform
            pass
        await self.print("sora-bot shell. Type /sora help, or paste an error and end it with an "
                         "empty line. Ctrl-D to quit.")
        while True:
            try:
                first = await _blocking(input, PROMPT)
            except (EOFError, KeyboardInterrupt):
                return 0
            if not first.strip():
                continue
            if is_command_text(first, direct=True) or _complete_json(first):
                await self.handle(first)
                continue
            buf = [first]
            while True:
                try:
                    more = await _blocking(input, CONTINUATION)
                except (EOFError, KeyboardInterrupt):
                    more = ""
                if not more.strip():
                    break
                buf.append(more)
            await self.handle("\n".join(buf))


def shell_sink(shell: ShellAdapter, log_path: str) -> JsonlFileSink:
    """Alerts for the terminal: printed as they are delivered, and kept in an append-only log
    that lets the outbox reconcile after a crash instead of printing a notice twice."""

    def echo(text: str) -> None:
        shell.out.write(text + "\n\n")
        shell.out.flush()

    return JsonlFileSink(log_path, echo=echo)


NOTICES_LOG = "sora-bot-notices.log"


class ShellPlatform:
    """The terminal chat as an ``Adapter``: the embedded default, started when no chat
    platform is configured. Standard input is the conversation; notices print to the
    terminal and are kept in ``sora-bot-notices.log`` beside the database."""

    name = "shell"
    fallback = True
    uses_terminal = True
    surface = TERMINAL

    def __init__(self, stdin: IO[str] | None = None, out: IO[str] | None = None) -> None:
        self._stdin = stdin
        self._out = out

    def enabled(self, settings: Settings) -> bool:
        return True

    async def start(self, ctx: AdapterContext) -> Started:
        shell = ShellAdapter(ctx.router, out=self._out)
        stdin = self._stdin if self._stdin is not None else sys.stdin

        async def foreground() -> None:
            if stdin is None:
                return
            if stdin.isatty():
                await shell.run_interactive()
            else:
                await shell.run_stream(stdin)

        return Started(sink=shell_sink(shell, os.path.join(ctx.data_dir, NOTICES_LOG)),
                       foreground=foreground, subscribe=[(shell.channel, "all")])
