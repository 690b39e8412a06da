"""The shell adapter as the test chat backend: messages in, rendered replies out."""

import io

from adapters.shell.adapter import ShellAdapter
from adapters.shell.assemble import split_messages
from bot.commands.router import Router, parse_duration

SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'


def test_split_messages_blank_lines_and_commands():
    text = "/sora help\n/sora status\n\nTraceback (most recent call last):\n  File \"x\"\nopenai.APIConnectionError: Connection error.\n\n\n" + SEED + "\n"
    msgs = list(split_messages(io.StringIO(text).readlines()))
    assert msgs[0] == "/sora help" and msgs[1] == "/sora status"
    assert msgs[2].startswith("Traceback") and msgs[2].endswith("Connection error.")
    assert msgs[3] == SEED and len(msgs) == 4


async def test_seed_error_through_shell():
    out = io.StringIO()
    shell = ShellAdapter(Router(None), out=out, color=False)
    code = await shell.run_stream(io.StringIO(f"/sora help\n\n{SEED}\n\n/sora nope\n"))
    assert code == 0
    text = out.getvalue()
    assert "sora-bot help" in text
    assert "risk_control" in text and "Likely causes" in text
    assert "Unknown subcommand `nope`" in text
    assert text.index("sora-bot help") < text.index("risk_control") < text.index("Unknown subcommand")


async def test_diagnose_command_without_paste_gives_usage():
    shell = ShellAdapter(Router(None), out=io.StringIO(), color=False)
    reply = await shell.reply_to("/sora diagnose")
    assert reply.kind == "error" and "diagnose" in reply.title


def test_parse_duration():
    assert parse_duration("30m").total_seconds() == 1800
    assert parse_duration("1h").total_seconds() == 3600
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("2d").total_seconds() == 172800
    assert parse_duration("45").total_seconds() == 2700
    for bad in ("", "soon", "0m", "-5m", "1x"):
        assert parse_duration(bad) is None, bad


async def test_help_errors_is_the_knowledge_table():
    shell = ShellAdapter(Router(None), out=io.StringIO(), color=False)
    reply = await shell.reply_to("/sora help errors")
    rows = reply.sections[0].items
    cats = {row.split(" → ")[1].split(" ")[0] for row in rows}
    assert {"auth", "permission", "not_found", "bad_request", "content_policy", "risk_control",
            "rate_limit", "quota", "server", "network"} <= cats
    quota = [r for r in rows if " → quota " in r]
    assert quota and all("do not retry" in r for r in quota)
    assert not any("{" in r for r in rows)


async def test_paste_opt_out_and_subscribe_created_flag(tmp_path):
    from bot.commands.model import Caller, ChannelRef
    from bot.config import load_settings
    from bot.service import CoreServices
    from bot.store import open_store

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = open_store(url)
    store.upgrade()
    router = Router(CoreServices(load_settings(env_file=None, DATABASE_URL=url), store))
    chan = ChannelRef("slack", "T1", "C1")
    boss, guest = Caller("U1", can_manage=True), Caller("U2", can_manage=False)

    assert (await router.handle_command("/sora subscribe incidents", chan, boss)).title.startswith("Subscribed")
    assert (await router.handle_command("/sora subscribe all", chan, boss)).title.startswith("Subscription updated")

    assert (await router.handle_chat(SEED, chan, guest)).kind == "diagnosis"
    assert store.error_total(store.now().replace(year=2000)) == 1
    assert (await router.handle_command("/sora paste off", chan, guest)).title.startswith("Not allowed: ")
    reply = await router.handle_command("/sora paste off", chan, boss)
    assert reply.fields[0].value == "off"
    assert await router.handle_chat(SEED, chan, guest) is None
    await router.handle_command("/sora paste on", chan, boss)
    await router.handle_command("/sora paste counting off", chan, boss)
    assert (await router.handle_chat(SEED, chan, guest)).kind == "diagnosis"
    assert store.error_total(store.now().replace(year=2000)) == 1  # not counted any more
    assert (await router.handle_command("/sora paste sideways", chan, boss)).kind == "error"


async def test_interactive_prompt_answers_and_ctrl_d_exits():
    from prompt_toolkit import PromptSession
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    out = io.StringIO()
    with create_pipe_input() as keys:
        keys.send_text(f"/sora help\r{SEED}\r\x04")  # a one-line JSON paste needs no blank line
        session: PromptSession[str] = PromptSession(input=keys, output=DummyOutput())
        code = await ShellAdapter(Router(None), out=out, color=False).run_interactive(session)
    assert code == 0
    text = out.getvalue()
    assert "sora-bot help" in text and "risk_control" in text
    assert text.endswith("\n") and not text.endswith("\n\n\n\n")  # Ctrl-D: one clean newline
