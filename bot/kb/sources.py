"""The source policy applied to a snapshot: each record's sources classed, what `kb check`
refuses and reports, and the figures of `kb check --sources`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.kb.links import host, is_national_tfe_home, listed_class, source_class
from bot.kb.loader import LIST_FILES, Problem
from bot.kb.models import Landing, SourceClass, Sourced
from bot.kb.snapshot import KnowledgeBase

UNCLASSIFIED = "unclassified"


def sourced_records(kb: KnowledgeBase) -> Iterator[tuple[str, str | None, Sourced]]:
    """(collection, record id, record) for every record that carries sources."""
    for name in LIST_FILES:
        for rec in getattr(kb, name).values():
            if isinstance(rec, Sourced):
                yield name, getattr(rec, "id", None), rec
    yield "vie_costs", None, kb.vie_costs


def own_links(rec: Sourced) -> tuple[object, ...]:
    """The links by which a landing record names its organisation (a source there is the
    organisation's own site). Other records' links are judged by the listed hosts only: an aid's
    `url` may be an aggregator's page."""
    if not isinstance(rec, Landing):
        return ()
    return tuple(link for link in (rec.url, rec.contact and rec.contact.url) if link)


def classes(kb: KnowledgeBase, rec: Sourced) -> list[SourceClass | None]:
    own = own_links(rec)
    return [source_class(kb.source_policy, s.url, own) for s in rec.sources]


@dataclass
class SourceReview:
    """What the source policy finds in one snapshot."""

    errors: list[Problem] = field(default_factory=list)  # block the version
    weak_elsewhere: list[Problem] = field(default_factory=list)  # reported
    no_primary: list[Problem] = field(default_factory=list)  # reported
    unclassified: Counter[str] = field(default_factory=Counter)  # host -> sources
    first: Counter[str] = field(default_factory=Counter)  # class of the first sources
    first_by_collection: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def primary_first_share(self) -> float:
        total = sum(self.first.values())
        return self.first[SourceClass.primary.value] / total if total else 0.0


def review_sources(kb: KnowledgeBase) -> SourceReview:
    """The policy: a weak source is never first (error) and is reported elsewhere; when a record
    has a primary source, its first source is primary (error otherwise)."""
    out = SourceReview()
    for name, rid, rec in sourced_records(kb):
        file = f"{name}.json"
        found = classes(kb, rec)
        label = [c.value if c else UNCLASSIFIED for c in found]
        out.first[label[0]] += 1
        out.first_by_collection.setdefault(name, Counter())[label[0]] += 1
        for i, (src, cls) in enumerate(zip(rec.sources, found, strict=True)):
            if cls is None:
                out.unclassified[host(src.url)] += 1
            if cls is SourceClass.weak:
                kind = kb.source_policy.classify(host(src.url))
                why = f"{host(src.url)} is a weak source ({kind.kind if kind else 'weak'})"
                if i == 0:
                    out.errors.append(Problem(file, rid, "sources.0.url",
                                              f"{why}: never the first source; put a primary "
                                              "or other source first, or replace it"))
                else:
                    out.weak_elsewhere.append(Problem(file, rid, f"sources.{i}.url", why))
        if SourceClass.primary in found and found[0] is not SourceClass.primary:
            at = found.index(SourceClass.primary)
            out.errors.append(Problem(file, rid, "sources",
                                      f"the first source is {label[0]} while sources.{at} "
                                      f"({host(rec.sources[at].url)}) is primary: put it first"))
        elif SourceClass.primary not in found:
            out.no_primary.append(Problem(file, rid, "sources",
                                          f"no primary source (first: {label[0]}, "
                                          f"{host(rec.source.url)})"))
    return out


def landing_link_classes(kb: KnowledgeBase) -> Counter[str]:
    """Landing records by what their link is: own site (a host the policy does not list),
    an official page (listed primary), a press/aggregator/weak page, or none."""
    out: Counter[str] = Counter()
    for rec in kb.landing.values():
        out[_link_class(kb, rec)] += 1
    return out


def _link_class(kb: KnowledgeBase, rec: Landing) -> str:
    url = rec.contact.url if rec.contact else rec.url
    if url is None:
        return "none"
    listed = listed_class(kb.source_policy, url)
    if listed is None or (rec.kind.value == "business_france" and host(url) in BF_HOSTS):
        return "own_site"
    return "official_page" if listed is SourceClass.primary else listed.value


BF_HOSTS = frozenset({"businessfrance.fr", "teamfrance-export.fr"})
"""Business France's own sites: for its offices, their own pages."""


def figures(kb: KnowledgeBase, today: dt.date, horizon: dt.date) -> dict[str, Any]:
    """The figures an advisor or an audit asks for (`kb check --sources`)."""
    review = review_sources(kb)
    regions = [r for r in kb.french_regions.values() if not r.overseas]
    with_page = [r for r in regions if r.tfe_contact and not is_national_tfe_home(
        r.tfe_contact.url)]
    stale = [rid for _, rid, rec in sourced_records(kb)
             if rec.dated is None or rec.dated < horizon]
    landing = landing_link_classes(kb)
    return {
        "first_sources": dict(review.first),
        "primary_first_share": round(review.primary_first_share, 3),
        "first_sources_by_collection": {k: dict(v) for k, v in
                                        review.first_by_collection.items()},
        "landing_links": dict(landing),
        "landing_with_contact_details": sum(
            1 for r in kb.landing.values() if r.contact and (r.contact.email or r.contact.phone)),
        "regions": len(regions),
        "regional_contacts_with_own_page": len(with_page),
        "regional_contacts_with_email_or_phone": sum(
            1 for r in with_page if r.tfe_contact and (r.tfe_contact.email
                                                       or r.tfe_contact.phone)),
        "records": sum(1 for _ in sourced_records(kb)),
        "records_past_horizon": len(stale),
        "records_never_dated": sum(1 for _, _, rec in sourced_records(kb) if rec.dated is None),
        "horizon": horizon.isoformat(),
        "weak_first": sum(1 for p in review.errors if p.field == "sources.0.url"),
        "weak_elsewhere": len(review.weak_elsewhere),
        "no_primary": len(review.no_primary),
        "unclassified_hosts": len(review.unclassified),
        "today": today.isoformat(),
    }
