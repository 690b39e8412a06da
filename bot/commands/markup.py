"""Reply text → segments a renderer can make safe: literal text, code spans, URLs.

Why this lives in the core: a pasted error is attacker-controlled text that the bot posts in a
public channel. ``"param":"[Rotate your key here](https://evil.example/login)"`` must not become
a clickable link (Slack turns bare URLs into links, Discord renders masked links in embeds), and
``*bold*`` or ``<!channel>`` must not become markup. Each renderer used to guess; now the rule is
written once:

* a backtick code span stays a code span (inert on every platform);
* a URL whose host is one the bot itself points people to (the official status page and
  platform) may be a link; any other URL is shown as a code span, readable and copyable but
  never clickable;
* everything else is literal text, which each renderer escapes for its platform.

Links the core means (an incident page, a configured gateway's status page) travel as
``Reply.links`` and never through text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

TRUSTED_LINK_HOSTS: frozenset[str] = frozenset({
    "status.openai.com", "platform.openai.com", "help.openai.com", "developers.openai.com",
})

# A code span, or a URL (scheme://…, up to whitespace or a closing bracket/quote).
_TOKEN = re.compile(r"`([^`\n]{0,2000})`|(https?://[^\s<>`'\"()\[\]{}]{1,2000})", re.IGNORECASE)
_TRAILING = ".,;:!?"


class Kind(str, Enum):
    TEXT = "text"
    CODE = "code"
    LINK = "link"  # a trusted URL


@dataclass(frozen=True)
class Segment:
    kind: Kind
    text: str


def is_trusted_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and parts.username is None
            and (parts.hostname or "") in TRUSTED_LINK_HOSTS)


def segments(text: str) -> list[Segment]:
    """Split ``text`` into literal, code and trusted-link segments (adjacent literals merged)."""
    out: list[Segment] = []

    def add(kind: Kind, value: str) -> None:
        if not value:
            return
        if out and out[-1].kind is kind is Kind.TEXT:
            out[-1] = Segment(Kind.TEXT, out[-1].text + value)
        else:
            out.append(Segment(kind, value))

    pos = 0
    for m in _TOKEN.finditer(text):
        add(Kind.TEXT, text[pos:m.start()])
        pos = m.end()
        if m.group(1) is not None:
            add(Kind.CODE, m.group(1))
            continue
        url = m.group(2)
        tail = ""
        while url and url[-1] in _TRAILING:  # "see https://x.example." — the dot is prose
            url, tail = url[:-1], url[-1] + tail
        add(Kind.LINK if is_trusted_url(url) else Kind.CODE, url)
        add(Kind.TEXT, tail)
    add(Kind.TEXT, text[pos:])
    return out


def inline_code(value: str, limit: int = 200) -> str:
    """A value from a paste, quoted so it can only ever be a code span: backticks and line
    breaks removed (they would end the span), length capped."""
    flat = " ".join(value.replace("`", "'").split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f"`{flat}`" if flat else ""
