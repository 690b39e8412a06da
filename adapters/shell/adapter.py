"""The shell adapter: a terminal chat, the embedded default and the test chat backend.

Each message is a ``/sora …`` command (or, since the terminal is a direct conversation, a bare
``status`` / ``HELP``), a pasted error that may span lines and hold blank lines, or small talk,
which gets a hint. ``adapters.shell.assemble`` decides where a message ends. Non-interactive
input is read to the end and answered in order; on a terminal there is a prompt_toolkit prompt
with history, whose output is patched so incident notices print above the line being typed
(which is then redrawn) instead of over it. Alerts are printed by the shell's sink.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from typing import IO, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.patch_stdout import patch_stdout

from adapters.shell.assemble import LOOKAHEAD_S, MessageAssembler, complete_on_one_line, split_messages
from bot.commands.model import TERMINAL, Caller, ChannelRef, is_command_text, parse_command
from bot.commands.reply import Reply
from bot.commands.router import Router
from bot.commands.specs import spec_for
from bot.commands.text import render_text
from bot.config import Settings
from bot.notify import JsonlFileSink
from bot.platform import AdapterContext, Started

SHELL_CHANNEL = ChannelRef("shell", "local", "terminal")
PROMPT = "sora> "
CONTINUATION = "....> "
WELCOME = ("sora-bot terminal chat. Type /sora help, or paste an error (a blank line sends it "
           "once it is complete; a line with just . sends it now). Ctrl-D quits.")

T = TypeVar("T")

__all__ = ["CONTINUATION", "PROMPT", "SHELL_CHANNEL", "ShellAdapter", "ShellPlatform",
           "continuation_prompt", "shell_sink", "split_messages"]


WORKING_AFTER_S = 0.8


def _working_line(message: str) -> str:
    """The command table's "working" line for a slow command, else a generic one."""
    if is_command_text(message, direct=True):
        return spec_for(parse_command(message, SHELL_CHANNEL).name).working
    return "⏳ Working on it…"


def continuation_prompt(waiting_for: str | None) -> str:
    """The prompt for the next line of a paste, saying why the paste is not sent yet."""
    if waiting_for is None:
        return CONTINUATION
    return f"....({waiting_for}; . sends now)> "


async def _blocking(fn: Callable[..., T], *args: object) -> T:
    """Run a blocking read (readline) in a daemon thread.

    Not ``asyncio.to_thread``: a read blocked on an open pipe cannot be cancelled, and the
    default executor would then hold up interpreter exit on SIGTERM.
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
        self._out = out
        self.color = self.out.isatty() if color is None else color
        self.channel = channel
        # The person at the terminal owns it: they may change its alerts.
        self.caller = Caller(user_id=user, display=user, can_manage=True)
        self._lock = asyncio.Lock()
        self.show_progress = False  # on at an interactive prompt (piped output stays parseable)

    @property
    def out(self) -> IO[str]:
        """Where replies and notices go: the given stream, else whatever ``sys.stdout`` is now
        (inside the prompt it is prompt_toolkit's proxy, which redraws the prompt)."""
        return self._out if self._out is not None else sys.stdout

    async def reply_to(self, message: str) -> Reply | None:
        """The router decides: a command (with or without ``/sora``), a paste, or a hint."""
        return await self.router.handle_chat(message, self.channel, self.caller, surface=TERMINAL)

    def write(self, text: str) -> None:
        out = self.out
        out.write(text + "\n\n")
        out.flush()

    async def print(self, text: str) -> None:
        async with self._lock:
            self.write(text)

    async def handle(self, message: str) -> Reply | None:
        work = asyncio.ensure_future(self.reply_to(message))
        if self.show_progress:  # at a prompt, say what a slow answer waits for, as Slack does
            done, _ = await asyncio.wait({work}, timeout=WORKING_AFTER_S)
            if not done:
                await self.print(_working_line(message))
        reply = await work
        if reply is not None:
            await self.print(render_text(reply, color=self.color))
        return reply

    async def _answer(self, messages: list[str]) -> None:
        for message in messages:
            await self.handle(message)

    async def _next(self, read: asyncio.Future[T], assembler: MessageAssembler) -> T:
        """The next input; a held message is sent if that input does not come soon (it would
        have shown whether the message goes on)."""
        if assembler.held:
            done, _ = await asyncio.wait({read}, timeout=LOOKAHEAD_S)
            if not done:
                await self._answer(assembler.flush())
        return await read

    async def run_stream(self, stream: IO[str]) -> int:
        """Answer every message of a non-interactive stream in order, as each one completes;
        exit code 0 at end of input."""
        assembler = MessageAssembler()
        while True:
            raw = await self._next(asyncio.ensure_future(_blocking(stream.readline)), assembler)
            await self._answer(assembler.feed(raw) if raw else assembler.flush())
            if not raw:
                return 0

    def _prompt(self, assembler: MessageAssembler) -> str:
        return continuation_prompt(assembler.waiting_for()) if assembler.pending else PROMPT

    async def run_interactive(self, session: PromptSession[str] | None = None) -> int:
        """A prompt with history; a paste is sent once it is complete (see ``assemble``).
        ``session`` is injectable so tests can type into a real prompt_toolkit prompt."""
        session = session or PromptSession()
        assembler = MessageAssembler()
        self.show_progress = True
        with patch_stdout(raw=True):
            await self.print(WELCOME)
            while True:
                # the prompt is a function: after a held paste is sent it reads "sora> " again
                reading = asyncio.ensure_future(session.prompt_async(lambda: self._prompt(assembler)))
                try:
                    line = await self._next(reading, assembler)
                except EOFError:  # Ctrl-D: send what was being pasted, then leave cleanly
                    await self._answer(assembler.flush())
                    self.out.write("\n")
                    self.out.flush()
                    return 0
                except KeyboardInterrupt:  # Ctrl-C: drop the paste in progress, or quit
                    if assembler.pending:
                        assembler.flush()
                        continue
                    return 0
                if "\n" in line:  # a bracketed paste: the whole paste at once
                    await self._answer(assembler.feed_chunk(line))
                elif not assembler.pending and complete_on_one_line(line):
                    await self.handle(line)
                else:
                    await self._answer(assembler.feed(line))


def shell_sink(shell: ShellAdapter, log_path: str) -> JsonlFileSink:
    """Alerts for the terminal: printed as they are delivered, and kept in an append-only log
    that lets the outbox reconcile after a crash instead of printing a notice twice."""

    return JsonlFileSink(log_path, echo=shell.write)


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
