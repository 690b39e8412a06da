"""Which Slack scopes the adapter needs, and why: kept as data so a test can check that
``manifest.yml`` grants exactly these (no missing scope at run time, no scope we do not use)."""

from __future__ import annotations

HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")

# Web API method (as called through AsyncWebClient) → bot scopes it needs.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),                          # start-up check
    "apps.connections.open": (),              # Socket Mode: app-level token, connections:write
    "chat.postMessage": ("chat:write",),      # thread replies, alerts
    "chat.update": ("chat:write",),           # alert status line, who acknowledged/muted
    "chat.postEphemeral": ("chat:write",),    # the answer to a note typed in the modal
    "views.open": (),                         # the "Add note" modal (interactivity, no scope)
    "conversations.history": HISTORY,         # alert parent's blocks, find_existing
    "conversations.replies": HISTORY,         # find_existing for thread replies
    "conversations.members": ("channels:read", "groups:read", "mpim:read"),  # button permission
    "users.info": ("users:read",),            # workspace admins (SLACK_ADMIN_* set)
    "usergroups.users.list": ("usergroups:read",),  # SLACK_ADMIN_GROUP
}

# Events the app subscribes to → the scope each needs.
EVENT_SCOPES: dict[str, str] = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}

# Scopes for features that are not a Web API method call.
FEATURE_SCOPES: dict[str, str] = {
    "commands": "the /sora slash command",
    "files:read": "downloading pasted snippets (file_share) to diagnose them",
}


def required_bot_scopes() -> frozenset[str]:
    scopes = {s for needed in METHOD_SCOPES.values() for s in needed}
    scopes |= set(EVENT_SCOPES.values()) | set(FEATURE_SCOPES)
    return frozenset(scopes)
