"""The discord.py client: Discord events → ``Router`` calls, ``Reply`` → embeds.

Listeners, each a thin translation (the rules — what is a command, what is slow, who may,
what is public — are the core's: ``bot.commands.specs`` and ``Router``):

- ``/sora <sub>`` app commands (one group, a subcommand per row of the core's command table,
  options typed so Discord shows them): Discord wants an answer within 3 s. Work that finishes
  within ``inline_budget_s`` is answered directly; slow work (the spec says so) is deferred at
  once ("sora-bot is thinking…") and answered with a followup. A deferral fixes visibility, so
  it is computed before the answer exists, from the spec (``CommandSpec.is_public``).
- messages (``on_message``, Message Content intent): the text goes to ``Router.handle_chat``,
  which decides command, paste, hint or nothing; an answer is a reply to the message. Bots,
  webhooks, system messages and our own are skipped. A long paste Discord turned into a
  ``message.txt`` attachment is read too.
- controls (``on_interaction`` for components): every ``bot.commands.reply.Action`` is a
  button or a select menu whose ``custom_id`` names it; a click goes to
  ``Router.handle_action``; "Add note" opens a modal first. Clicks keep working after a restart
  (nothing is held in memory but the modal being filled in).

``Caller.can_manage`` comes from the permissions Discord computed for the member in that
channel: Manage Channels, Manage Server or Administrator; in a DM, always. No Sora, status or
database call happens here: everything goes through the injected router.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from typing import Any, Literal

import discord
from discord import app_commands

from adapters.discord import embeds as em
from bot.clock import Clock, utcnow
from bot.commands.model import Caller, ChannelRef
from bot.commands.reply import Action, ActionKind, Reply, ReplyKind, note_action
from bot.commands.router import ActionOutcome, Router
from bot.commands.specs import COMMANDS, spec_for

log = logging.getLogger(__name__)

PLATFORM = "discord"
DM_WORKSPACE = "dm"
INLINE_BUDGET_S = 1.5
# Any one of these permissions lets a member change the channel's alerts.
MANAGE_PERMISSIONS: tuple[str, ...] = ("administrator", "manage_guild", "manage_channels")
ACTION_SHARE = ActionKind.SHARE.value
# What the bot needs in a channel (README's invite link uses this): read it, answer pastes as
# replies (Read Message History), embeds, and the same in threads.
REQUIRED_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True,
                                           send_messages_in_threads=True, embed_links=True,
                                           read_message_history=True)
INVITE_SCOPES: tuple[str, ...] = ("bot", "applications.commands")
BUTTON_STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}
NO_MENTIONS = discord.AllowedMentions.none()
MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 256 * 1024
TEXT_SUFFIXES = (".txt", ".log", ".json", ".jsonl", ".out", ".err", ".html", ".py", ".js", ".ts")
HUMAN_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
MARK_FIELDS = {"ack": em.ACK_FIELD, "mute": em.MUTE_FIELD}
NOTE_MODAL_TIMEOUT_S = 900.0

# A fence's language tag counts only when it is alone on the fence's line (Discord's rule).
_FENCE_TAG = re.compile(r"```[A-Za-z0-9_+\-.#]{0,20}[ \t]*\n")


def strip_fences(text: str) -> str:
    """Message text → the paste: code fences (and their language tags) removed, and the
    backticks of a message that is one inline code span; the error inside is what was pasted."""
    out = _FENCE_TAG.sub("\n", text or "").replace("```", "\n").strip()
    if len(out) > 2 and out[0] == "`" and out[-1] == "`" and "\n" not in out:
        out = out.strip("`").strip()
    return out


def can_manage(permissions: discord.Permissions | None, *, in_guild: bool) -> bool:
    """May this member change the channel's alerts? Always in a DM (it is their own chat)."""
    if not in_guild:
        return True
    if permissions is None:
        return False
    return any(getattr(permissions, name, False) for name in MANAGE_PERMISSIONS)


def channel_ref(guild_id: int | None, channel_id: int | None) -> ChannelRef:
    if not guild_id:  # a DM: no guild owns it, so its team memory is its own
        return ChannelRef(PLATFORM, DM_WORKSPACE, str(channel_id or ""), private=True)
    return ChannelRef(PLATFORM, str(guild_id), str(channel_id or ""))


def _mention(user: discord.abc.User | None) -> str:
    return f"<@{user.id}>" if user is not None else "someone"


# Controls --------------------------------------------------------------------------------------

def actions_view(actions: tuple[Action, ...]) -> discord.ui.View | None:
    """The Reply's controls as a discord.py View *template* (stopped: never stored, so the
    view store does not grow with every reply; clicks arrive in ``on_interaction``)."""
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    for action in actions:
        if action.is_menu:
            view.add_item(discord.ui.Select(
                custom_id=em.custom_id(action), placeholder=action.label[: em.LIMITS.placeholder],
                options=[discord.SelectOption(label=c[: em.LIMITS.option_label],
                                              value=f"{c}{em.MENU_SEPARATOR}{action.value}"[: em.LIMITS.option_value])
                         for c in action.choices[: em.LIMITS.select_options]]))
        else:
            view.add_item(discord.ui.Button(
                custom_id=em.custom_id(action), label=action.label[: em.LIMITS.button_label],
                style=BUTTON_STYLES.get(action.style or "", discord.ButtonStyle.secondary)))
    view.stop()
    return view


class NoteModal(discord.ui.Modal):
    """"Add note": one text box; its wording is the core's note action."""

    def __init__(self, adapter: DiscordAdapter, fingerprint: str) -> None:
        spec = note_action(fingerprint)
        # discord.py routes a submission by the modal's custom_id: one per open form, so two
        # people adding a note to the same kind at once each get their own
        super().__init__(title="Add a team note", timeout=NOTE_MODAL_TIMEOUT_S,
                         custom_id=f"{em.custom_id(spec)}:{secrets.token_hex(4)}"[: em.LIMITS.custom_id])
        self.adapter = adapter
        self.fingerprint = fingerprint
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            label=(spec.prompt or "Note")[: em.LIMITS.text_input_label],
            style=discord.TextStyle.paragraph, max_length=2000,
            placeholder=(spec.placeholder or "")[:100])
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.adapter.act(interaction, ActionKind.NOTE, self.fingerprint, text=self.note.value)


def _short(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status} {exc.code}".strip()
    return type(exc).__name__


# The adapter ------------------------------------------------------------------------------------

class DiscordAdapter:
    """The listeners' shared state (router, clock, budget) and the translation both ways."""

    def __init__(self, router: Router, *, inline_budget_s: float = INLINE_BUDGET_S,
                 now: Clock = utcnow) -> None:
        self.router = router
        self.inline_budget_s = inline_budget_s
        self.now = now
        self.client: discord.Client | None = None

    # Commands ----------------------------------------------------------------------------------

    @staticmethod
    def interaction_caller(interaction: discord.Interaction) -> Caller:
        user = interaction.user
        in_guild = interaction.guild_id is not None
        return Caller(user_id=str(user.id), display=getattr(user, "display_name", None) or user.name,
                      can_manage=can_manage(interaction.permissions, in_guild=in_guild))

    async def on_slash(self, interaction: discord.Interaction, sub: str, args: str = "") -> None:
        """One ``/sora <sub>`` invocation → ``router.handle_command("<sub> <args>")`` → an embed."""
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        caller = self.interaction_caller(interaction)
        spec = spec_for(sub)
        work = asyncio.ensure_future(self.router.handle_command(f"{sub} {args}".strip(), channel, caller))
        await self.answer(interaction, work, defer_now=spec.slow,
                          ephemeral=not spec.is_public(args, may_manage=caller.can_manage))

    async def on_slash_many(self, interaction: discord.Interaction, sub: str, args_list: list[str]) -> None:
        """Several router calls for one invocation (``/sora paste detection counting``); the
        answer is the last Reply, or the first refusal."""
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        caller = self.interaction_caller(interaction)

        async def run_all() -> Reply:
            reply: Reply | None = None
            for args in args_list:
                reply = await self.router.handle_command(f"{sub} {args}", channel, caller)
                if reply.kind is ReplyKind.ERROR:
                    break
            assert reply is not None
            return reply

        public = spec_for(sub).is_public(" ".join(args_list), may_manage=caller.can_manage)
        await self.answer(interaction, asyncio.ensure_future(run_all()), defer_now=False,
                          ephemeral=not public)

    async def answer(self, interaction: discord.Interaction, work: asyncio.Future[Reply], *,
                     defer_now: bool, ephemeral: bool, content: str | None = None) -> None:
        """Answer within Discord's 3 s: directly when the work is done in time, else defer
        (with the visibility we expect) and send the Reply as the followup."""
        try:
            if not defer_now:
                done, _ = await asyncio.wait({work}, timeout=self.inline_budget_s)
                if work in done:
                    reply = work.result()
                    await interaction.response.send_message(
                        **self.message_kwargs(reply, content=content), ephemeral=reply.ephemeral)
                    return
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            reply = await work
            await interaction.followup.send(**self.message_kwargs(reply, content=content),
                                            ephemeral=ephemeral)
        except discord.HTTPException as exc:
            log.warning("discord: answering an interaction failed (%s)", _short(exc))

    @staticmethod
    def message_kwargs(reply: Reply, *, content: str | None = None, embeds: bool = True) -> dict[str, Any]:
        """``send``/``reply`` keyword arguments for a Reply: an embed (or, where the bot may not
        embed links, the plain text), its controls, and no mention that could ping."""
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if embeds:
            kwargs["embed"] = em.reply_embed(reply)
            if content:
                kwargs["content"] = em.truncate(content, em.LIMITS.content)
        else:
            text = em.fallback_text(reply)
            kwargs["content"] = em.truncate(f"{content}\n{text}" if content else text, em.LIMITS.content)
        view = actions_view(reply.actions)
        if view is not None:
            kwargs["view"] = view
        return kwargs

    # Messages ----------------------------------------------------------------------------------

    def _is_human(self, message: discord.Message) -> bool:
        me = self.client.user if self.client is not None else None
        return (not message.author.bot and message.webhook_id is None
                and message.type in HUMAN_MESSAGE_TYPES
                and (me is None or message.author.id != me.id))

    async def message_text(self, message: discord.Message, content: str) -> str:
        """The message's paste: text without fences, plus its text attachments (Discord turns a
        long paste into ``message.txt``)."""
        parts = [strip_fences(content)]
        for attachment in message.attachments[:MAX_ATTACHMENTS]:
            if not self._is_text(attachment):
                continue
            try:
                data = await attachment.read()
            except (discord.HTTPException, OSError) as exc:
                log.info("discord: attachment download failed (%s)", _short(exc))
                continue
            parts.append(strip_fences(data[:MAX_ATTACHMENT_BYTES].decode("utf-8", "replace")))
        return "\n\n".join(p for p in parts if p.strip())

    @staticmethod
    def _is_text(attachment: discord.Attachment) -> bool:
        if attachment.size > MAX_ATTACHMENT_BYTES:
            return False
        ctype = (attachment.content_type or "").lower()
        return (ctype.startswith("text/") or ctype.startswith("application/json")
                or attachment.filename.lower().endswith(TEXT_SUFFIXES))

    def _mention_pattern(self) -> re.Pattern[str] | None:
        me = self.client.user if self.client is not None else None
        return re.compile(rf"<@!?{me.id}>") if me is not None else None

    @staticmethod
    def message_caller(message: discord.Message) -> Caller:
        author = message.author
        if message.guild is None:
            allowed = True
        elif isinstance(author, discord.Member) and isinstance(message.channel, discord.abc.GuildChannel):
            allowed = can_manage(message.channel.permissions_for(author), in_guild=True)
        else:
            allowed = False
        return Caller(user_id=str(author.id), display=author.display_name, can_manage=allowed)

    async def on_message(self, message: discord.Message) -> None:
        if not self._is_human(message):
            return
        content = message.content or ""
        pattern = self._mention_pattern()
        mentioned = bool(pattern and pattern.search(content))
        if mentioned and pattern is not None:
            content = pattern.sub(" ", content).strip()
        text = await self.message_text(message, content)
        channel = channel_ref(message.guild.id if message.guild else None, message.channel.id)
        reply = await self.router.handle_chat(text, channel, self.message_caller(message),
                                              mentioned=mentioned, is_dm=message.guild is None)
        if reply is not None:
            await self._reply_to(message, reply.without(ActionKind.SHARE))

    def _may_embed(self, message: discord.Message) -> bool:
        guild = message.guild
        if guild is None or guild.me is None or not isinstance(message.channel, discord.abc.GuildChannel):
            return True
        return message.channel.permissions_for(guild.me).embed_links

    async def _reply_to(self, message: discord.Message, reply: Reply) -> None:
        try:
            await message.reply(mention_author=False,
                                **self.message_kwargs(reply, embeds=self._may_embed(message)))
        except discord.HTTPException as exc:
            log.warning("discord: reply to a message failed (%s)", _short(exc))

    # Controls ----------------------------------------------------------------------------------

    async def on_component(self, interaction: discord.Interaction) -> None:
        """A click on a button or a choice in a menu the core declared."""
        data: dict[str, Any] = dict(interaction.data or {})
        parsed = em.parse_custom_id(str(data.get("custom_id") or ""))
        if parsed is None:
            return
        kind, value = parsed
        if kind is ActionKind.NOTE:
            try:
                await interaction.response.send_modal(NoteModal(self, value))
            except discord.HTTPException as exc:
                log.warning("discord: note modal not opened (%s)", _short(exc))
            return
        await self.act(interaction, kind, value, text=em.chosen(data.get("values") or ()))

    async def act(self, interaction: discord.Interaction, kind: ActionKind, value: str, *,
                  text: str | None = None) -> None:
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        work = asyncio.ensure_future(self.router.handle_action(
            kind, value, channel, self.interaction_caller(interaction), text=text))
        if kind is ActionKind.SHARE:  # a status: may take a moment, and is public
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException as exc:
                log.warning("discord: share not deferred (%s)", _short(exc))
                return
        outcome = await work
        await self._show(interaction, outcome, deferred=kind is ActionKind.SHARE)

    async def _show(self, interaction: discord.Interaction, outcome: ActionOutcome, *,
                    deferred: bool) -> None:
        try:
            if outcome.mark is not None:
                await self._mark(interaction, MARK_FIELDS.get(outcome.mark.slot, outcome.mark.slot.title()),
                                 outcome.mark.line(_mention(interaction.user)))
                return
            reply = outcome.reply
            if reply is None:
                return
            credit = outcome.credit_line(_mention(interaction.user))
            kwargs = self.message_kwargs(reply, content=credit)
            if deferred:
                await interaction.followup.send(**kwargs)
            else:
                await interaction.response.send_message(**kwargs, ephemeral=reply.ephemeral)
        except discord.HTTPException as exc:
            log.warning("discord: answering a control failed (%s)", _short(exc))

    async def _mark(self, interaction: discord.Interaction, field: str, line: str) -> None:
        """Show who acted on the message itself (a field after Status), keeping the controls."""
        message = interaction.message
        embed = message.embeds[0].to_dict() if message is not None and message.embeds else {}
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if embed:
            kwargs["embed"] = discord.Embed.from_dict(em.set_field(embed, field, line, after=em.STATUS_FIELD))
        else:
            kwargs["content"] = em.truncate(f"{message.content if message else ''}\n{line}".strip(),
                                            em.LIMITS.content)
        await interaction.response.edit_message(**kwargs)


# App commands -----------------------------------------------------------------------------------

def _summary(name: str) -> str:
    return COMMANDS[name].summary[:100]


def _options(name: str) -> dict[str, str]:
    return {o.name: o.description[:100] for o in COMMANDS[name].options}


class SoraGroup(app_commands.Group):
    """``/sora …``: the core's command table as typed app commands (names, descriptions and
    options come from ``bot.commands.specs``; a test checks the tree matches the table)."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        super().__init__(name="sora", description="Sora 2 API: status, error diagnosis and alerts")
        self.adapter = adapter

    @app_commands.command(name="status", description=_summary("status"))
    @app_commands.describe(**_options("status"))
    async def status(self, interaction: discord.Interaction, public: bool = False) -> None:
        await self.adapter.on_slash(interaction, "status", "public" if public else "")

    @app_commands.command(name="diagnose", description=_summary("diagnose"))
    @app_commands.describe(**_options("diagnose"))
    async def diagnose(self, interaction: discord.Interaction, paste: str) -> None:
        await self.adapter.on_slash(interaction, "diagnose", paste)

    @app_commands.command(name="probe", description=_summary("probe"))
    @app_commands.describe(**_options("probe"))
    async def probe(self, interaction: discord.Interaction, target: str | None = None) -> None:
        await self.adapter.on_slash(interaction, "probe", target or "")

    @app_commands.command(name="subscribe", description=_summary("subscribe"))
    @app_commands.describe(**_options("subscribe"))
    async def subscribe(self, interaction: discord.Interaction,
                        kinds: Literal["all", "incidents", "status"] = "all") -> None:
        await self.adapter.on_slash(interaction, "subscribe", kinds)

    @app_commands.command(name="unsubscribe", description=_summary("unsubscribe"))
    async def unsubscribe(self, interaction: discord.Interaction) -> None:
        await self.adapter.on_slash(interaction, "unsubscribe")

    @app_commands.command(name="mute", description=_summary("mute"))
    @app_commands.describe(**_options("mute"))
    async def mute(self, interaction: discord.Interaction, duration: str) -> None:
        await self.adapter.on_slash(interaction, "mute", duration)

    @app_commands.command(name="history", description=_summary("history"))
    async def history(self, interaction: discord.Interaction) -> None:
        await self.adapter.on_slash(interaction, "history")

    @app_commands.command(name="paste", description=_summary("paste"))
    @app_commands.describe(**_options("paste"))
    async def paste(self, interaction: discord.Interaction,
                    detection: Literal["on", "off"] | None = None,
                    counting: Literal["on", "off"] | None = None) -> None:
        args = " ".join(a for a in (detection or "", f"counting {counting}" if counting else "") if a)
        if detection and counting:  # the router takes one setting at a time
            await self.adapter.on_slash_many(interaction, "paste", [detection, f"counting {counting}"])
            return
        await self.adapter.on_slash(interaction, "paste", args)

    @app_commands.command(name="top", description=_summary("top"))
    @app_commands.describe(**_options("top"))
    async def top(self, interaction: discord.Interaction,
                  window: Literal["1h", "24h", "7d"] | None = None) -> None:
        await self.adapter.on_slash(interaction, "top", window or "")

    @app_commands.command(name="note", description=_summary("note"))
    @app_commands.describe(**_options("note"))
    async def note(self, interaction: discord.Interaction, fingerprint: str,
                   text: str | None = None) -> None:
        await self.adapter.on_slash(interaction, "note", f"{fingerprint} {text or ''}".strip())

    @app_commands.command(name="correct", description=_summary("correct"))
    @app_commands.describe(**_options("correct"))
    async def correct(self, interaction: discord.Interaction, fingerprint: str,
                      category: Literal["auth", "permission", "not_found", "bad_request",
                                        "content_policy", "risk_control", "rate_limit", "quota",
                                        "server", "network"]) -> None:
        await self.adapter.on_slash(interaction, "correct", f"{fingerprint} {category}")

    @app_commands.command(name="help", description=_summary("help"))
    @app_commands.describe(**_options("help"))
    async def help(self, interaction: discord.Interaction,
                   topic: Literal["errors"] | None = None) -> None:
        await self.adapter.on_slash(interaction, "help", topic or "")


class SoraClient(discord.Client):
    """The Discord client: the ``/sora`` command tree, the message listener, the buttons."""

    def __init__(self, adapter: DiscordAdapter, *, intents: discord.Intents, **options: Any) -> None:
        super().__init__(intents=intents, **options)
        self.adapter = adapter
        adapter.client = self
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(SoraGroup(adapter))
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            await self.adapter.on_component(interaction)

    async def _on_tree_error(self, interaction: discord.Interaction,
                             error: app_commands.AppCommandError) -> None:
        log.error("discord: /%s failed (%s)", interaction.command.qualified_name
                  if interaction.command else "?", _short(getattr(error, "original", error)))


def invite_url(application_id: int | str) -> str:
    """The OAuth2 link that adds the bot to a server with exactly the permissions it uses."""
    return discord.utils.oauth_url(int(application_id), permissions=REQUIRED_PERMISSIONS,
                                   scopes=INVITE_SCOPES)


def make_intents(*, message_content: bool = True) -> discord.Intents:
    """Default intents (guilds, guild messages, DMs…) plus Message Content for paste detection;
    without it Discord still sends content of DMs and of messages that mention the bot."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


def build_client(router: Router, *, message_content: bool = True,
                 inline_budget_s: float = INLINE_BUDGET_S, now: Clock = utcnow,
                 **options: Any) -> SoraClient:
    """The client with every sora-bot listener registered; nothing is called on Discord here.
    ``options`` go to ``discord.Client`` (e.g. ``guild_ready_timeout`` in tests)."""
    adapter = DiscordAdapter(router, inline_budget_s=inline_budget_s, now=now)
    return SoraClient(adapter, intents=make_intents(message_content=message_content), **options)
