"""What Slack refuses, as data, for the loopback fake (``fake_slack.py``).

Sources, named per rule:

- Block Kit: every block is parsed with slack_sdk's own models (``Block.parse``) and validated
  with their validators, recursively (slack_sdk validates only the object it is called on, not
  the buttons inside an actions block); plus the documented limits slack_sdk does not check
  (docs.slack.dev/reference/block-kit/blocks and …/block-elements, …/composition-objects).
- Web API methods: required arguments and error codes from each method's reference page
  (docs.slack.dev/reference/methods/<method>), cross-checked with slackapi/slack-api-specs
  (web-api/slack_web_openapi_v2.json); error *shapes* as Slack sends them: HTTP 200
  ``{"ok": false, "error": …}``, with ``errors`` and ``response_metadata.messages`` for
  ``invalid_blocks`` / ``invalid_arguments``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50  # per message (blocks reference: "up to 50 blocks in each message")
MAX_TEXT = 40_000  # chat.postMessage ``text``: beyond it, msg_too_long
FIELD_TEXT = 2000  # section ``fields``: "maximum length for the text in each item is 2000"
MAX_METADATA_BYTES = 8_000  # message metadata reference: payload limit ("metadata_too_large")
MAX_VIEW_BLOCKS = 100  # view object reference: "Maximum of 100 blocks" (modals)
MAX_VIEW_BYTES = 250_000  # views.open: view_too_large "greater than 250kb"
TEXT_INPUT_MAX = 3000  # plain_text_input reference: max_length / min_length "Maximum 3000"
TRIGGER_TTL_S = 3.0  # "trigger_id … expire[s] in three seconds" (modals documentation)
TRIGGER_FORMAT = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")  # views.open: "132456.7890123.abcdef"


@dataclass(frozen=True)
class Method:
    """A Web API method the fake serves: which token it takes, what it requires."""

    required: tuple[str, ...] = ()
    token: str = "bot"  # "bot" (xoxb-) or "app" (xapp-, Socket Mode)
    max_limit: int | None = None  # for cursor-paginated methods: the largest ``limit`` accepted


METHODS: dict[str, Method] = {
    "auth.test": Method(),
    "apps.connections.open": Method(token="app"),
    "chat.postMessage": Method(("channel",)),
    "chat.update": Method(("channel", "ts")),
    "chat.postEphemeral": Method(("channel", "user")),
    "conversations.history": Method(("channel",), max_limit=999),
    "conversations.replies": Method(("channel", "ts"), max_limit=1000),
    "conversations.info": Method(("channel",)),
    "conversations.members": Method(("channel",), max_limit=1000),
    "users.info": Method(("user",)),
    # usergroups.users.list takes no cursor: Slack returns every user id at once
    "usergroups.users.list": Method(("usergroup",)),
    # views.open: ``view`` required, and one of trigger_id / interactivity_pointer
    "views.open": Method(("view",)),
}

# Not counted as the app's mistakes (tests use bad credentials on purpose).
_ATTRIBUTE = re.compile(r"^(\w+) attribute")

AUTH_ERRORS = frozenset({"not_authed", "invalid_auth", "token_revoked", "account_inactive"})


class SlackRefusal(Exception):
    """Slack answers ``{"ok": false, "error": error, …}`` (HTTP 200)."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            if self.error == "invalid_blocks":
                out["errors"] = list(self.messages)
            out["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return out


def missing_arguments(method: str, args: dict[str, Any]) -> SlackRefusal | None:
    spec = METHODS.get(method)
    if spec is None:
        return None
    missing = [name for name in spec.required if args.get(name) in (None, "")]
    if not missing:
        return None
    return SlackRefusal("invalid_arguments", [f"missing required field: {n}" for n in missing])


def parse_json_arg(value: Any) -> Any:
    """Form-encoded calls carry arrays/objects as JSON strings; JSON calls carry them as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _children(obj: JsonObject) -> Iterator[tuple[str, JsonObject]]:
    for name, value in vars(obj).items():
        if isinstance(value, JsonObject):
            yield name, value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, JsonObject):
                    yield f"{name}/{i}", item


def _sdk_errors(obj: JsonObject, pointer: str) -> Iterator[str]:
    try:
        obj.validate_json()
    except SlackObjectFormationError as exc:
        attr = _ATTRIBUTE.match(str(exc))  # "text attribute cannot exceed …": point at it
        yield f"{exc} [json-pointer:{pointer}{'/' + attr.group(1) if attr else ''}]"
    for name, child in _children(obj):
        yield from _sdk_errors(child, f"{pointer}/{name}")


def _text_objects(raw: Any, pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every composition text object ({"type": "plain_text"|"mrkdwn", "text": …}) in ``raw``."""
    if isinstance(raw, dict):
        if raw.get("type") in ("plain_text", "mrkdwn") and "text" in raw:
            yield pointer, raw
        for key, value in raw.items():
            yield from _text_objects(value, f"{pointer}/{key}")
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            yield from _text_objects(value, f"{pointer}/{i}")


def _documented_errors(block: dict[str, Any], pointer: str) -> Iterator[str]:
    """Rules from the Block Kit reference that slack_sdk's validators leave out."""
    for where, text in _text_objects(block, pointer):
        if not isinstance(text.get("text"), str) or not text["text"]:
            yield f"must be more than 0 characters [json-pointer:{where}/text]"
    kind = block.get("type")
    if kind == "header" and (block.get("text") or {}).get("type") != "plain_text":
        yield f"must be a plain_text object [json-pointer:{pointer}/text]"
    if kind == "section":
        for i, f in enumerate(block.get("fields") or []):
            if isinstance(f, dict) and len(str(f.get("text") or "")) > FIELD_TEXT:
                yield f"must be less than {FIELD_TEXT + 1} characters [json-pointer:{pointer}/fields/{i}/text]"
    if kind == "actions":
        ids = [e.get("action_id") for e in block.get("elements") or [] if isinstance(e, dict)]
        dupes = sorted({i for i in ids if i is not None and ids.count(i) > 1})
        for d in dupes:
            yield f"action_id {d!r} is used more than once [json-pointer:{pointer}/elements]"


def block_errors(blocks: Any, *, max_blocks: int = MAX_BLOCKS, root: str = "") -> list[str]:
    """Slack's ``invalid_blocks`` messages for a message's ``blocks`` (empty: valid)."""
    if not isinstance(blocks, list):
        raise SlackRefusal("invalid_blocks_format")
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:{root}/blocks]")
    seen_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        pointer = f"{root}/blocks/{i}"
        if not isinstance(raw, dict):
            errors.append(f"expected an object [json-pointer:{pointer}]")
            continue
        block = Block.parse(raw)
        if block is None:
            errors.append(f"unsupported type: {raw.get('type')!r} [json-pointer:{pointer}/type]")
            continue
        errors.extend(_sdk_errors(block, pointer))
        errors.extend(_documented_errors(raw, pointer))
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{pointer}/block_id]")
            seen_ids.add(block_id)
    return errors


def check_message(args: dict[str, Any], *, require_content: bool = True) -> None:
    """chat.postMessage / chat.update / response_url payload rules; raises ``SlackRefusal``."""
    blocks = parse_json_arg(args.get("blocks")) if "blocks" in args else None
    text = args.get("text")
    if blocks is not None:
        errors = block_errors(blocks)
        if errors:
            raise SlackRefusal("invalid_blocks", errors)
    if require_content and not text and not blocks and not args.get("attachments"):
        raise SlackRefusal("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise SlackRefusal("msg_too_long")
    if "metadata" in args and args["metadata"] not in (None, ""):
        meta = parse_json_arg(args["metadata"])
        if (not isinstance(meta, dict) or not isinstance(meta.get("event_type"), str)
                or not isinstance(meta.get("event_payload"), dict)):
            raise SlackRefusal("invalid_metadata_format")
        if len(json.dumps(meta)) > MAX_METADATA_BYTES:
            raise SlackRefusal("metadata_too_large")


def view_errors(view: Any) -> list[str]:
    """``invalid_arguments`` messages for a modal sent to ``views.open`` (empty: valid).

    slack_sdk's View validators (title/submit/close ≤ 24, private_metadata ≤ 3000, callback_id
    ≤ 255, 1–100 blocks), every block as in messages, and the view object reference's rules
    slack_sdk does not check: a modal has a title, and a ``submit`` when it holds an input
    block; text inputs' lengths at most 3000."""
    if not isinstance(view, dict):
        return ["failed to match all allowed schemas [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("must be one of modal, home, workflow_step [json-pointer:/view/type]")
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        errors.append(f"{exc} [json-pointer:/view]")
    if not isinstance((view.get("title") or {}).get("text"), str):
        errors.append("missing required field: title [json-pointer:/view/title]")
    blocks = view.get("blocks")
    try:
        errors += block_errors(blocks, max_blocks=MAX_VIEW_BLOCKS, root="/view")
    except SlackRefusal:
        errors.append("must be an array [json-pointer:/view/blocks]")
        blocks = []
    inputs = [b for b in blocks or [] if isinstance(b, dict) and b.get("type") == "input"]
    if inputs and not view.get("submit"):
        errors.append("must provide a submit property when an input block is present "
                      "[json-pointer:/view/submit]")
    for i, block in enumerate(blocks or []):
        element = block.get("element") if isinstance(block, dict) else None
        if isinstance(element, dict) and element.get("type") == "plain_text_input":
            for key in ("max_length", "min_length"):
                value = element.get(key)
                if value is not None and not (isinstance(value, int) and 0 <= value <= TEXT_INPUT_MAX):
                    errors.append(f"must be at most {TEXT_INPUT_MAX} "
                                  f"[json-pointer:/view/blocks/{i}/element/{key}]")
    return errors
