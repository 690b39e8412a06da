"""The project explains itself: README and docs/ link only to files inside the repository,
and every such link resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("adapters/*/README.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_docs_exist():
    assert (ROOT / "docs" / "ARCHITECTURE.md").exists()
    assert "docs/ARCHITECTURE.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_relative_link_stays_in_the_repository_and_resolves():
    bad = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in _LINK.findall(text):
            if re.match(r"^[a-z]+://|^mailto:|^#", target):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if ROOT not in path.parents and path != ROOT:
                bad.append(f"{doc.relative_to(ROOT)}: {target} leaves the repository")
            elif not path.exists():
                bad.append(f"{doc.relative_to(ROOT)}: {target} does not exist")
        if "../shared" in text or "DESIGN.md" in text:
            bad.append(f"{doc.relative_to(ROOT)} points at a file outside the repository")
    assert bad == []
