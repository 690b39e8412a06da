"""The terminal chat adapter (embedded default, and the test chat backend)."""

from adapters.shell.adapter import SHELL_CHANNEL, ShellAdapter, ShellPlatform, shell_sink
from adapters.shell.assemble import MessageAssembler, split_messages
from bot.commands.text import render_text

__all__ = ["SHELL_CHANNEL", "MessageAssembler", "ShellAdapter", "ShellPlatform", "render_text", "shell_sink",
           "split_messages"]
