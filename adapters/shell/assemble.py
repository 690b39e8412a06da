"""Terminal input → chat messages: one paste is one message, even when it holds blank lines.

Why not "a blank line ends a message": real pastes have blank lines inside them. A chained
Python traceback has one before and after "The above exception was the direct cause of the
following exception:"; pretty-printed JSON may have one between fields. Split there, and one
error became three diagnoses (network, unknown, unknown). So a blank line ends a message only
when what came before is complete:

* brackets and quotes balance (JSON, a Python dict repr, a JS object);
* a Python traceback has reached its final exception line (not a chaining line, not a frame);
* the last line does not announce more (``…:`` as in ``Response body:``).

Otherwise the assembler keeps reading and says why (``waiting_for``), so the terminal's
continuation prompt can tell the person. A line holding only ``.`` sends what there is, and end
of input sends whatever is left. A ``/sora`` command (or, in this direct conversation, a bare
subcommand) on a line of its own is a message at once.

Complete-then-blank is only *probably* the end: a chained traceback looks complete at its first
exception line, and its blank line comes before "The above exception was…". So the assembler
holds such a message (``held``) until the next non-blank line shows whether it continues (a
chaining line such as that one, ``During handling…`` or Java's ``Caused by:``); the shell gives
that next line a moment (``LOOKAHEAD_S``) and sends the message if none comes. A terminal
with bracketed paste hands over a whole paste at once (``feed_chunk``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.commands.model import is_command_text

SEND_NOW = "."
_TRACEBACK_START = "Traceback (most recent call last):"
_CHAINING = ("The above exception was the direct cause of the following exception:",
             "During handling of the above exception, another exception occurred:")
# A traceback's last line: "openai.APIConnectionError: Connection error." or "KeyError" alone,
# at the start of the line (frames and code lines are indented).
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?::.*)?$")
_CONTINUES = re.compile(r"^(The above exception was the direct cause|During handling of the above "
                        r"exception|Caused by:|Suppressed:|Traceback \(most recent call last\))")
LOOKAHEAD_S = 0.3  # how long a held message waits for a line that would continue it
_OPENERS, _CLOSERS = "{[(", "}])"


def _unbalanced(text: str) -> str | None:
    """Which bracket or quote is still open, or None when everything is closed."""
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            elif ch == "\n" and quote == "'":
                quote = None  # an apostrophe in prose, not a Python string
            continue
        if ch in "\"'":
            quote = ch
        elif ch in _OPENERS:
            stack.append(ch)
        elif ch in _CLOSERS and stack and _OPENERS.index(stack[-1]) == _CLOSERS.index(ch):
            stack.pop()
    if quote == '"':
        return 'a "…" string'
    if stack:
        return {"{": "a {…} object", "[": "a […] list", "(": "a (…)"}[stack[-1]]
    return None


def waiting_for(lines: list[str]) -> str | None:
    """Why the message in ``lines`` is not complete yet, in words; None when it is."""
    text = "\n".join(lines)
    if not text.strip():
        return None
    traceback = _TRACEBACK_START in text
    # a traceback's frames quote source lines, often cut mid-call ("send(" with no ")"):
    # only its unindented lines (the exception messages) must balance
    scanned = "\n".join(ln for ln in lines if not ln.startswith((" ", "\t"))) if traceback else text
    open_part = _unbalanced(scanned)
    if open_part is not None:
        return f"{open_part} is still open"
    content = [ln for ln in lines if ln.strip()]
    last = content[-1].rstrip()
    if traceback:
        if last.strip() in _CHAINING or last.startswith((" ", "\t")) or last == _TRACEBACK_START:
            return "the traceback has not reached its exception line"
        if not _EXCEPTION_LINE.match(last):
            return "the traceback has not reached its exception line"
        return None
    if last.endswith(":") and not _EXCEPTION_LINE.match(last.rstrip(":")):
        return "the last line ends with ':'"
    return None


@dataclass
class MessageAssembler:
    """Feed it lines (with or without their newline); it hands back complete messages."""

    lines: list[str] = field(default_factory=list)
    held: bool = False  # complete and followed by a blank line: sent unless the next line continues it

    @property
    def pending(self) -> bool:
        return bool(self.lines)

    def waiting_for(self) -> str | None:
        return waiting_for(self.lines) if self.lines and not self.held else None

    def feed(self, raw: str) -> list[str]:
        line = raw.rstrip("\r\n")
        out: list[str] = []
        if self.held:
            if not line.strip():
                return out
            if _CONTINUES.match(line):
                self.held = False
                self.lines += ["", line]
                return out
            out += self.flush()
        if not self.lines:
            if not line.strip():
                return out
            if is_command_text(line, direct=True) and _unbalanced(line) is None:
                return [*out, line.strip()]
            self.lines.append(line)
            return out
        if line.strip() == SEND_NOW:
            return out + self.flush()
        if not line.strip() and waiting_for(self.lines) is None:
            self.held = True
            return out
        self.lines.append(line)
        return out

    def feed_chunk(self, chunk: str) -> list[str]:
        """A whole paste at once (bracketed paste, then Enter): its lines, and then, when the
        paste is complete, it is sent; otherwise the prompt keeps reading."""
        out: list[str] = []
        for line in chunk.removesuffix("\n").split("\n"):  # the paste's own last newline
            out += self.feed(line)
        if self.lines and waiting_for(self.lines) is None:
            out += self.flush()
        return out

    def flush(self) -> list[str]:
        """Everything pending as one message (end of input, ``.``, or a held message)."""
        text = "\n".join(self.lines).strip("\n")
        self.lines = []
        self.held = False
        return [text] if text.strip() else []


def split_messages(lines: list[str] | tuple[str, ...]) -> list[str]:
    assembler = MessageAssembler()
    out: list[str] = []
    for raw in lines:
        out += assembler.feed(raw)
    return out + assembler.flush()


def complete_on_one_line(line: str) -> bool:
    """A single line that is a whole paste (a one-line JSON body, a repr, an SDK exception
    line): the terminal sends it at once instead of waiting for a blank line."""
    text = line.strip()
    if not text or _unbalanced(text) is not None:
        return False
    if text[0] in "{[":
        return text[-1] in "}]"
    return False
