"""The core knows no chat platform: nothing under bot/ imports adapters/ (not even lazily,
not through importlib), nor a platform library."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
PLATFORM_LIBS = ("adapters", "slack_bolt", "slack_sdk", "discord")


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_module_under_bot_imports_an_adapter_or_a_platform_library():
    offenders = [f"{path.relative_to(BOT.parent)}:{line} imports {name}"
                 for path in sorted(BOT.rglob("*.py"))
                 for line, name in _imports(path)
                 if name.split(".")[0] in PLATFORM_LIBS]
    assert offenders == []


def test_the_scan_sees_lazy_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from adapters.shell import ShellAdapter\n"
                     "import importlib\nimportlib.import_module('adapters.slack')\n")
    assert sorted(name for _, name in _imports(probe)) == ["adapters.shell", "adapters.slack", "importlib"]
