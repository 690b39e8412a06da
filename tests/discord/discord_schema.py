"""JSON Schemas (draft 2020-12) for exactly the Discord REST requests sora-bot sends, and
Discord's ``50035 Invalid Form Body`` answer for a body that breaks them.

Our own file, written from Discord's official OpenAPI description (github.com/discord/
discord-api-spec, ``specs/openapi.json``, API v10): no package ships that spec (the npm
``discord-api-spec`` package is a TypeScript/zod translation, PyPI's ``discordopenapi`` a
generated client without the JSON), and the team commits nothing from a fetched repository.
Each schema below names the spec component it follows (``# spec: ComponentName``), with the
spec's types, ``maxLength`` / ``maxItems`` / ``minItems`` and ``required`` lists. Where we are
narrower than the spec we say so (message components: action rows of buttons and string
selects; modals: action rows of text inputs — all the bot sends). Rules the spec does not encode but Discord enforces come from the docs
(discord.com/developers/docs/resources/message#embed-object-embed-limits) and are checked in
``extra_errors``.

Requests covered: message create / edit, interaction callback (messages, updates and modals),
followup webhook (create and edit), application command bulk overwrite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

NULL: dict[str, Any] = {"type": "null"}


def nullable(ref: str) -> dict[str, Any]:
    return {"oneOf": [NULL, {"$ref": f"#/$defs/{ref}"}]}


def text(max_length: int, *, min_length: int | None = None, null: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ["string", "null"] if null else "string", "maxLength": max_length}
    if min_length is not None:
        out["minLength"] = min_length
    return out


def array(items: dict[str, Any], max_items: int, *, min_items: int | None = None,
          null: bool = True, unique: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ["array", "null"] if null else "array", "items": items,
                           "maxItems": max_items}
    if min_items is not None:
        out["minItems"] = min_items
    if unique:
        out["uniqueItems"] = True
    return out


LOCALIZED_32 = {"type": ["object", "null"], "maxProperties": 34,
                "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 32}}
LOCALIZED_100 = {"type": ["object", "null"], "maxProperties": 34,
                 "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 100}}
INT32 = {"type": ["integer", "null"]}
BOOL = {"type": ["boolean", "null"]}


def _option(kind: int, **extra: Any) -> dict[str, Any]:
    """spec: ApplicationCommand<Kind>Option (type, name 1-32, description 1-100, required)."""
    props = {"type": {"type": "integer", "enum": [kind]},
             "name": {"type": "string", "minLength": 1, "maxLength": 32},
             "name_localizations": LOCALIZED_32,
             "description": {"type": "string", "minLength": 1, "maxLength": 100},
             "description_localizations": LOCALIZED_100, "required": BOOL, **extra}
    return {"type": "object", "properties": props, "required": ["type", "name", "description"]}


DEFS: dict[str, Any] = {
    # spec: SnowflakeType (a numeric string). Discord also takes the number itself (discord.py
    # sends message_reference ids as JSON integers, and Discord accepts them): so do we.
    "Snowflake": {"oneOf": [{"type": "string", "pattern": "^(0|[1-9][0-9]*)$"},
                            {"type": "integer", "minimum": 0}]},
    # spec: RichEmbedField
    "RichEmbedField": {"type": "object", "required": ["name", "value"], "properties": {
        "name": {"type": "string", "maxLength": 256}, "value": {"type": "string", "maxLength": 1024},
        "inline": BOOL}},
    # spec: RichEmbedFooter / RichEmbedAuthor / RichEmbedImage (url only) / RichEmbedThumbnail
    "RichEmbedFooter": {"type": "object", "properties": {"text": text(2048), "icon_url": text(2048)}},
    "RichEmbedAuthor": {"type": "object", "properties": {"name": text(256), "url": text(2048),
                                                         "icon_url": text(2048)}},
    "RichEmbedMedia": {"type": "object", "properties": {"url": text(2048)}},
    # spec: RichEmbed
    "RichEmbed": {"type": "object", "properties": {
        "type": text(152133), "url": text(2048), "title": text(256),
        "color": {"type": ["integer", "null"], "minimum": 0, "maximum": 16777215},
        "timestamp": {"type": ["string", "null"]}, "description": text(4096),
        "author": nullable("RichEmbedAuthor"), "image": nullable("RichEmbedMedia"),
        "thumbnail": nullable("RichEmbedMedia"), "footer": nullable("RichEmbedFooter"),
        "fields": array({"$ref": "#/$defs/RichEmbedField"}, 25)}},
    # spec: MessageAllowedMentionsRequest (+ AllowedMentionTypes)
    "AllowedMentions": {"type": "object", "properties": {
        "parse": array({"oneOf": [NULL, {"enum": ["users", "roles", "everyone"]}]}, 1521, unique=True),
        "users": array({"oneOf": [NULL, {"$ref": "#/$defs/Snowflake"}]}, 100, unique=True),
        "roles": array({"oneOf": [NULL, {"$ref": "#/$defs/Snowflake"}]}, 100, unique=True),
        "replied_user": BOOL}},
    # spec: ButtonComponentForMessageRequest (+ ButtonStyleTypes 1-6)
    "Button": {"type": "object", "required": ["type", "style"], "properties": {
        "type": {"type": "integer", "enum": [2]}, "id": INT32,
        "custom_id": text(100, min_length=1), "style": {"type": "integer", "enum": [1, 2, 3, 4, 5, 6]},
        "label": text(80), "disabled": BOOL, "url": text(512),
        "sku_id": nullable("Snowflake"),
        # spec: ComponentEmojiForRequest
        "emoji": {"oneOf": [NULL, {"type": "object", "required": ["name"], "properties": {
            "id": nullable("Snowflake"), "name": {"type": "string", "maxLength": 32}}}]}}},
    # spec: StringSelectOptionForRequest
    "StringSelectOption": {"type": "object", "required": ["label", "value"], "properties": {
        "label": text(100, min_length=1, null=False), "value": text(100, min_length=1, null=False),
        "description": text(100), "default": BOOL,
        "emoji": {"oneOf": [NULL, {"type": "object", "required": ["name"], "properties": {
            "id": nullable("Snowflake"), "name": {"type": "string", "maxLength": 32}}}]}}},
    # spec: StringSelectComponentForMessageRequest
    "StringSelect": {"type": "object", "required": ["type", "custom_id", "options"], "properties": {
        "type": {"type": "integer", "enum": [3]}, "id": INT32,
        "custom_id": text(100, min_length=1, null=False), "placeholder": text(150),
        "min_values": {"type": ["integer", "null"], "minimum": 0, "maximum": 25},
        "max_values": {"type": ["integer", "null"], "minimum": 1, "maximum": 25},
        "disabled": BOOL, "required": BOOL,
        "options": array({"$ref": "#/$defs/StringSelectOption"}, 25, min_items=1, null=False)}},
    # spec: ActionRowComponentForMessageRequest (narrowed: buttons and string selects, all the
    # bot sends; "a single select" per row is a documented rule, checked in extra_errors)
    "ActionRow": {"type": "object", "required": ["type", "components"], "properties": {
        "type": {"type": "integer", "enum": [1]}, "id": INT32,
        "components": array({"oneOf": [{"$ref": "#/$defs/Button"}, {"$ref": "#/$defs/StringSelect"}]},
                            5, min_items=1, null=False)}},
    # spec: TextInputComponentForModalRequest (+ TextInputStyleTypes 1 short, 2 paragraph)
    "TextInput": {"type": "object", "required": ["type", "custom_id", "style"], "properties": {
        "type": {"type": "integer", "enum": [4]}, "id": INT32,
        "custom_id": text(100, min_length=1, null=False), "style": {"type": "integer", "enum": [1, 2]},
        "label": text(45, min_length=1), "value": text(4000), "placeholder": text(100),
        "required": BOOL,
        "min_length": {"type": ["integer", "null"], "minimum": 0, "maximum": 4000},
        "max_length": {"type": ["integer", "null"], "minimum": 1, "maximum": 4000}}},
    # spec: ActionRowComponentForModalRequest (the text-input form; Label/TextDisplay rows are
    # not sent by the bot)
    "ModalActionRow": {"type": "object", "required": ["type", "components"], "properties": {
        "type": {"type": "integer", "enum": [1]}, "id": INT32,
        "components": array({"$ref": "#/$defs/TextInput"}, 5, min_items=1, null=False)}},
    # spec: ModalInteractionCallbackRequestData
    "ModalData": {"type": "object", "required": ["custom_id", "title", "components"], "properties": {
        "custom_id": text(100, min_length=1, null=False), "title": text(45, min_length=1, null=False),
        "components": array({"$ref": "#/$defs/ModalActionRow"}, 40, min_items=1, null=False)}},
    # spec: MessageReferenceRequest
    "MessageReference": {"type": "object", "required": ["message_id"], "properties": {
        "guild_id": nullable("Snowflake"), "channel_id": nullable("Snowflake"),
        "message_id": {"$ref": "#/$defs/Snowflake"}, "fail_if_not_exists": BOOL,
        "type": {"oneOf": [NULL, {"enum": [0, 1]}]}}},
    # spec: MessageAttachmentRequest
    "Attachment": {"type": "object", "required": ["id"], "properties": {
        "id": {"$ref": "#/$defs/Snowflake"}, "filename": text(1024, min_length=1),
        "description": text(1024)}},
}


def _message_props(content_max: int) -> dict[str, Any]:
    """The fields every message-shaped request shares (content, embeds, mentions, components)."""
    return {"content": text(content_max),
            "embeds": array({"$ref": "#/$defs/RichEmbed"}, 10),
            "allowed_mentions": nullable("AllowedMentions"),
            "components": array({"$ref": "#/$defs/ActionRow"}, 40),
            "attachments": array({"$ref": "#/$defs/Attachment"}, 10),
            "flags": INT32}


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": DEFS, **body}


# spec: MessageCreateRequest. content: the spec allows 4000, the docs (and Discord for bots)
# 2000 ("Message contents (up to 2000 characters)"); we hold the bot to 2000.
MESSAGE_CREATE = _schema({"type": "object", "properties": {
    **_message_props(2000), "tts": BOOL,
    "sticker_ids": array({"$ref": "#/$defs/Snowflake"}, 3),
    "message_reference": nullable("MessageReference"),
    "nonce": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 25}, NULL]},
    "enforce_nonce": BOOL}})

# spec: MessageEditRequestPartial (content: 2000 as above)
MESSAGE_EDIT = _schema({"type": "object", "properties": _message_props(2000)})

# spec: IncomingWebhookInteractionRequest (data of callback types 4/5) and
# IncomingWebhookUpdateForInteractionCallbackRequestPartial (types 6/7)
_CALLBACK_DATA = {"type": "object", "properties": {**_message_props(2000), "tts": BOOL}}
# spec: paths./interactions/{interaction_id}/{interaction_token}/callback: the variants the bot
# uses, CreateMessageInteractionCallbackRequest (4, 5), UpdateMessageInteractionCallbackRequest
# (6, 7) and ModalInteractionCallbackRequest (9: data required) (+ InteractionCallbackTypes)
INTERACTION_CALLBACK = _schema({"type": "object", "required": ["type"], "oneOf": [
    {"properties": {"type": {"type": "integer", "enum": [4, 5, 6, 7]},
                    "data": {"oneOf": [NULL, _CALLBACK_DATA]}}},
    {"required": ["type", "data"],
     "properties": {"type": {"type": "integer", "enum": [9]}, "data": {"$ref": "#/$defs/ModalData"}}},
]})

# spec: IncomingWebhookRequestPartial (followup create)
FOLLOWUP_CREATE = _schema({"type": "object", "properties": {
    **_message_props(2000), "tts": BOOL, "username": text(80, min_length=1),
    "avatar_url": text(2048), "thread_name": text(100, min_length=0)}})

# spec: IncomingWebhookUpdateRequestPartial (followup / @original edit)
FOLLOWUP_EDIT = _schema({"type": "object", "properties": _message_props(2000)})

_SUB_OPTION = {"oneOf": [
    _option(3, autocomplete=BOOL, min_length={"type": ["integer", "null"], "minimum": 0, "maximum": 6000},
            max_length={"type": ["integer", "null"], "minimum": 1, "maximum": 6000},
            # spec: ApplicationCommandOptionStringChoice
            choices=array({"type": "object", "required": ["name", "value"], "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100},
                "name_localizations": LOCALIZED_100,
                "value": {"type": "string", "maxLength": 6000}}}, 25)),  # spec: …StringOption
    _option(4), _option(5), _option(6), _option(7), _option(8), _option(9), _option(10),
    _option(11),  # spec: Integer/Boolean/User/Channel/Role/Mentionable/Number/Attachment options
]}
# spec: ApplicationCommandSubcommandOption (options: the non-subcommand kinds, at most 25)
_SUBCOMMAND = _option(1, options=array(_SUB_OPTION, 25))
# spec: ApplicationCommandSubcommandGroupOption
_GROUP = _option(2, options=array(_SUBCOMMAND, 25))

# spec: paths./applications/{application_id}/commands.put: array (≤130) of
# ApplicationCommandUpdateRequest (+ InteractionContextType, ApplicationIntegrationType)
COMMANDS_OVERWRITE = _schema({"type": ["array", "null"], "maxItems": 130, "items": {
    "type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 32},
        "name_localizations": LOCALIZED_32, "description": text(100),
        "description_localizations": LOCALIZED_100,
        "options": array({"oneOf": [_SUBCOMMAND, _GROUP, *_SUB_OPTION["oneOf"]]}, 25),
        "default_member_permissions": {"type": ["integer", "string", "null"]},
        "dm_permission": BOOL,
        "contexts": array({"enum": [0, 1, 2]}, 3, min_items=1, unique=True),
        "integration_types": array({"enum": [0, 1]}, 2, min_items=1, unique=True),
        "type": {"oneOf": [NULL, {"enum": [1, 2, 3, 4]}]},
        "id": nullable("Snowflake")}}})

SCHEMAS: dict[str, dict[str, Any]] = {
    "create_message": MESSAGE_CREATE, "edit_message": MESSAGE_EDIT,
    "interaction_callback": INTERACTION_CALLBACK, "followup": FOLLOWUP_CREATE,
    "edit_followup": FOLLOWUP_EDIT, "bulk_commands": COMMANDS_OVERWRITE,
}
VALIDATORS = {route: Draft202012Validator(schema) for route, schema in SCHEMAS.items()}

EMBED_TOTAL = 6000  # docs, Embed Limits: title + description + field names/values + footer + author


def _field_error(error: ValidationError) -> tuple[str, str]:
    """Discord's (code, message) for one schema violation."""
    kind, limit = error.validator, error.validator_value
    if kind in ("maxLength", "maxItems"):
        return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
    if kind in ("minLength", "minItems"):
        return "BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length."
    if kind == "required":
        return "BASE_TYPE_REQUIRED", "This field is required"
    if kind == "pattern":
        return "NUMBER_TYPE_COERCE", f"Value \"{error.instance}\" is not snowflake."
    if kind in ("enum", "const"):
        return "BASE_TYPE_CHOICES", f"Value must be one of {limit}."
    if kind == "type":
        return "BASE_TYPE_BAD_TYPE", f"Must be of type {limit}."
    return "BASE_TYPE_INVALID", error.message[:200]


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """A ``oneOf`` that failed is reported by its most relevant branch, as Discord does."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        # the branch that got furthest: not the "or null" one when the value is not null
        branches = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        yield from _leaves(best_match(branches or error.context,
                                      key=lambda e: (len(e.absolute_path), -len(e.context or ()))))
    else:
        yield error


def _path(error: ValidationError) -> list[str]:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":  # Discord points at the missing field itself
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        path.append(missing)
    return path


def _nest(errors: dict[str, Any], path: list[str], code: str, message: str) -> None:
    node = errors
    for part in path:
        node = node.setdefault(part, {})
    node.setdefault("_errors", []).append({"code": code, "message": message})


def _embed_length(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total + sum(len(f.get("name") or "") + len(f.get("value") or "")
                       for f in embed.get("fields") or [] if isinstance(f, dict))


def extra_errors(route: str, body: Any) -> Iterator[tuple[list[str], str, str]]:
    """Documented rules the OpenAPI description leaves out."""
    data = body.get("data") if route == "interaction_callback" and isinstance(body, dict) else body
    if not isinstance(data, dict):
        return
    prefix = ["data"] if data is not body else []
    # docs, Action Rows: "up to 5 buttons, or a single select component" per row
    for i, row in enumerate(data.get("components") or []):
        items = row.get("components") if isinstance(row, dict) else None
        if isinstance(items, list) and len(items) > 1 and any(
                isinstance(c, dict) and c.get("type") == 3 for c in items):
            yield [*prefix, "components", str(i), "components"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", \
                "The specified component exceeds the maximum width"
    embeds = data.get("embeds") or []
    if isinstance(embeds, list):
        total = sum(_embed_length(e) for e in embeds if isinstance(e, dict))
        if total > EMBED_TOTAL:
            yield [*prefix, "embeds"], "BASE_TYPE_MAX_LENGTH", \
                f"Embed size exceeds maximum size of {EMBED_TOTAL}"


def invalid_form_body(route: str, body: Any) -> dict[str, Any] | None:
    """``{"code": 50035, "message": "Invalid Form Body", "errors": {…}}`` or None (valid)."""
    validator = VALIDATORS.get(route)
    if validator is None:
        return None
    errors: dict[str, Any] = {}
    for error in validator.iter_errors(body):
        for leaf in _leaves(error):
            code, message = _field_error(leaf)
            _nest(errors, _path(leaf), code, message)
    for path, code, message in extra_errors(route, body):
        _nest(errors, path, code, message)
    if not errors:
        return None
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}


def path_errors(params: dict[str, str]) -> dict[str, Any] | None:
    """Snowflakes in the URL path (channel, message, application and interaction ids)."""
    errors: dict[str, Any] = {}
    names = {"cid": "channel_id", "mid": "message_id", "app": "application_id", "iid": "interaction_id"}
    for key, name in names.items():
        value = params.get(key)
        if value is not None and value != "@original" and not value.isdigit():
            _nest(errors, [name], "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not snowflake.")
    if not errors:
        return None
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}


def describe(answer: dict[str, Any]) -> str:
    """One line for ``fake.rejections``: where and why."""
    return json.dumps(answer.get("errors") or {}, sort_keys=True)[:500]
