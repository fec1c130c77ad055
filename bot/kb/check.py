"""`python -m bot kb check`: validate the knowledge base and list what needs attention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.kb.links import is_national_tfe_home, is_not_own_site
from bot.kb.loader import LIST_FILES, Problem, build, read_raw
from bot.kb.models import AidStatus, horizon_start, page_date_start
from bot.kb.snapshot import KnowledgeBase
from bot.kb.sources import review_sources, sourced_records
from bot.kb.translations import untranslated


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    future: list[Problem] = field(default_factory=list)
    stale: list[Problem] = field(default_factory=list)
    expired_active: list[Problem] = field(default_factory=list)
    weak_elsewhere: list[Problem] = field(default_factory=list)
    no_primary: list[Problem] = field(default_factory=list)
    untranslated: list[Problem] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    proposals: list[str] = field(default_factory=list)
    version: str | None = None

    @property
    def ok(self) -> bool:
        return not self.blocking

    @property
    def blocking(self) -> list[Problem]:
        """What stops a base from going live: errors, future dates, active schemes past their
        end. Stale records are only listed."""
        return [*self.errors, *self.future, *self.expired_active]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def check_directory(directory: Path, today: dt.date,
                    horizon_months: int | None = None) -> Report:
    raw, problems = read_raw(directory)
    if problems:
        report = Report(errors=problems)
        _count(raw, report)
        return report
    return review_raw(raw, today, horizon_months)[1]


def review_raw(raw: Mapping[str, Any], today: dt.date,
               horizon_months: int | None = None) -> tuple[KnowledgeBase | None, Report]:
    """The rules of `kb check` on collections in memory: the snapshot (None if it does not
    build) and the report. An upload is judged by this, exactly like the directory."""
    report = Report()
    _count(raw, report)
    kb, report.errors = build(raw)
    if kb is not None:
        _review(kb, today, report, horizon_months)
    return kb, report


def _count(raw: Mapping[str, Any], report: Report) -> None:
    for name in LIST_FILES:
        if isinstance(raw.get(name), list):
            report.counts[name] = len(raw[name])


def _review(kb: KnowledgeBase, today: dt.date, report: Report,
            horizon_months: int | None) -> None:
    report.version = kb.version
    horizon = horizon_start(today, horizon_months or kb.meta.verification_horizon_months)
    for name, rid, rec in sourced_records(kb):
        file = f"{name}.json"
        for i, src in enumerate(rec.sources):
            if src.checked and src.checked > today:
                report.future.append(Problem(file, rid, f"sources.{i}.checked",
                                             f"{src.checked.isoformat()} is in the future"))
            if src.published and page_date_start(src.published) > today:
                report.future.append(Problem(file, rid, f"sources.{i}.published",
                                             f"{src.published} is in the future"))
        dated = rec.dated
        if dated is None:
            report.stale.append(Problem(file, rid, "sources.0",
                                        "never checked, and the page has no date"))
        elif dated < horizon:
            report.stale.append(Problem(file, rid, "sources.0",
                                        f"dated {dated.isoformat()}, before "
                                        f"{horizon.isoformat()}"))
    if kb.source_policy.hosts:  # a version from before the policy classified no host
        policy = review_sources(kb)
        report.errors.extend(policy.errors)
        report.weak_elsewhere = policy.weak_elsewhere
        report.no_primary = policy.no_primary
    report.untranslated = untranslated(kb)
    for aid in kb.aid.values():
        if aid.status is AidStatus.active and aid.valid_to and aid.valid_to < today:
            report.expired_active.append(Problem("aid.json", aid.id, "status",
                                                 f"active but ended {aid.valid_to.isoformat()}"))
        elif aid.status is AidStatus.closed:
            report.closed.append(aid.id)
        elif aid.status is AidStatus.proposal:
            report.proposals.append(aid.id)
    for rec in kb.landing.values():
        if rec.status == "closed":
            report.closed.append(rec.id)
    _review_contact_links(kb, report)


def _review_contact_links(kb: KnowledgeBase, report: Report) -> None:
    """A landing record's `url` and `contact` are the organisation's own site: never a press
    page (that is a source). A region's Team France Export contact is a regional page, not
    the national homepage."""
    for rec in kb.landing.values():
        for where, url in (("url", rec.url), ("contact.url", rec.contact and rec.contact.url)):
            if url and is_not_own_site(kb.source_policy, url):
                report.errors.append(Problem("landing.json", rec.id, where,
                                             f"{url} is a press, aggregator or weak page, not "
                                             "the organisation's own site: keep it as a "
                                             "source, leave the link out"))
    for region in kb.french_regions.values():
        contact = region.tfe_contact
        if contact and (is_not_own_site(kb.source_policy, contact.url)
                        or is_national_tfe_home(contact.url)):
            report.errors.append(Problem("french_regions.json", region.id, "tfe_contact.url",
                                         f"{contact.url} is not a regional contact page"))


def format_report(report: Report) -> str:
    lines = [f"Knowledge base {report.version or '(not loaded)'}"]
    lines.append("Records: " + ", ".join(f"{k} {v}" for k, v in report.counts.items()))
    sections = (("Errors", report.errors), ("Verification dates in the future", report.future),
                ("Active schemes past their end date", report.expired_active),
                ("Due for re-verification", report.stale),
                ("Weak sources (not first)", report.weak_elsewhere),
                ("Records with no primary source", report.no_primary),
                ("Texts not translated", report.untranslated))
    for title, items in sections:
        lines.append(f"{title}: {len(items)}")
        lines.extend(f"  - {p}" for p in items)
    lines.append(f"Closed: {len(report.closed)} ({', '.join(report.closed) or '-'})")
    lines.append(f"Proposals never enacted: {len(report.proposals)} "
                 f"({', '.join(report.proposals) or '-'})")
    lines.append("OK" if report.ok else "FAILED")
    return "\n".join(lines)
