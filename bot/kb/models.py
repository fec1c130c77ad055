"""Knowledge-base schema: one pydantic model per record kind, one JSON file per collection."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, model_validator

RecordId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
"""Stable ids: short, lowercase, safe in callback data (buttons carry ids, never titles)."""


class Strict(BaseModel):
    """Base for every record: unknown fields are errors, so typos surface at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages of the bot."""

    fr: Annotated[str, StringConstraints(min_length=1)]
    en: Annotated[str, StringConstraints(min_length=1)]

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.fr


class Confidence(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"
    unverified = "unverified"


class Source(Strict):
    """Where a fact comes from and when someone last checked it there."""

    url: HttpUrl
    verified: dt.date
    confidence: Confidence = Confidence.medium
    note: str | None = None


class Sourced(Strict):
    """A record that shows facts: at least one source, each dated."""

    sources: list[Source] = Field(min_length=1)

    @property
    def source(self) -> Source:
        """The main source, shown beside the fact."""
        return self.sources[0]

    @property
    def verified(self) -> dt.date:
        """The oldest verification date among the sources: the fact is only as fresh as that."""
        return min(s.verified for s in self.sources)


# --- vocabulary -------------------------------------------------------------------------------


class Sector(Strict):
    id: RecordId
    name: Text
    synonyms: list[str] = []


class WorldRegion(Strict):
    id: RecordId
    name: Text


class Country(Strict):
    id: RecordId  # ISO 3166-1 alpha-2, lowercase
    iso2: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    name: Text
    world_region: RecordId
    aliases: list[str] = []
    eea: bool = False  # free movement for French volunteers: no work permit needed


class City(Strict):
    id: RecordId
    country: RecordId
    name: Text
    aliases: list[str] = []
    hub_2013: bool = False  # one of the ten hubs of the 2013 proposal


class Contact(Strict):
    name: str
    url: HttpUrl
    email: str | None = None
    phone: str | None = None


class FrenchRegion(Sourced):
    id: RecordId
    name: Text
    aliases: list[str] = []
    overseas: bool = False
    tfe_contact: Contact | None = None  # regional Team France Export contact point


# --- landing structures -----------------------------------------------------------------------


class LandingKind(StrEnum):
    french_tech = "french_tech"  # French Tech community abroad
    chamber = "chamber"  # French chamber of commerce (CCIFI) or its business centre
    business_france = "business_france"  # Business France / Team France Export office
    incubator = "incubator"
    accelerator = "accelerator"
    soft_landing = "soft_landing"  # soft-landing programme for foreign start-ups
    coworking = "coworking"
    network = "network"  # other French network (CCE, Alliance, swissnex-like)


class Stage(StrEnum):
    first_steps = "first_steps"
    exporting = "exporting"
    established = "established"  # already has a structure abroad


class Cost(Strict):
    """Indicative cost; a figure only when a source gives it."""

    text: Text
    monthly_eur: float | None = Field(default=None, ge=0)
    one_off_eur: float | None = Field(default=None, ge=0)
    level: Literal["free", "low", "medium", "high", "unknown"] = "unknown"


class Landing(Sourced):
    id: RecordId
    name: str
    kind: LandingKind
    country: RecordId
    city: RecordId | None = None
    sectors: list[RecordId] = []  # empty: all sectors
    stages: list[Stage] = []  # empty: any stage
    offers: Text
    cost: Cost | None = None
    french_network: bool = False
    url: HttpUrl
    contact: Contact | None = None
    status: Literal["active", "closed", "unverified"] = "active"


# --- VIE --------------------------------------------------------------------------------------


class VieRule(Sourced):
    """One general VIE rule (eligibility, duration, host structures, costs...)."""

    id: RecordId
    topic: Literal[
        "legal", "eligibility", "duration", "days_abroad", "hosting", "allowance", "costs",
        "tax", "regional", "two_volunteers", "other",
    ]
    title: Text
    text: Text
    conflict: bool = False  # sources disagree; the text says which figure the bot uses


class Allowance(Strict):
    """Monthly VIE allowance for one place, at the date of its scale."""

    place: Text  # e.g. "California", "Beijing", "whole country"
    geographic_eur: float = Field(gt=0)
    common_eur: float | None = Field(default=None, gt=0)  # None: use the general common part
    scale_date: dt.date
    city: RecordId | None = None


class VieCountry(Sourced):
    id: RecordId  # same as the country id
    country: RecordId
    allowances: list[Allowance] = []
    max_duration_months: int = Field(default=24, ge=6, le=24)
    visa: Text
    notes: list[Text] = []
    two_volunteers_alone: Literal["possible", "to_check", "not_possible"] = "to_check"
    two_volunteers_note: Text | None = None


class VieCosts(Sourced):
    """General cost figures used by the budget estimate."""

    common_eur: float = Field(gt=0)
    common_date: dt.date
    management_fee_eur_min: float = Field(gt=0)
    management_fee_eur_max: float = Field(gt=0)
    management_fee_date: dt.date
    management_fee_note: Text

    @model_validator(mode="after")
    def _range(self) -> VieCosts:
        if self.management_fee_eur_min > self.management_fee_eur_max:
            raise ValueError("management_fee_eur_min is above management_fee_eur_max")
        return self


# --- aid --------------------------------------------------------------------------------------


class CriterionField(StrEnum):
    """Profile fields a criterion can test; the dialog asks the first ones, not the last ones."""

    headcount = "headcount"
    turnover_eur = "turnover_eur"
    home_region = "home_region"
    sector = "sector"
    stage = "stage"
    country = "country"
    world_region = "world_region"
    vie_count = "vie_count"
    company_age_years = "company_age_years"  # not asked yet: always 'to check'
    export_share_pct = "export_share_pct"  # not asked yet: always 'to check'


class Criterion(Strict):
    """A machine-checkable eligibility condition, from a threshold a source gives."""

    field: CriterionField
    op: Literal["max", "min", "in", "not_in"]
    value: float | list[str]
    text: Text  # the condition as the user reads it, e.g. "turnover ≤ 500 M€"

    @model_validator(mode="after")
    def _shape(self) -> Criterion:
        numeric = self.op in ("max", "min")
        if numeric != isinstance(self.value, float | int):
            raise ValueError(f"op {self.op!r} needs a {'number' if numeric else 'list'} value")
        return self


class AidStatus(StrEnum):
    active = "active"
    closed = "closed"
    proposal = "proposal"  # proposed, never enacted


class Aid(Sourced):
    id: RecordId
    name: Text
    provider: str
    scope: Literal["national", "regional", "eu"]
    kind: Literal["insurance", "loan", "guarantee", "subsidy", "tax_credit", "support", "network"]
    status: AidStatus
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    summary: Text
    amount: Text | None = None
    covers_vie: bool = False  # can offset VIE costs
    covers_landing: bool = False  # can offset prospection / landing costs
    criteria: list[Criterion] = []
    conditions: list[Text] = []  # conditions only shown, never machine-checked
    url: HttpUrl
    contact: Contact | None = None

    @model_validator(mode="after")
    def _dates(self) -> Aid:
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_from is after valid_to")
        return self


class Meta(Strict):
    version: str
    updated: dt.date
    verification_horizon_months: int = Field(default=12, ge=1)
