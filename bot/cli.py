"""The ``sora-bot`` command (Contract 2).

Exit codes: 0 success (a diagnosis of ``unknown`` too), 1 runtime failure (database, start-up),
2 usage or configuration error. Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from bot import __version__
from bot.errors import ConfigError, SoraBotError, StoreError

if TYPE_CHECKING:
    from bot.diagnosis import Diagnosis

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sora-bot", description="Chat-ops bot for the OpenAI Sora 2 video API: "
                "diagnose errors, check live status, post incident notices.")
    p.add_argument("--version", action="version", version=f"sora-bot {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run the bot: migrate, scheduler, web app, adapters (shell when no token)")
    run.add_argument("--demo", action="store_true",
                     help="start loopback fakes of the Sora API and status page with a scripted outage")
    run.add_argument("--demo-seconds", type=float, default=60.0, metavar="S",
                     help="length of the demo's scripted outage timeline (default 60)")

    d = sub.add_parser("diagnose", help="diagnose a pasted error (FILE or stdin)")
    d.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="file to read; - or none for stdin")
    d.add_argument("--json", action="store_true", help="print the Contract-1 JSON object")
    d.add_argument("--batch", metavar="IN.jsonl", help="read objects with a \"text\" field, one a line; "
                   "write one diagnosis JSON a line")
    d.add_argument("--live", action="store_true", help="add live evidence (status page, probes) and fill verdict")

    s = sub.add_parser("status", help="official status, probes, team errors and a verdict")
    s.add_argument("--json", action="store_true", help="print the Contract-3 JSON object")

    pr = sub.add_parser("probe", help="probe the API targets now")
    pr.add_argument("--target", metavar="NAME", help="only this target (openai or a SORA_GATEWAYS name)")
    pr.add_argument("--json", action="store_true", help="print a JSON list of probe results")

    c = sub.add_parser("corrections", help="the teams' category corrections (team memory)")
    c_sub = c.add_subparsers(dest="corrections_cmd", metavar="ACTION", parser_class=_Parser)
    c_sub.add_parser("export", help="print every correction as a JSON line (team, fingerprint, "
                     "category, was, by, at, redacted text), oldest first")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_cmd", metavar="ACTION", parser_class=_Parser)
    db_sub.add_parser("upgrade", help="migrate the database to the latest schema")
    return p


def _read_input(path: str) -> str:
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return data.decode("utf-8", errors="replace")


def _print_diagnosis(d: Diagnosis, as_json: bool, out: IO[str]) -> None:
    if as_json:
        out.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
        return
    from bot.commands.text import render_text
    from bot.commands.views import diagnosis_reply

    out.write(render_text(diagnosis_reply(d), color=out.isatty()) + "\n")


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from bot.diagnosis import diagnose

    if args.batch:
        if args.file != "-":
            raise ConfigError("give either FILE or --batch IN.jsonl, not both")
        return _batch(args.batch, sys.stdout)
    text = _read_input(args.file)
    evidence = None
    if args.live:
        from bot.app import gather_evidence_once

        evidence = asyncio.run(gather_evidence_once())
    _print_diagnosis(diagnose(text, evidence), args.json, sys.stdout)
    return EXIT_OK


def _batch(path: str, out: IO[str]) -> int:
    """One output line per input line, in order; a bad line is diagnosed as raw text, with a
    warning naming the line, so nothing is lost and the output stays aligned with the input."""
    from bot.diagnosis import diagnose

    try:
        fh = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj.get("text") if isinstance(obj, dict) else None
                if not isinstance(text, str):
                    raise ValueError("no string \"text\" field")
            except ValueError as exc:
                problem = str(exc) if "text" in str(exc) else "not a JSON object"
                print(f"sora-bot: warning: {path}:{n}: {problem}; diagnosing the raw line",
                      file=sys.stderr)
                text = line
            out.write(json.dumps(diagnose(text).to_dict(), ensure_ascii=False) + "\n")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from bot.app import status_once

    report = asyncio.run(status_once())
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        from bot.commands.text import render_text
        from bot.commands.views import status_reply

        print(render_text(status_reply(report, ephemeral=False), color=sys.stdout.isatty()))
    return EXIT_OK


def _cmd_probe(args: argparse.Namespace) -> int:
    from bot.app import probe_once

    results = asyncio.run(probe_once(args.target))
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False))
    else:
        from bot.commands.text import render_text
        from bot.commands.views import probe_reply

        print(render_text(probe_reply(results), color=sys.stdout.isatty()))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAIL


def _cmd_db(args: argparse.Namespace) -> int:
    if args.db_cmd != "upgrade":
        raise ConfigError("db needs an action: sora-bot db upgrade")
    from bot.app import db_upgrade

    rev = db_upgrade()
    print(f"database at schema {rev}")
    return EXIT_OK


def _cmd_corrections(args: argparse.Namespace) -> int:
    """JSON lines, so corrections can flow back into the diagnosis knowledge table."""
    if args.corrections_cmd != "export":
        raise ConfigError("corrections needs an action: sora-bot corrections export")
    from bot.app import corrections_export

    for row in corrections_export():
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return EXIT_OK


def _stop_early(signum: int, frame: object) -> None:
    """SIGTERM before the event loop takes over (while importing, migrating): a clean stop."""
    raise SystemExit(EXIT_OK)


def _cmd_run(args: argparse.Namespace) -> int:
    # First, before the heavy imports: the run's own handler replaces this once it is running.
    signal.signal(signal.SIGTERM, _stop_early)
    from bot.app import run

    if args.demo_seconds < 5:
        raise ConfigError("--demo-seconds must be at least 5")
    return asyncio.run(run(demo=args.demo, demo_seconds=args.demo_seconds))


COMMANDS = {"diagnose": _cmd_diagnose, "status": _cmd_status, "probe": _cmd_probe,
            "db": _cmd_db, "corrections": _cmd_corrections, "run": _cmd_run}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.cmd:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.cmd](args)
    except ConfigError as exc:
        print(f"sora-bot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"sora-bot: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except SoraBotError as exc:
        print(f"sora-bot: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # last resort: one line, details in the log at DEBUG
        logging.getLogger("bot.cli").debug("unexpected error", exc_info=True)
        print(f"sora-bot: error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
