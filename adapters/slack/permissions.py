"""Who may change alerts in a channel (``subscribe``, ``unsubscribe``, ``mute``): decided here.

Only Slack knows channel membership, admins and user groups, so the adapter computes
``Caller.can_manage`` and the router enforces it. The rule:

1. the user is a member of the channel. A slash command typed in a channel proves it (Slack
   only lets members post there); a button click does not (anyone who can *read* a public
   channel can click), so clicks are checked with ``conversations.members``;
2. when ``SLACK_ADMIN_USERS`` or ``SLACK_ADMIN_GROUP`` is set, the user must also be one of
   those users, in that user group (``usergroups.users.list``), or a workspace admin/owner
   (``users.info``). With neither set, every member may manage.

Every lookup that fails (missing scope, Slack down) denies: fail closed, logged once per call.
Answers are cached briefly (per team) so a burst of clicks costs one API call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")
CACHE_TTL = timedelta(seconds=60)
MAX_MEMBER_PAGES = 20  # 20 × 1000 members; past that, a click in a huge channel is denied


@dataclass
class _TTLCache(Generic[T]):
    now: Clock
    ttl: timedelta = CACHE_TTL
    _items: dict[tuple[str, ...], tuple[datetime, T]] = field(default_factory=dict)

    async def get(self, key: tuple[str, ...], load: Callable[[], Awaitable[T]]) -> T:
        hit = self._items.get(key)
        if hit is not None and self.now() - hit[0] < self.ttl:
            return hit[1]
        value = await load()
        self._items[key] = (self.now(), value)
        if len(self._items) > 10_000:  # a bounded cache: drop the oldest half
            for k in sorted(self._items, key=lambda k: self._items[k][0])[:5_000]:
                self._items.pop(k, None)
        return value


class PermissionChecker:
    def __init__(self, client: AsyncWebClient, *, admin_users: frozenset[str] | set[str] = frozenset(),
                 admin_group: str | None = None, now: Clock = utcnow) -> None:
        self.client = client
        self.admin_users = frozenset(admin_users)
        self.admin_group = admin_group or None
        self._members: _TTLCache[frozenset[str] | None] = _TTLCache(now)
        self._group: _TTLCache[frozenset[str] | None] = _TTLCache(now)
        self._admins: _TTLCache[bool] = _TTLCache(now)

    @property
    def restricted(self) -> bool:
        return bool(self.admin_users or self.admin_group)

    async def can_manage(self, team_id: str, channel_id: str, user_id: str, *,
                         membership_proven: bool) -> bool:
        """True when ``user_id`` may subscribe/unsubscribe/mute ``channel_id``."""
        if not user_id:
            return False
        if not membership_proven and not await self.is_member(team_id, channel_id, user_id):
            return False
        if not self.restricted or user_id in self.admin_users:
            return True
        if self.admin_group:
            group = await self._group.get((team_id, self.admin_group), self._load_group)
            if group is not None and user_id in group:
                return True
        return await self._admins.get((team_id, user_id), lambda: self._load_is_admin(user_id))

    async def is_member(self, team_id: str, channel_id: str, user_id: str) -> bool:
        if channel_id.startswith("D"):  # a DM with the bot: the other party is the only human
            return True
        members = await self._members.get((team_id, channel_id), lambda: self._load_members(channel_id))
        return members is not None and user_id in members

    async def _load_members(self, channel_id: str) -> frozenset[str] | None:
        users: set[str] = set()
        cursor: str | None = None
        try:
            for _ in range(MAX_MEMBER_PAGES):
                resp = await self.client.conversations_members(channel=channel_id, limit=1000,
                                                               cursor=cursor)
                users.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return frozenset(users)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: cannot list members of %s (%s); denying", channel_id, _why(exc))
            return None
        log.warning("slack: channel %s has too many members to check; denying", channel_id)
        return None

    async def _load_group(self) -> frozenset[str] | None:
        try:
            resp = await self.client.usergroups_users_list(usergroup=self.admin_group or "")
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: cannot read SLACK_ADMIN_GROUP %s (%s)", self.admin_group, _why(exc))
            return None
        return frozenset(resp.get("users") or [])

    async def _load_is_admin(self, user_id: str) -> bool:
        try:
            resp = await self.client.users_info(user=user_id)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: users.info failed for %s (%s); denying", user_id, _why(exc))
            return False
        user = resp.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def _why(exc: Exception) -> str:
    """A short reason without the request (which could carry a token in some clients)."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__
