"""Load knowledge/*.json into a validated snapshot; errors name the file, record and field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.kb import models as m
from bot.kb.snapshot import KnowledgeBase

SINGLE_FILES: dict[str, type[BaseModel]] = {"meta": m.Meta, "vie_costs": m.VieCosts}
LIST_FILES: dict[str, type[BaseModel]] = {
    "sectors": m.Sector,
    "world_regions": m.WorldRegion,
    "countries": m.Country,
    "cities": m.City,
    "french_regions": m.FrenchRegion,
    "landing": m.Landing,
    "vie_rules": m.VieRule,
    "vie_countries": m.VieCountry,
    "aid": m.Aid,
}
COLLECTIONS = (*SINGLE_FILES, *LIST_FILES)


@dataclass(frozen=True)
class Problem:
    """One problem found in the knowledge base."""

    file: str
    record: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f" [{self.record}]" if self.record else "")
        where += f" {self.field}" if self.field else ""
        return f"{where}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base cannot be loaded; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} knowledge-base error(s): {shown}{more}")


def read_raw(directory: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Read every collection file as JSON, without validating it."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in COLLECTIONS:
        path = directory / f"{name}.json"
        try:
            raw[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(Problem(path.name, None, None, "file is missing"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem(path.name, None, None, f"not valid JSON: {exc}"))
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
    }
    for aid in kb.aid.values():
        for crit in aid.criteria:
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
