"""Discord's ``/sora`` tree is the core's command table: same subcommands, descriptions,
options and choices (bot.commands.specs), so a row added to the table without its Discord
command — or a Discord option the core does not know — fails here."""

from __future__ import annotations

from discord import app_commands

from adapters.discord.bot import build_client
from bot.commands.router import Router
from bot.commands.specs import COMMANDS


def test_the_app_command_tree_matches_the_spec_table():
    client = build_client(Router(None))
    [group] = client.tree.get_commands()
    assert isinstance(group, app_commands.Group) and group.name == "sora"
    tree = {c.name: c for c in group.commands}
    assert set(tree) == set(COMMANDS)
    for name, spec in COMMANDS.items():
        command = tree[name]
        assert command.description == spec.summary[:100], name
        params = {p.name: p for p in command.parameters}
        assert set(params) == {o.name for o in spec.options}, name
        for option in spec.options:
            param = params[option.name]
            assert param.description == option.description[:100], (name, option.name)
            assert param.required is option.required, (name, option.name)
            choices = {c.value for c in param.choices}
            assert choices == set(option.choices), (name, option.name)
