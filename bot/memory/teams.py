"""Which team owns a conversation: the key every memory read and write is scoped by."""

from __future__ import annotations

from bot.commands.model import ChannelRef


def team_of(channel: ChannelRef) -> str:
    """``<platform>:<workspace>``: the Slack workspace, the Discord guild, the terminal.

    A private conversation outside any team (``ChannelRef.private``: a Discord DM, whose
    workspace every DM shares) is a team of its own, so one person's notes never show in
    another's DM."""
    if channel.private:
        return f"{channel.platform}:{channel.workspace}:{channel.channel}"[:140]
    return f"{channel.platform}:{channel.workspace}"


__all__ = ["team_of"]
