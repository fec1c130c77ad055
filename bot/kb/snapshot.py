"""One immutable, validated version of the knowledge base, with the lookups the domain needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.kb.models import (
    Aid,
    City,
    Country,
    FrenchRegion,
    Landing,
    Meta,
    Sector,
    VieCosts,
    VieCountry,
    VieRule,
    WorldRegion,
)


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
    _by_country: dict[str, list[Landing]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_country: dict[str, list[Landing]] = {}
        for rec in self.landing.values():
            by_country.setdefault(rec.country, []).append(rec)
        object.__setattr__(self, "_by_country", by_country)

    @property
    def version(self) -> str:
        return self.meta.version

    def countries_in(self, world_region: str) -> list[Country]:
        return [c for c in self.countries.values() if c.world_region == world_region]

    def cities_in(self, country: str) -> list[City]:
        return [c for c in self.cities.values() if c.country == country]

    def landing_in_country(self, country: str) -> list[Landing]:
        return self._by_country.get(country, [])

    def landing_in_region(self, world_region: str) -> list[Landing]:
        ids = {c.id for c in self.countries_in(world_region)}
        return [r for r in self.landing.values() if r.country in ids]
