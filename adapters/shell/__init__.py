"""The terminal chat adapter (embedded default, and the test chat backend)."""

from adapters.shell.adapter import SHELL_CHANNEL, ShellAdapter, shell_sink, split_messages
from adapters.shell.render import render_text

__all__ = ["SHELL_CHANNEL", "ShellAdapter", "render_text", "shell_sink", "split_messages"]
