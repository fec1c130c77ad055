"""`python -m bot kb ...`: the knowledge-base commands, on the same engine as /kb in Telegram.

    check [--json] [--dir PATH] [--horizon-months N] [--sources] [--links ...]
                              validate (CI runs this); --sources: the source policy's figures
          [--links [--report DIR] [--concurrency N] [--timeout S]]
                              and check every URL (the admins' monthly check)
    diff FILE                 what FILE would change, or why it is refused
    apply FILE                apply it as a new version (the running bot picks it up)
    rollback [VERSION]        back to a backed-up version (default: the previous one)
    export DIR                copy the live files to DIR
    history [--limit N]       the audit log, newest first
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.clock import SYSTEM_CLOCK, Clock
from bot.kb.admin import Applied, KnowledgeAdmin, Proposal
from bot.kb.changes import MAX_UPLOAD_BYTES
from bot.kb.check import Report, check_directory, format_report
from bot.kb.linkcheck import (
    LinkRef,
    LinkReport,
    ProgressBar,
    check_links,
    collect_urls,
    write_reports,
)
from bot.kb.loader import build, read_raw
from bot.kb.models import horizon_start
from bot.kb.sources import figures, review_sources


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser("kb", help="knowledge-base commands")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--dir", help="knowledge directory (default KNOWLEDGE_DIR)")
    check.add_argument("--horizon-months", type=int, metavar="N",
                       help="re-verify records older than N months (default: meta.json)")
    check.add_argument("--sources", action="store_true",
                       help="also the source policy's figures: first sources by class, weak "
                            "sources, records with no primary source, unclassified hosts")
    links = check.add_argument_group("link check (--links)")
    links.add_argument("--links", action="store_true",
                       help="also check every URL of the base (HEAD, then GET); exit 1 when "
                            "one is dead")
    links.add_argument("--report", metavar="DIR",
                       help="where to write links-report.txt and .json (default DATA_DIR)")
    links.add_argument("--concurrency", type=_positive_int, default=8, metavar="N",
                       help="URLs checked at the same time (default 8)")
    links.add_argument("--timeout", type=_positive_float, default=10.0, metavar="S",
                       help="seconds to wait for each answer (default 10)")
    kb_sub.add_parser("diff", help="what a file would change").add_argument("file")
    kb_sub.add_parser("apply", help="apply a file as a new version").add_argument("file")
    kb_sub.add_parser("rollback", help="back to an earlier version (default: the previous)"
                      ).add_argument("version", nargs="?")
    kb_sub.add_parser("export", help="copy the live files to a directory").add_argument("dir")
    history = kb_sub.add_parser("history", help="who changed what, newest first")
    history.add_argument("--limit", type=int, default=20)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _urls_of(directory: Path) -> list[LinkRef] | None:
    """Every use of a URL in the base in `directory` (None when the base does not build)."""
    raw, problems = read_raw(directory)
    kb = None if problems else build(raw)[0]
    return None if kb is None else collect_urls(kb)


def run_link_check(refs: list[LinkRef], report_dir: Path, *, concurrency: int = 8,
                   timeout: float = 10.0, clock: Clock = SYSTEM_CLOCK,
                   stderr: TextIO | None = None) -> tuple[LinkReport, Path, Path]:
    """Check the URLs (a progress bar on `stderr` when it is a terminal) and write both
    reports to `report_dir`."""
    stream = sys.stderr if stderr is None else stderr
    bar = ProgressBar(stream) if stream.isatty() else None
    started = clock.stamp()
    report = asyncio.run(check_links(refs, concurrency=concurrency, timeout=timeout,
                                     progress=bar))
    report.checked_at = started
    text, data = write_reports(report, report_dir)
    return report, text, data


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


def _print_sources(directory: Path, clock: Clock, horizon_months: int | None,
                   as_json: bool) -> None:
    """`kb check --sources`: the figures of the source policy, then what it reports."""
    raw, problems = read_raw(directory)
    kb, problems = build(raw) if not problems else (None, problems)
    if kb is None:
        return  # the report that follows says why
    today = clock.today()
    horizon = horizon_start(today, horizon_months or kb.meta.verification_horizon_months)
    numbers = figures(kb, today, horizon)
    review = review_sources(kb)
    if as_json:
        print(json.dumps({"figures": numbers,
                          "unclassified_hosts": dict(review.unclassified.most_common())},
                         indent=2))
        return
    total = sum(numbers["first_sources"].values())
    print(f"Source policy ({numbers['records']} records with sources)")
    print("First sources: " + ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in
                                        sorted(numbers["first_sources"].items())))
    for name, counts in numbers["first_sources_by_collection"].items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("Landing links: " + ", ".join(f"{k} {v}" for k, v in
                                        sorted(numbers["landing_links"].items()))
          + f"; with an e-mail or phone {numbers['landing_with_contact_details']}")
    print(f"Regional Team France Export contacts with their own page: "
          f"{numbers['regional_contacts_with_own_page']} of {numbers['regions']} "
          f"(with an e-mail or phone: {numbers['regional_contacts_with_email_or_phone']})")
    print(f"Records past the horizon ({numbers['horizon']}): {numbers['records_past_horizon']}"
          f" (never dated: {numbers['records_never_dated']})")
    print(f"Weak first sources: {numbers['weak_first']}; weak sources elsewhere: "
          f"{numbers['weak_elsewhere']}; records with no primary source: "
          f"{numbers['no_primary']}")
    print(f"Unclassified hosts ({len(review.unclassified)}): " + ", ".join(
        f"{h} {n}" for h, n in review.unclassified.most_common()))
    print()


def _read_upload(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_UPLOAD_BYTES + 1)  # parse_upload refuses anything longer


def _check_with_links(args: argparse.Namespace, report: Report, refs: list[LinkRef] | None,
                      data_dir: Path, clock: Clock) -> int:
    """`kb check --links`: the check's report, then the link check's summary and reports.
    Exit 1 when the check fails or a link is dead."""
    if refs is None:
        links: dict[str, Any] = {"checked": False,
                                 "reason": "the base does not load: fix the errors first"}
        ok = False
    else:
        link_report, text, data = run_link_check(
            refs, Path(args.report) if args.report else data_dir,
            concurrency=args.concurrency, timeout=args.timeout, clock=clock)
        links = {"checked": True, "summary": link_report.summary(),
                 "counts": link_report.counts(), "ok": link_report.ok,
                 "offline": link_report.nothing_answered,
                 "dead": [r.url for r in link_report.dead],
                 "reports": [str(text), str(data)]}
        ok = link_report.ok
    if args.json:
        print(json.dumps({**report.as_dict(), "links": links}, default=str, indent=2))
    else:
        print(format_report(report))
        if not links["checked"]:
            print(f"Links not checked: {links['reason']}")
        else:
            print(links["summary"])
            if links["offline"]:
                print("No URL answered at all: is this machine online?")
            for url in links["dead"]:
                print(f"  dead: {url}")
            print(f"Reports: {links['reports'][0]}, {links['reports'][1]}")
            print("LINKS OK" if links["ok"] else "LINKS FAILED: dead links")
    return 0 if report.ok and ok else 1


def run(args: argparse.Namespace, knowledge_dir: Path, data_dir: Path,
        clock: Clock = SYSTEM_CLOCK) -> int:
    command = args.kb_command
    admin = KnowledgeAdmin(knowledge_dir, data_dir, clock)
    if command == "check":
        refs: list[LinkRef] | None = None
        if args.dir:
            report = check_directory(Path(args.dir), clock.today(),
                                     horizon_months=args.horizon_months)
            if args.links:
                refs = _urls_of(Path(args.dir))
        else:
            with admin.locked():  # the live directory: never judged halfway through an apply
                report = check_directory(knowledge_dir, clock.today(),
                                         horizon_months=args.horizon_months)
                if args.links:  # read under the lock, checked after it (minutes of network)
                    refs = _urls_of(knowledge_dir)
        if args.sources:
            _print_sources(Path(args.dir) if args.dir else knowledge_dir, clock,
                           args.horizon_months, args.json)
        if not args.links:
            print(json.dumps(report.as_dict(), default=str, indent=2) if args.json
                  else format_report(report))
            return 0 if report.ok else 1
        return _check_with_links(args, report, refs, data_dir, clock)
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
