"""`python -m bot kb ...`: the knowledge-base commands, on the same engine as /kb in Telegram.

    check [--json] [--dir PATH] [--horizon-months N]   validate (CI runs this)
    diff FILE                 what FILE would change, or why it is refused
    apply FILE                apply it as a new version (the running bot picks it up)
    rollback [VERSION]        back to a backed-up version (default: the previous one)
    export DIR                copy the live files to DIR
    history [--limit N]       the audit log, newest first
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path

from bot.clock import SYSTEM_CLOCK, Clock
from bot.kb.admin import Applied, KnowledgeAdmin, Proposal
from bot.kb.changes import MAX_UPLOAD_BYTES
from bot.kb.check import check_directory, format_report


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser("kb", help="knowledge-base commands")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--dir", help="knowledge directory (default KNOWLEDGE_DIR)")
    check.add_argument("--horizon-months", type=int, metavar="N",
                       help="re-verify records older than N months (default: meta.json)")
    kb_sub.add_parser("diff", help="what a file would change").add_argument("file")
    kb_sub.add_parser("apply", help="apply a file as a new version").add_argument("file")
    kb_sub.add_parser("rollback", help="back to an earlier version (default: the previous)"
                      ).add_argument("version", nargs="?")
    kb_sub.add_parser("export", help="copy the live files to a directory").add_argument("dir")
    history = kb_sub.add_parser("history", help="who changed what, newest first")
    history.add_argument("--limit", type=int, default=20)


def _print_proposal(proposal: Proposal) -> int:
    if proposal.refusal is not None:
        print(f"refused ({proposal.refusal.kind.value}); the base is unchanged")
        print(proposal.refusal)
        return 1
    print(f"against version {proposal.base_version}:")
    print("\n".join(f"  {line}" for line in proposal.diff.lines()))
    if proposal.report is not None and proposal.report.stale:
        print(f"  ({len(proposal.report.stale)} record(s) due for re-verification)")
    return 0


def _print_applied(result: Applied) -> int:
    if result.status == "refused" and result.refusal is not None:
        print(f"refused ({result.refusal.kind.value}); the base is unchanged")
        print(result.refusal)
        return 1
    if result.status == "no_change":
        print(f"no change: version {result.version} already says this")
        return 0
    print(f"version {result.version} applied (was {result.previous}); "
          "a running bot picks it up within seconds")
    print("\n".join(f"  {line}" for line in result.diff.lines()))
    return 0


def _read_upload(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_UPLOAD_BYTES + 1)  # parse_upload refuses anything longer


def run(args: argparse.Namespace, knowledge_dir: Path, data_dir: Path,
        clock: Clock = SYSTEM_CLOCK) -> int:
    command = args.kb_command
    admin = KnowledgeAdmin(knowledge_dir, data_dir, clock)
    if command == "check":
        if args.dir:
            report = check_directory(Path(args.dir), clock.today(),
                                     horizon_months=args.horizon_months)
        else:
            with admin.locked():  # the live directory: never judged halfway through an apply
                report = check_directory(knowledge_dir, clock.today(),
                                         horizon_months=args.horizon_months)
        print(json.dumps(report.as_dict(), default=str, indent=2) if args.json
              else format_report(report))
        return 0 if report.ok else 1
    who = f"cli:{getpass.getuser()}"
    try:
        if command == "diff":
            path = Path(args.file)
            return _print_proposal(admin.propose_upload(_read_upload(path), path.name))
        if command == "apply":
            path = Path(args.file)
            proposal = admin.propose_upload(_read_upload(path), path.name)
            if proposal.refusal is not None or proposal.changes is None:
                return _print_proposal(proposal)
            return _print_applied(admin.apply(proposal.changes, who, source=path.name))
        if command == "rollback":
            return _print_applied(admin.rollback(args.version, who))
        if command == "export":
            for written in admin.export(Path(args.dir)):
                print(written)
            return 0
        for entry in admin.history(args.limit):  # history
            counts = entry.get("counts", {})
            print(f"{entry.get('at')}\t{entry.get('who')}\t{entry.get('action')}\t"
                  f"{entry.get('previous')} -> {entry.get('version')}\t"
                  f"+{counts.get('added', 0)} ~{counts.get('changed', 0)} "
                  f"-{counts.get('retired', 0)}\t{entry.get('source', '')}")
        return 0
    except LookupError as exc:
        print(str(exc).strip("'\""))
        return 1
    except FileNotFoundError as exc:
        print(f"no such file: {exc.filename}")
        return 2
