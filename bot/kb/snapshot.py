"""One immutable, validated version of the knowledge base, with the lookups the domain needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.kb.models import (
    Aid,
    AidStatus,
    City,
    ConditionKind,
    Country,
    CriterionField,
    FrenchRegion,
    Landing,
    Meta,
    Sector,
    SourcePolicy,
    VieCosts,
    VieCountry,
    VieRule,
    WorldRegion,
)


def rule_signature(aid: Aid) -> tuple[object, ...]:
    """What a verdict on this scheme depends on: two schemes with the same signature get the
    same verdict for any profile (the criteria's notes included, as the plan shows them, and
    the conditions that could exclude, which the verdict lists)."""
    return (aid.status, aid.valid_from, aid.valid_to, aid.selection, bool(aid.unsourced),
            tuple(c for c in aid.conditions if c.kind is ConditionKind.exclusion), tuple(
                (c.field, c.op, tuple(c.value) if isinstance(c.value, list) else c.value,
                 c.note, c.years) for c in aid.criteria))


def reserved_to(aid: Aid) -> frozenset[str] | None:
    """The home regions an active scheme is reserved to (None: open to all regions)."""
    if aid.status is not AidStatus.active:
        return None
    for c in aid.criteria:
        if c.field is CriterionField.home_region and c.op == "in" and isinstance(c.value, list):
            return frozenset(c.value)
    return None


@dataclass(frozen=True)
class KnowledgeBase:
    """All collections of one knowledge-base version, indexed by id (insertion order kept)."""

    meta: Meta
    sectors: dict[str, Sector]
    world_regions: dict[str, WorldRegion]
    countries: dict[str, Country]
    cities: dict[str, City]
    french_regions: dict[str, FrenchRegion]
    landing: dict[str, Landing]
    vie_rules: dict[str, VieRule]
    vie_costs: VieCosts
    vie_countries: dict[str, VieCountry]
    aid: dict[str, Aid]
    source_policy: SourcePolicy
    _by_country: dict[str, list[Landing]] = field(init=False, repr=False, compare=False)
    _by_region: dict[str, list[Landing]] = field(init=False, repr=False, compare=False)
    _by_city: dict[str, list[Landing]] = field(init=False, repr=False, compare=False)
    _by_place: dict[tuple[str, str | None], list[Landing]] = field(init=False, repr=False,
                                                                   compare=False)
    _covering: dict[str, list[Landing]] = field(init=False, repr=False, compare=False)
    _landing_by_home: dict[str, list[Landing]] = field(init=False, repr=False, compare=False)
    _aid_open: list[Aid] = field(init=False, repr=False, compare=False)
    _aid_by_home: dict[str, list[Aid]] = field(init=False, repr=False, compare=False)
    _rule_ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_country: dict[str, list[Landing]] = {}
        by_region: dict[str, list[Landing]] = {}
        by_city: dict[str, list[Landing]] = {}
        by_place: dict[tuple[str, str | None], list[Landing]] = {}
        covering: dict[str, list[Landing]] = {}
        by_home: dict[str, list[Landing]] = {}
        for rec in self.landing.values():
            by_country.setdefault(rec.country, []).append(rec)
            by_place.setdefault((rec.country, rec.city), []).append(rec)
            if rec.city:
                by_city.setdefault(rec.city, []).append(rec)
            for covered in dict.fromkeys(rec.covers):
                if covered != rec.country:
                    covering.setdefault(covered, []).append(rec)
            for region in dict.fromkeys(rec.home_regions):
                by_home.setdefault(region, []).append(rec)
            country = self.countries.get(rec.country)
            if country is not None:
                by_region.setdefault(country.world_region, []).append(rec)
        object.__setattr__(self, "_by_country", by_country)
        object.__setattr__(self, "_by_region", by_region)
        object.__setattr__(self, "_by_city", by_city)
        object.__setattr__(self, "_by_place", by_place)
        object.__setattr__(self, "_covering", covering)
        object.__setattr__(self, "_landing_by_home", by_home)
        aid_open: list[Aid] = []
        aid_by_home: dict[str, list[Aid]] = {}
        for aid in self.aid.values():
            regions = reserved_to(aid)
            if regions is None:
                aid_open.append(aid)
            for region in regions or ():
                aid_by_home.setdefault(region, []).append(aid)
        numbers: dict[tuple[object, ...], int] = {}
        object.__setattr__(self, "_rule_ids", {
            aid.id: numbers.setdefault(rule_signature(aid), len(numbers))
            for aid in self.aid.values()})
        object.__setattr__(self, "_aid_open", aid_open)
        object.__setattr__(self, "_aid_by_home", aid_by_home)

    @property
    def version(self) -> str:
        return self.meta.version

    def aid_for(self, home_region: str | None) -> tuple[list[Aid], int]:
        """The schemes to judge for a home region (all when unknown), and how many others are
        reserved to other regions (counted, not judged)."""
        if home_region is None:
            return list(self.aid.values()), 0
        mine = self._aid_by_home.get(home_region, [])
        reserved = len(self.aid) - len(self._aid_open)
        return [*self._aid_open, *mine], reserved - len(mine)

    @property
    def rule_ids(self) -> dict[str, int]:
        """Scheme id -> its rule set's number: schemes with equal rules share a number."""
        return self._rule_ids

    def landing_in_city(self, city: str) -> list[Landing]:
        return self._by_city.get(city, [])

    def countries_in(self, world_region: str) -> list[Country]:
        return [c for c in self.countries.values() if c.world_region == world_region]

    def cities_in(self, country: str) -> list[City]:
        return [c for c in self.cities.values() if c.country == country]

    def landing_in_country(self, country: str) -> list[Landing]:
        return self._by_country.get(country, [])

    def landing_in_region(self, world_region: str) -> list[Landing]:
        return self._by_region.get(world_region, [])

    def landing_at(self, country: str, city: str | None) -> list[Landing]:
        """The country's records in this city; with None, those serving the whole country."""
        return self._by_place.get((country, city), [])

    def landing_covering(self, country: str) -> list[Landing]:
        """Records in other countries whose `covers` names this one."""
        return self._covering.get(country, [])

    def landing_for_home(self, home_region: str) -> list[Landing]:
        """Records reserved to companies from this French region (its own offices)."""
        return self._landing_by_home.get(home_region, [])
