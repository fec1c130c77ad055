"""An admin's upload as a change to the knowledge base: parse it, merge it, diff it.

Accepted uploads (UTF-8 JSON, at most 1 MB, read by the strict `loader.parse_json`):
- a whole collection, named after it: `aid.json` holding an array (or `meta.json`, `vie_costs.json`
  holding an object); it replaces that collection;
- records to add, change or retire in one collection: `aid.json` holding
  `{"upsert": [records], "retire": ["id", ...]}` (or one record object, which is upserted);
- several collections at once, any file name: `{"aid": {...}, "landing": [...], "meta": {...}}`
  where each value takes one of the forms above.
`meta.version` and `meta.updated` are set when a change is applied, never taken from the file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from bot.kb.loader import (
    COLLECTIONS,
    LIST_FILES,
    SINGLE_FILES,
    JsonRefused,
    Problem,
    parse_json,
    shorten,
)

MAX_UPLOAD_BYTES = 1024 * 1024
MANAGED_META = ("version", "updated")  # set by the engine on apply
CHANGE_KEYS = frozenset({"upsert", "retire"})


class RefusalKind(StrEnum):
    too_big = "too_big"
    not_utf8 = "not_utf8"
    not_json = "not_json"
    bad_format = "bad_format"
    invalid = "invalid"
    empties = "empties"


@dataclass(frozen=True)
class Refusal(Exception):
    """Why an upload cannot be applied; `problems` by file, record and field when it applies."""

    kind: RefusalKind
    detail: str = ""
    problems: tuple[Problem, ...] = ()

    def __str__(self) -> str:
        lines = [f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value]
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


Changes = dict[str, Any]
"""Normalised changes: collection -> a whole collection (list or object) or {upsert, retire}."""


def parse_upload(data: bytes, file_name: str | None = None) -> Changes:
    """The upload as normalised changes; Refusal with the reason when it is not usable."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise Refusal(RefusalKind.too_big, f"{len(data)} bytes, limit {MAX_UPLOAD_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refusal(RefusalKind.not_utf8, f"byte {exc.start}") from None
    try:
        document = parse_json(text, file_name or "upload")
    except JsonRefused as exc:
        if exc.syntax:
            raise Refusal(RefusalKind.not_json, exc.syntax) from None
        raise Refusal(RefusalKind.invalid, problems=tuple(exc.problems)) from None
    changes = normalise(document, file_name)
    legacy = legacy_dates(changes)
    if legacy:
        raise Refusal(RefusalKind.invalid, problems=tuple(legacy))
    return changes


LEGACY_DATE = ("the old date form: write `published` (the page's own date: 2021, 2021-05 or "
               "2021-05-04) and/or `checked` (the day you compared the fact with the page) "
               "instead of `verified`; export the live files to see the current form")


def legacy_dates(changes: Changes) -> list[Problem]:
    """Sources of an upload still dated with `verified`: refused, since only the admin knows
    whether that day was the page's or a check's (stored versions are converted on load)."""
    out: list[Problem] = []
    for name, change in changes.items():
        records = change if isinstance(change, list) else (
            change.get("upsert", []) if name in LIST_FILES else [change])
        for index, rec in enumerate(records):
            if not isinstance(rec, dict):
                continue
            sources = rec.get("sources")
            for i, src in enumerate(sources if isinstance(sources, list) else []):
                if isinstance(src, dict) and "verified" in src:
                    rid = rec.get("id") if isinstance(rec.get("id"), str) else f"#{index}"
                    out.append(Problem(f"{name}.json", shorten(str(rid)),
                                       f"sources.{i}.verified", LEGACY_DATE))
    return out


def normalise(document: Any, file_name: str | None = None) -> Changes:
    """Bring the accepted forms to one: {collection: whole collection or {upsert, retire}}."""
    stem = PurePath(file_name or "").stem
    if stem in COLLECTIONS and not (isinstance(document, dict) and document
                                    and set(document) <= set(COLLECTIONS)):
        document = {stem: document}
    if not isinstance(document, dict) or not document:
        raise Refusal(RefusalKind.bad_format,
                      "name the file after its collection (aid.json...) or send an object "
                      "keyed by collection")
    unknown = sorted(set(document) - set(COLLECTIONS))
    if unknown:
        shown = ", ".join(shorten(name) for name in unknown[:5])
        raise Refusal(RefusalKind.bad_format,
                      f"unknown collection(s): {shown}{', …' if len(unknown) > 5 else ''}; "
                      f"known: {', '.join(COLLECTIONS)}")
    changes: Changes = {}
    for name, value in document.items():
        changes[name] = _collection_change(name, value)
    return changes


def _collection_change(name: str, value: Any) -> Any:
    if name in SINGLE_FILES:
        if not isinstance(value, dict):
            raise Refusal(RefusalKind.bad_format, f"{name}: must be an object")
        return value
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and value and set(value) <= CHANGE_KEYS:
        upsert, retire = value.get("upsert", []), value.get("retire", [])
        if not isinstance(upsert, list) or not all(isinstance(r, dict) for r in upsert):
            raise Refusal(RefusalKind.bad_format, f"{name}.upsert: must be an array of records")
        if not isinstance(retire, list) or not all(isinstance(r, str) for r in retire):
            raise Refusal(RefusalKind.bad_format, f"{name}.retire: must be an array of ids")
        return {"upsert": upsert, "retire": retire}
    if isinstance(value, dict) and "id" in value:
        return {"upsert": [value], "retire": []}
    raise Refusal(RefusalKind.bad_format,
                  f"{name}: expected an array of records, one record, or "
                  f'{{"upsert": [...], "retire": [...]}}')


def merge(raw: Mapping[str, Any], changes: Changes) -> dict[str, Any]:
    """The collections after the changes (raw is not modified); Refusal on duplicate ids in an
    upsert, or when a collection would be left empty."""
    merged = copy.deepcopy(dict(raw))
    problems: list[Problem] = []
    for name, change in changes.items():
        file = f"{name}.json"
        if name == "meta":
            merged["meta"] = {**merged.get("meta", {}),
                              **{k: v for k, v in change.items() if k not in MANAGED_META}}
        elif name in SINGLE_FILES or isinstance(change, list):
            merged[name] = copy.deepcopy(change)
        else:
            merged[name] = _upsert(merged.get(name, []), change, file, problems)
    if problems:
        raise Refusal(RefusalKind.invalid, problems=tuple(problems))
    emptied = [name for name in LIST_FILES if name in changes and not merged.get(name)]
    if emptied:
        raise Refusal(RefusalKind.empties, ", ".join(emptied))
    return merged


def _upsert(records: list[Any], change: Mapping[str, Any], file: str,
            problems: list[Problem]) -> list[Any]:
    by_id = {r.get("id"): i for i, r in enumerate(records) if isinstance(r, dict)}
    out = list(records)
    seen: set[str] = set()
    for index, record in enumerate(change["upsert"]):
        rid = record.get("id")
        if not isinstance(rid, str) or not rid:
            problems.append(Problem(file, f"upsert #{index}", "id", "a record needs an id"))
            continue
        if rid in seen:
            problems.append(Problem(file, rid, "id", "duplicate id in the upload"))
            continue
        seen.add(rid)
        if rid in by_id:
            out[by_id[rid]] = copy.deepcopy(record)
        else:
            by_id[rid] = len(out)
            out.append(copy.deepcopy(record))
    # Retiring an id that is not there is a no-op (the diff shows what really goes), so the
    # same file applied twice changes nothing the second time.
    retired = set()
    for rid in change["retire"]:
        if rid in seen:
            problems.append(Problem(file, rid, "id", "both upserted and retired"))
        retired.add(rid)
    return [r for r in out if not (isinstance(r, dict) and r.get("id") in retired)]


# --- diff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionDiff:
    added: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (id, changed fields)
    retired: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.retired)


@dataclass(frozen=True)
class Diff:
    """What a change does, per collection (only collections it touches)."""

    collections: dict[str, CollectionDiff] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.collections

    def counts(self) -> dict[str, int]:
        return {"added": sum(len(d.added) for d in self.collections.values()),
                "changed": sum(len(d.changed) for d in self.collections.values()),
                "retired": sum(len(d.retired) for d in self.collections.values())}

    def as_dict(self) -> dict[str, Any]:
        return {name: {"added": list(d.added),
                       "changed": {rid: list(fields) for rid, fields in d.changed},
                       "retired": list(d.retired)}
                for name, d in self.collections.items()}

    def lines(self) -> list[str]:
        """Plain text, one line per collection and kind (the command line's output)."""
        out: list[str] = []
        for name, d in self.collections.items():
            if d.added:
                out.append(f"{name}: added {', '.join(d.added)}")
            for rid, fields in d.changed:
                out.append(f"{name}: changed {rid} ({', '.join(fields)})")
            if d.retired:
                out.append(f"{name}: retired {', '.join(d.retired)}")
        return out or ["no change"]


def _fields(old: Mapping[str, Any], new: Mapping[str, Any], ignore: tuple[str, ...] = ()
            ) -> tuple[str, ...]:
    keys = [*old, *(k for k in new if k not in old)]
    return tuple(k for k in keys if k not in ignore and old.get(k) != new.get(k))


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    """Added, changed (with the fields) and retired records, collection by collection."""
    out: dict[str, CollectionDiff] = {}
    for name in SINGLE_FILES:
        fields = _fields(old.get(name) or {}, new.get(name) or {},
                         MANAGED_META if name == "meta" else ())
        if fields:
            out[name] = CollectionDiff(changed=((name, fields),))
    for name in LIST_FILES:
        before = {r["id"]: r for r in old.get(name) or [] if isinstance(r, dict) and "id" in r}
        after = {r["id"]: r for r in new.get(name) or [] if isinstance(r, dict) and "id" in r}
        d = CollectionDiff(
            added=tuple(rid for rid in after if rid not in before),
            changed=tuple((rid, f) for rid in after if rid in before
                          and (f := _fields(before[rid], after[rid]))),
            retired=tuple(rid for rid in before if rid not in after))
        if d:
            out[name] = d
    return Diff(out)
