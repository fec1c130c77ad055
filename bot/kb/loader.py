"""Load knowledge/*.json into a validated snapshot; errors name the file, record and field."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.dialog import questions as q
from bot.kb import models as m
from bot.kb.snapshot import KnowledgeBase


@dataclass(frozen=True)
class Collection:
    """One collection of the base, declared once: its file is `<name>.json`; `many`: an array of
    records with ids, else one object. `default` is what a stored version written before the
    collection existed holds (a backup, a dialog-pinned version, an older knowledge/), so old
    versions still load and can be rolled back to; None: the collection is required."""

    name: str
    model: type[BaseModel]
    many: bool = True
    default: Callable[[], Any] | None = None


REGISTRY: tuple[Collection, ...] = (
    Collection("meta", m.Meta, many=False),
    Collection("vie_costs", m.VieCosts, many=False),
    Collection("sectors", m.Sector),
    Collection("world_regions", m.WorldRegion),
    Collection("countries", m.Country),
    Collection("cities", m.City),
    Collection("french_regions", m.FrenchRegion),
    Collection("landing", m.Landing),
    Collection("vie_rules", m.VieRule),
    Collection("vie_countries", m.VieCountry),
    Collection("aid", m.Aid),
    # Added in 2026-12 (issue 14): versions before it classified no host.
    Collection("source_policy", m.SourcePolicy, many=False, default=lambda: {"hosts": []}),
)
BY_NAME = {c.name: c for c in REGISTRY}
SINGLE_FILES: dict[str, type[BaseModel]] = {c.name: c.model for c in REGISTRY if not c.many}
LIST_FILES: dict[str, type[BaseModel]] = {c.name: c.model for c in REGISTRY if c.many}
COLLECTIONS = tuple(c.name for c in REGISTRY)


def upgraded(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored version in today's form: collections it lacks get their default, and sources
    dated the old way (`verified`) are converted as on load (`models.legacy_source`). For a
    rollback, so the live files are always written in the current form."""
    out = copy.deepcopy(with_defaults(raw))
    for document in out.values():
        for rec in document if isinstance(document, list) else [document]:
            sources = rec.get("sources") if isinstance(rec, dict) else None
            if isinstance(sources, list):
                rec["sources"] = [m.legacy_source(s) if isinstance(s, dict) and "verified" in s
                                  and not ({"published", "checked"} & set(s)) else s
                                  for s in sources]
    return out


def with_defaults(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` with every collection it lacks that has a default (a version from before it)."""
    out = dict(raw)
    for c in REGISTRY:
        if c.name not in out and c.default is not None:
            out[c.name] = c.default()
    return out


SHOWN_CHARS = 40
"""Of an id, a key or a name taken from the input, when shown in a problem or a refusal."""


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text`, cut to `limit` characters with an ellipsis (input shown back to the admin)."""
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Problem:
    """One problem found in the knowledge base."""

    file: str
    record: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = shorten(self.file, 3 * SHOWN_CHARS)
        where += f" [{shorten(self.record)}]" if self.record else ""
        where += f" {shorten(self.field, 3 * SHOWN_CHARS)}" if self.field else ""
        return f"{where}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base cannot be loaded; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} knowledge-base error(s): {shown}{more}")


class JsonRefused(KnowledgeError):
    """Knowledge JSON that the strict parse refuses; `syntax` is set when it is not JSON at all
    (the parser's own message, with line and column)."""

    def __init__(self, problems: list[Problem], syntax: str = "") -> None:
        super().__init__(problems)
        self.syntax = syntax


MAX_DEPTH = 16
"""Nesting levels a knowledge JSON text may have (the records need at most 8, uploads included)."""
MAX_NUMBER_CHARS = 32
"""Characters a number may be written with; longer ones are refused before conversion."""


@dataclass(frozen=True)
class _Refused:
    """Stands in the parsed tree for a value the parse refuses, until it is reported with its
    place."""

    message: str


class _Duplicates(dict[str, Any]):
    """An object in which some keys appear more than once (json would keep the last silently)."""

    def __init__(self, pairs: list[tuple[str, Any]], twice: list[str]) -> None:
        super().__init__(pairs)
        self.twice = twice


class _Hooks:
    """The json.loads hooks: a refused value or object is kept in the tree as a marker, and
    `marked` says the tree needs a walk to report them."""

    def __init__(self) -> None:
        self.marked = False

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        twice: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in twice:
                twice.append(key)
            seen.add(key)
        self.marked = True
        return _Duplicates(pairs, twice)

    def constant(self, name: str) -> _Refused:
        self.marked = True
        return _Refused(f"{name} is not a number JSON allows; write a number")

    def number(self, convert: Callable[[str], Any]) -> Callable[[str], Any]:
        def parse(literal: str) -> Any:
            if len(literal) > MAX_NUMBER_CHARS:
                self.marked = True
                return _Refused(f"a number of {len(literal)} characters (at most "
                                f"{MAX_NUMBER_CHARS})")
            value = convert(literal)
            if isinstance(value, float) and not math.isfinite(value):
                self.marked = True
                return _Refused(f"{shorten(literal)} is too large for a number")
            return value
        return parse


def _too_deep(document: Any) -> bool:
    """More than MAX_DEPTH levels of arrays and objects (level by level, no recursion)."""
    level = [document] if isinstance(document, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [child for value in level
                 for child in (value.values() if isinstance(value, dict) else value)
                 if isinstance(child, dict | list)]
        if not level:
            return False
    return True


def _place_problems(document: Any, file: str) -> list[Problem]:
    """What the parse refused, each with its record (the nearest object with an id, or #index
    in a collection file) and field path; and nesting deeper than MAX_DEPTH."""
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str, ...], str | None, int]] = [(document, (), None, 0)]
    while stack:  # iterative: the tree may be as deep as the parser allows
        value, path, record, depth = stack.pop()
        field = ".".join(path) or None
        if isinstance(value, _Refused):
            problems.append(Problem(file, record, field, value.message))
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            problems.append(Problem(file, record, field,
                                    f"nested more than {MAX_DEPTH} levels deep"))
            continue
        children: list[tuple[str, Any, str | None]]
        if isinstance(value, dict):
            rid = value.get("id")
            if isinstance(rid, str) and rid:
                record, path = shorten(rid), ()
            if isinstance(value, _Duplicates):
                problems.extend(Problem(file, record, ".".join((*path, shorten(key))),
                                        "this key is written more than once; keep one")
                                for key in value.twice)
            children = [(shorten(k), v, record) for k, v in value.items()]
        else:
            top = depth == 0
            children = [("" if top else str(i), v, f"#{i}" if top else record)
                        for i, v in enumerate(value)]
        for key, child, owner in reversed(children):
            stack.append((child, (*path, key) if key else path, owner, depth + 1))
    return problems


def parse_json(text: str, file: str) -> Any:
    """The one parse of knowledge JSON (live files, backups, uploads). Refuses, as JsonRefused
    naming file, record and field: NaN and Infinity, numbers too long or too large, duplicate
    keys, nesting deeper than MAX_DEPTH, and text that is not JSON."""
    hooks = _Hooks()
    try:
        document = json.loads(text, object_pairs_hook=hooks.object,
                              parse_constant=hooks.constant, parse_int=hooks.number(int),
                              parse_float=hooks.number(float))
    except json.JSONDecodeError as exc:
        message = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise JsonRefused([Problem(file, None, None, f"not valid JSON: {message}")],
                          message) from None
    except RecursionError:
        raise JsonRefused([Problem(file, None, None,
                                   f"nested more than {MAX_DEPTH} levels deep")]) from None
    if hooks.marked or _too_deep(document):
        raise JsonRefused(_place_problems(document, file))
    return document


def read_raw(directory: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Read every collection file with the strict parse, without validating it."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in COLLECTIONS:
        path = directory / f"{name}.json"
        try:
            raw[name] = parse_json(path.read_text(encoding="utf-8"), path.name)
        except FileNotFoundError:
            default = BY_NAME[name].default
            if default is None:
                problems.append(Problem(path.name, None, None, "file is missing"))
            else:  # a directory written before this collection existed
                raw[name] = default()
        except UnicodeDecodeError as exc:
            problems.append(Problem(path.name, None, None, f"not valid JSON: {exc}"))
        except JsonRefused as exc:
            problems.extend(exc.problems)
    return raw, problems


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(record)"


def _validate(name: str, model: type[BaseModel], data: Any, rid: str | None,
              problems: list[Problem]) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(Problem(f"{name}.json", rid, _field_path(err["loc"]), err["msg"]))
        return None


def build(raw: Mapping[str, Any]) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Validate raw collections into a snapshot; return the problems instead of raising."""
    problems: list[Problem] = []
    raw = with_defaults(raw)
    singles: dict[str, BaseModel] = {}
    lists: dict[str, dict[str, Any]] = {}
    for name, model in SINGLE_FILES.items():
        if name in raw and (rec := _validate(name, model, raw[name], None, problems)):
            singles[name] = rec
    for name, model in LIST_FILES.items():
        if name not in raw:
            continue
        items = raw[name]
        if not isinstance(items, list):
            problems.append(Problem(f"{name}.json", None, None, "must be a JSON array of records"))
            continue
        by_id: dict[str, Any] = {}
        for index, item in enumerate(items):
            rid = item.get("id") if isinstance(item, dict) else None
            label = str(rid) if rid else f"#{index}"
            rec = _validate(name, model, item, label, problems)
            if rec is None:
                continue
            if rec.id in by_id:  # type: ignore[attr-defined]
                problems.append(Problem(f"{name}.json", label, "id", "duplicate id"))
                continue
            by_id[rec.id] = rec  # type: ignore[attr-defined]
        lists[name] = by_id
    if problems or len(singles) < len(SINGLE_FILES) or len(lists) < len(LIST_FILES):
        return None, problems
    kb = KnowledgeBase(**singles, **lists)  # type: ignore[arg-type]
    problems.extend(broken_references(kb))
    return (None if problems else kb), problems


def broken_references(kb: KnowledgeBase) -> list[Problem]:
    """Every id a record points at must exist."""
    out: list[Problem] = []

    def need(ok: bool, file: str, rid: str, fld: str, value: str) -> None:
        if not ok:
            out.append(Problem(file, rid, fld, f"unknown id {value!r}"))

    for c in kb.countries.values():
        need(c.world_region in kb.world_regions, "countries.json", c.id, "world_region",
             c.world_region)
    for town in kb.cities.values():
        need(town.country in kb.countries, "cities.json", town.id, "country", town.country)
    for r in kb.landing.values():
        need(r.country in kb.countries, "landing.json", r.id, "country", r.country)
        if r.city:
            city = kb.cities.get(r.city)
            need(city is not None, "landing.json", r.id, "city", r.city)
            if city and city.country != r.country:
                out.append(Problem("landing.json", r.id, "city",
                                   f"city {r.city!r} is not in country {r.country!r}"))
        for s in r.sectors:
            need(s in kb.sectors, "landing.json", r.id, "sectors", s)
        for region in r.home_regions:
            need(region in kb.french_regions, "landing.json", r.id, "home_regions", region)
        for country in r.covers:
            need(country in kb.countries, "landing.json", r.id, "covers", country)
    for v in kb.vie_countries.values():
        need(v.country in kb.countries, "vie_countries.json", v.id, "country", v.country)
        for a in v.allowances:
            if a.city:
                need(a.city in kb.cities, "vie_countries.json", v.id, "allowances.city", a.city)
    vocab: dict[m.CriterionField, Mapping[str, object]] = {
        m.CriterionField.home_region: kb.french_regions,
        m.CriterionField.sector: kb.sectors,
        m.CriterionField.country: kb.countries,
        m.CriterionField.world_region: kb.world_regions,
        m.CriterionField.stage: {s.value: s for s in m.Stage},
        m.CriterionField.territory: dict.fromkeys(q.TERRITORIES),
        m.CriterionField.large_contracts: dict.fromkeys(q.YES_NO),
        m.CriterionField.vie_plan: dict.fromkeys(q.VIE_PLANS),
    }
    for aid in kb.aid.values():
        for crit in aid.criteria:
            numeric = crit.field in m.NUMERIC_FIELDS
            if numeric != (crit.op in ("max", "min")):
                out.append(Problem("aid.json", aid.id, f"criteria.{crit.field.value}",
                                   f"op {crit.op!r} does not apply to this field (use "
                                   f"{'max or min' if numeric else 'in or not_in'})"))
                continue
            known = vocab.get(crit.field)
            if known is not None and isinstance(crit.value, list):
                for value in crit.value:
                    need(value in known, "aid.json", aid.id, f"criteria.{crit.field.value}",
                         value)
    return out


def load_directory(directory: Path) -> KnowledgeBase:
    """Load and validate a knowledge directory, or raise KnowledgeError."""
    raw, problems = read_raw(directory)
    if problems:
        raise KnowledgeError(problems)
    kb, problems = build(raw)
    if kb is None:
        raise KnowledgeError(problems)
    return kb
