"""Re-verification: the records past the horizon, oldest first, and the two things an admin
does with one (`/kb stale` in Telegram): confirm it is still true, which sets its first source's
`checked` to today through the normal versioned, audited apply, or export it for editing."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.kb.changes import Changes
from bot.kb.loader import LIST_FILES
from bot.kb.models import Source, horizon_start
from bot.kb.snapshot import KnowledgeBase
from bot.kb.sources import sourced_records


@dataclass(frozen=True)
class StaleRecord:
    """One record due for re-verification, as the walk shows it."""

    collection: str
    id: str | None  # None: a single-object collection (vie_costs)
    source: Source  # the first one, shown beside the fact
    dated: dt.date | None  # None: never checked, and the page has no date


def stale_records(kb: KnowledgeBase, today: dt.date,
                  horizon_months: int | None = None) -> list[StaleRecord]:
    """Records whose first source is dated before the horizon or not at all; never-dated ones
    first, then oldest first (ties in the base's order)."""
    months = kb.meta.verification_horizon_months if horizon_months is None else horizon_months
    horizon = horizon_start(today, months)
    found = [StaleRecord(name, rid, rec.source, rec.dated)
             for name, rid, rec in sourced_records(kb)
             if rec.dated is None or rec.dated < horizon]
    return sorted(found, key=lambda r: (r.dated is not None, r.dated or dt.date.min))


def find(raw: Mapping[str, Any], collection: str, rid: str | None) -> dict[str, Any] | None:
    """The raw record (a copy), or None when it is gone."""
    document = raw.get(collection)
    if collection in LIST_FILES:
        rec = next((r for r in document or [] if isinstance(r, dict) and r.get("id") == rid),
                   None)
    else:
        rec = document if isinstance(document, dict) and rid is None else None
    return copy.deepcopy(rec) if rec is not None else None


def still_true(raw: Mapping[str, Any], collection: str, rid: str | None,
               today: dt.date) -> Changes | None:
    """The change that records a check today on the record's first source (its `checked`),
    or None when the record is gone."""
    rec = find(raw, collection, rid)
    if rec is None or not rec.get("sources"):
        return None
    first = dict(rec["sources"][0])
    first["checked"] = today.isoformat()
    if first.get("confidence") == "unverified":
        first["confidence"] = "medium"  # now checked against the page by a person
    rec["sources"] = [first, *rec["sources"][1:]]
    return {collection: {"upsert": [rec], "retire": []} if collection in LIST_FILES else rec}


def for_editing(raw: Mapping[str, Any], collection: str, rid: str | None) -> Any | None:
    """What the admin edits and sends back: `{"upsert": [record]}` (or the object itself for
    a single-object collection), in a file named after the collection."""
    rec = find(raw, collection, rid)
    if rec is None:
        return None
    return {"upsert": [rec]} if collection in LIST_FILES else rec


def title(kb: KnowledgeBase, item: StaleRecord, locale: str) -> str:
    """What the record is called, in the admin's language ("" for a single-object one: its
    collection says it)."""
    if item.id is None:
        return ""
    rec = getattr(kb, item.collection).get(item.id)
    if rec is None:
        return item.id
    if item.collection == "vie_countries":
        country = kb.countries.get(rec.country)
        return country.name.get(locale) if country else item.id
    name = getattr(rec, "name", None) or getattr(rec, "title", None)
    if name is None:
        return item.id
    return name if isinstance(name, str) else str(name.get(locale))


def fingerprint(raw: Mapping[str, Any], collection: str, rid: str | None) -> str:
    """A short digest of the raw record: a ✅ on a record that changed since it was shown
    records nothing."""
    rec = find(raw, collection, rid)
    data = json.dumps(rec, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()[:16]
