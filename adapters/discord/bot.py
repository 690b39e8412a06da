"""The discord.py client: Discord events → ``Router`` calls, ``Reply`` → embeds.

Listeners, each a thin translation:

- ``/sora <sub>`` app commands (one group, a subcommand per router command, options typed so
  Discord shows them): Discord wants an answer within 3 s. Work that finishes within
  ``inline_budget_s`` is answered directly; known-slow work (``status``, ``probe``) is deferred
  at once ("sora-bot is thinking…") and answered with a followup. Ephemeral unless the Reply
  says otherwise (``status public``, subscription changes).
- messages (``on_message``, Message Content intent): a pasted error (also inside ``` fences, or
  sent by Discord as a ``message.txt`` attachment when it is long) gets a diagnosis as a reply
  to it; anything else gets nothing. Bots, webhooks, system messages and our own are skipped.
  ``@sora status`` runs a command; in a DM, ``status`` typed without the slash does too.
- buttons: Share on status replies, Acknowledge and Mute 1 h on alert parents (a persistent
  view, so clicks still work after a restart).

``Caller.can_manage`` comes from the permissions Discord computed for the member in that
channel: Manage Channels, Manage Server or Administrator; in a DM, always. No Sora, status or
database call happens here: everything goes through the injected router.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import discord
from discord import app_commands

from adapters.discord import embeds as em
from adapters.discord.sink import ACTION_ACK, ACTION_MUTE_1H
from bot.clock import Clock, utcnow
from bot.commands.model import SUBCOMMANDS, Caller, ChannelRef, parse_command
from bot.commands.reply import Button, Reply, Severity

log = logging.getLogger(__name__)

PLATFORM = "discord"
DM_WORKSPACE = "dm"
INLINE_BUDGET_S = 2.0
# Subcommands known to be slow: defer at once, answer with a followup.
SLOW_COMMANDS = frozenset({"status", "probe"})
# Subcommands whose success is said in the channel (the channel's alerts changed).
CHANNEL_VISIBLE = frozenset({"subscribe", "unsubscribe", "mute", "paste"})
# Any one of these permissions lets a member change the channel's alerts.
MANAGE_PERMISSIONS: tuple[str, ...] = ("administrator", "manage_guild", "manage_channels")
ACTION_SHARE = "share_status"
ALL_BUTTONS: tuple[Button, ...] = (
    Button(ACTION_SHARE, "Share in channel", "status public"),
    Button(ACTION_ACK, "Acknowledge", "ack", style="primary"),
    Button(ACTION_MUTE_1H, "Mute 1 h", "mute 1h"),
)
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

# A fence's language tag counts only when it is alone on the fence's line (Discord's rule).
_FENCE_TAG = re.compile(r"```[A-Za-z0-9_+\-.#]{0,20}[ \t]*\n")

Router = Any  # bot.commands.router.Router (only handle_text / handle_message are used)


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
    return ChannelRef(PLATFORM, str(guild_id) if guild_id else DM_WORKSPACE, str(channel_id or ""))


def _error_reply(text: str) -> Reply:
    return Reply(title="Something went wrong", severity=Severity.ERROR, text=text, kind="error")


def _mention(user: discord.abc.User | None) -> str:
    return f"<@{user.id}>" if user is not None else "someone"


# Buttons ---------------------------------------------------------------------------------------

class _ActionButton(discord.ui.Button["ActionButtons"]):
    def __init__(self, button: Button, handler: Callable[[discord.Interaction, str], Awaitable[None]] | None):
        super().__init__(custom_id=button.action_id[:100], label=button.label[:80],
                         style=BUTTON_STYLES.get(button.style or "", discord.ButtonStyle.secondary))
        self._handler = handler

    async def callback(self, interaction: discord.Interaction) -> None:
        if self._handler is not None:
            await self._handler(interaction, self.custom_id or "")


class ActionButtons(discord.ui.View):
    """The bot's buttons. Registered once as a persistent view (``handler`` set) that answers
    every click by custom id; messages carry stopped copies (templates only, never stored), so
    the view store does not grow with every status reply."""

    def __init__(self, buttons: tuple[Button, ...],
                 handler: Callable[[discord.Interaction, str], Awaitable[None]] | None = None) -> None:
        super().__init__(timeout=None)
        for b in buttons:
            self.add_item(_ActionButton(b, handler))

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any]) -> None:
        log.error("discord: button %s failed (%s)", getattr(item, "custom_id", "?"), _short(error))


def buttons_view(buttons: tuple[Button, ...], *, drop: tuple[str, ...] = ()) -> discord.ui.View | None:
    kept = tuple(b for b in buttons if b.action_id not in drop)
    if not kept:
        return None
    view = ActionButtons(kept)
    view.stop()  # a template: clicks go to the persistent view
    return view


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

    async def run_command(self, text: str, channel: ChannelRef, caller: Caller) -> Reply:
        name = parse_command(text, channel).name
        try:
            return await self.router.handle_text(text, channel, caller)
        except Exception:  # noqa: BLE001 - the user gets one line, the log the details
            log.exception("discord: /sora %s failed", name)
            return _error_reply(f"Sorry, `/sora {name}` failed inside the bot. "
                                "The operator can find the details in the logs.")

    def expected_ephemeral(self, sub: str, args: str, caller: Caller) -> bool:
        """Visibility decided before the answer exists (a deferral fixes it)."""
        if sub == "status":
            return args.strip().lower() not in ("public", "share", "channel")
        if sub in CHANNEL_VISIBLE:
            return not caller.can_manage or (sub == "paste" and not args.strip())
        return True

    async def on_slash(self, interaction: discord.Interaction, sub: str, args: str = "") -> None:
        """One ``/sora <sub>`` invocation → ``router.handle_text("<sub> <args>")`` → an embed."""
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        caller = self.interaction_caller(interaction)
        text = f"{sub} {args}".strip()
        work = asyncio.ensure_future(self.run_command(text, channel, caller))
        await self.answer(interaction, work, defer_now=sub in SLOW_COMMANDS,
                          ephemeral=self.expected_ephemeral(sub, args, caller))

    async def on_slash_many(self, interaction: discord.Interaction, sub: str, args_list: list[str]) -> None:
        """Several router calls for one invocation (``/sora paste detection counting``); the
        answer is the last Reply, or the first refusal."""
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        caller = self.interaction_caller(interaction)

        async def run_all() -> Reply:
            reply = _error_reply("nothing to do")
            for args in args_list:
                reply = await self.run_command(f"{sub} {args}", channel, caller)
                if reply.kind == "error":
                    break
            return reply

        await self.answer(interaction, asyncio.ensure_future(run_all()), defer_now=False,
                          ephemeral=self.expected_ephemeral(sub, " ".join(args_list), caller))

    async def answer(self, interaction: discord.Interaction, work: asyncio.Future[Reply], *,
                     defer_now: bool, ephemeral: bool, content: str | None = None,
                     drop_buttons: tuple[str, ...] = ()) -> None:
        """Answer within Discord's 3 s: directly when the work is done in time, else defer
        (with the visibility we expect) and send the Reply as the followup."""
        try:
            if not defer_now:
                done, _ = await asyncio.wait({work}, timeout=self.inline_budget_s)
                if work in done:
                    reply = work.result()
                    await interaction.response.send_message(
                        **self.message_kwargs(reply, content=content, drop_buttons=drop_buttons),
                        ephemeral=reply.ephemeral)
                    return
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            reply = await work
            await interaction.followup.send(
                **self.message_kwargs(reply, content=content, drop_buttons=drop_buttons),
                ephemeral=ephemeral)
        except discord.HTTPException as exc:
            log.warning("discord: answering an interaction failed (%s)", _short(exc))

    @staticmethod
    def message_kwargs(reply: Reply, *, content: str | None = None, embeds: bool = True,
                       drop_buttons: tuple[str, ...] = ()) -> dict[str, Any]:
        """``send``/``reply`` keyword arguments for a Reply: an embed (or, where the bot may not
        embed links, the plain text), its buttons, and no mention that could ping."""
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if embeds:
            kwargs["embed"] = em.reply_embed(reply)
            if content:
                kwargs["content"] = em.truncate(content, em.LIMITS.content)
        else:
            text = em.fallback_text(reply)
            kwargs["content"] = em.truncate(f"{content}\n{text}" if content else text, em.LIMITS.content)
        view = buttons_view(reply.buttons, drop=drop_buttons)
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
        elif isinstance(author, discord.Member) and hasattr(message.channel, "permissions_for"):
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
        caller = self.message_caller(message)
        first = text.split()[0].lower() if text.split() else ""
        reply: Reply | None
        if mentioned and (first in SUBCOMMANDS or not text.strip()):
            reply = await self.run_command(text or "help", channel, caller)
        else:
            reply = await self._diagnose_message(text, channel, caller)
            if reply is None and (mentioned or (message.guild is None and first in SUBCOMMANDS)):
                reply = await self.run_command(text if first in SUBCOMMANDS else "help", channel, caller)
        if reply is not None:
            await self._reply_to(message, reply)

    async def _diagnose_message(self, text: str, channel: ChannelRef, caller: Caller) -> Reply | None:
        if not text.strip():
            return None
        try:
            return await self.router.handle_message(text, channel, caller)
        except Exception:  # noqa: BLE001 - a listener must survive a bad paste
            log.exception("discord: paste diagnosis failed")
            return None

    def _may_embed(self, message: discord.Message) -> bool:
        guild = message.guild
        if guild is None or guild.me is None or not hasattr(message.channel, "permissions_for"):
            return True
        return message.channel.permissions_for(guild.me).embed_links

    async def _reply_to(self, message: discord.Message, reply: Reply) -> None:
        try:
            await message.reply(mention_author=False,
                                **self.message_kwargs(reply, embeds=self._may_embed(message),
                                                      drop_buttons=(ACTION_SHARE,)))
        except discord.HTTPException as exc:
            log.warning("discord: reply to a message failed (%s)", _short(exc))

    # Buttons -----------------------------------------------------------------------------------

    async def on_button(self, interaction: discord.Interaction, action_id: str) -> None:
        handlers = {ACTION_SHARE: self.on_share, ACTION_ACK: self.on_acknowledge,
                    ACTION_MUTE_1H: self.on_mute}
        handler = handlers.get(action_id)
        if handler is not None:
            await handler(interaction)

    async def on_share(self, interaction: discord.Interaction) -> None:
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        caller = self.interaction_caller(interaction)
        work = asyncio.ensure_future(self.run_command("status public", channel, caller))
        await self.answer(interaction, work, defer_now=False, ephemeral=False,
                          content=f"Shared by {_mention(interaction.user)}", drop_buttons=(ACTION_SHARE,))

    async def on_acknowledge(self, interaction: discord.Interaction) -> None:
        line = f"✋ by {_mention(interaction.user)} at {self.now():%H:%M} UTC"
        await self._mark_alert(interaction, em.ACK_FIELD, line)

    async def on_mute(self, interaction: discord.Interaction) -> None:
        channel = channel_ref(interaction.guild_id, interaction.channel_id)
        reply = await self.run_command("mute 1h", channel, self.interaction_caller(interaction))
        if reply.kind == "error":
            try:
                await interaction.response.send_message(**self.message_kwargs(reply), ephemeral=True)
            except discord.HTTPException as exc:
                log.warning("discord: mute refusal not sent (%s)", _short(exc))
            return
        await self._mark_alert(interaction, em.MUTE_FIELD, f"🔕 {reply.title} by {_mention(interaction.user)}")

    async def _mark_alert(self, interaction: discord.Interaction, field: str, line: str) -> None:
        """Show who acted on the alert itself (a field after Status), keeping the buttons."""
        message = interaction.message
        embed = message.embeds[0].to_dict() if message is not None and message.embeds else {}
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if embed:
            kwargs["embed"] = discord.Embed.from_dict(em.set_field(embed, field, line, after=em.STATUS_FIELD))
        else:
            kwargs["content"] = em.truncate(f"{message.content if message else ''}\n{line}".strip(),
                                            em.LIMITS.content)
        try:
            await interaction.response.edit_message(**kwargs)
        except discord.HTTPException as exc:
            log.warning("discord: alert not marked (%s)", _short(exc))


# App commands -----------------------------------------------------------------------------------

class SoraGroup(app_commands.Group):
    """``/sora …``: the same subcommands as Slack's ``/sora`` and the shell, as typed options."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        super().__init__(name="sora", description="Sora 2 API: status, error diagnosis and alerts")
        self.adapter = adapter

    @app_commands.command(name="status", description="Official status, live probes, team error rate and one verdict")
    @app_commands.describe(public="Post the answer in the channel instead of only to you")
    async def status(self, interaction: discord.Interaction, public: bool = False) -> None:
        await self.adapter.on_slash(interaction, "status", "public" if public else "")

    @app_commands.command(name="diagnose", description="Explain an error: category, retryable, causes, actions")
    @app_commands.describe(paste="The error text, JSON body or exception line")
    async def diagnose(self, interaction: discord.Interaction, paste: str) -> None:
        await self.adapter.on_slash(interaction, "diagnose", paste)

    @app_commands.command(name="probe", description="Probe the API (and gateways) now")
    @app_commands.describe(target="Only this target (e.g. openai or a gateway name)")
    async def probe(self, interaction: discord.Interaction, target: str | None = None) -> None:
        await self.adapter.on_slash(interaction, "probe", target or "")

    @app_commands.command(name="subscribe", description="Post incident notices to this channel")
    @app_commands.describe(kinds="Which notices (default: all)")
    async def subscribe(self, interaction: discord.Interaction,
                        kinds: Literal["all", "incidents", "status"] = "all") -> None:
        await self.adapter.on_slash(interaction, "subscribe", kinds)

    @app_commands.command(name="unsubscribe", description="Stop incident notices in this channel")
    async def unsubscribe(self, interaction: discord.Interaction) -> None:
        await self.adapter.on_slash(interaction, "unsubscribe")

    @app_commands.command(name="mute", description="Silence notices here for a while, e.g. 30m, 2h, 1d")
    @app_commands.describe(duration="How long, e.g. 30m, 2h, 1d (at most 30 days)")
    async def mute(self, interaction: discord.Interaction, duration: str) -> None:
        await self.adapter.on_slash(interaction, "mute", duration)

    @app_commands.command(name="history", description="Recent incidents")
    async def history(self, interaction: discord.Interaction) -> None:
        await self.adapter.on_slash(interaction, "history")

    @app_commands.command(name="paste", description="Answer pasted errors in this channel, and count them")
    @app_commands.describe(detection="on: answer pasted errors here; off: only /sora diagnose",
                           counting="on: count pasted errors in the team's error rate")
    async def paste(self, interaction: discord.Interaction,
                    detection: Literal["on", "off"] | None = None,
                    counting: Literal["on", "off"] | None = None) -> None:
        args = " ".join(a for a in (detection or "", f"counting {counting}" if counting else "") if a)
        if detection and counting:  # the router takes one setting at a time
            await self.adapter.on_slash_many(interaction, "paste", [detection, f"counting {counting}"])
            return
        await self.adapter.on_slash(interaction, "paste", args)

    @app_commands.command(name="help", description="Help, or the error quick reference")
    @app_commands.describe(topic="errors: each error type and code, what it means, what to do")
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

    async def setup_hook(self) -> None:
        self.add_view(ActionButtons(ALL_BUTTONS, self.adapter.on_button))

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

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
