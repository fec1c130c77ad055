"""Knowledge-base schema: one pydantic model per record kind, one JSON file per collection."""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

# --- bounds: what one record may hold (declared here only; knowledge/README.md lists them) ---
MAX_AMOUNT_EUR = 1_000_000_000
"""Every amount in euros, and every numeric criterion threshold, is finite, >= 0 and at most
this (the largest threshold shipped is 500 M€)."""
MAX_TEXT_CHARS = 3500  # one language of a Text: fits one Telegram message (4,096) with its heading
MAX_NAME_CHARS = 200  # a name, provider, alias, synonym, contact field, criterion value
MAX_CRITERIA = 20  # per aid scheme
MAX_CONDITIONS = 20  # per aid scheme
MAX_SOURCES = 10  # per record
MAX_ALLOWANCES = 20  # per VIE country
MAX_NOTES = 10  # per VIE country
MAX_WORDS = 50  # aliases, synonyms, a landing record's sectors and stages
MAX_VALUES = 250  # ids in one `in` / `not_in` criterion (every country fits)
MAX_HORIZON_MONTHS = 1200  # a century; far more would put the horizon before year 1

RecordId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
"""Stable ids: short, lowercase, safe in callback data (buttons carry ids, never titles)."""
Name = Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)]
Words = Annotated[list[Name], Field(max_length=MAX_WORDS)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT_EUR, allow_inf_nan=False)]
PositiveAmount = Annotated[float, Field(gt=0, le=MAX_AMOUNT_EUR, allow_inf_nan=False)]


class Strict(BaseModel):
    """Base for every record: unknown fields are errors, so typos surface at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages of the bot."""

    fr: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.fr


class Confidence(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"
    unverified = "unverified"


PAGE_DATE = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
PageDate = Annotated[str, StringConstraints(pattern=PAGE_DATE)]
"""A page's own date as precise as the page gives it: "2021", "2021-05" or "2021-05-04"."""


def page_date_start(value: str) -> dt.date:
    """The first day a page date can mean ("2021" is 1 January 2021): the conservative reading
    when judging freshness."""
    parts = [int(p) for p in value.split("-")]
    return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def horizon_start(today: dt.date, months: int) -> dt.date:
    """The day `months` before `today`: a fact dated before it is due for re-verification."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return dt.date(year, month + 1, min(today.day, 28))


COMPILED_NOTE = "verified date = when the fact sheet was compiled"
"""The words of the old placeholder: a day a fact sheet was compiled from archived copies, shown
as "verified" although nobody compared the fact with the page. Never a date of the new form."""


def legacy_source(data: dict[str, Any]) -> dict[str, Any]:
    """A source in the form used before `published` and `checked` (one `verified` date), read
    the way the migration of knowledge/ read it, so backups and pinned versions still load:
    - "… when the fact sheet was compiled": no date at all, so the source is `unverified`;
    - "undated page, read <day>": `checked` that day (a person read the page then);
    - a page's own date, at the precision the note gives ("year only", "month only"): `published`.
    """
    out = {k: v for k, v in data.items() if k != "verified"}
    day = str(data["verified"])
    note = str(data.get("note") or "")
    low = note.lower()
    if COMPILED_NOTE in low:
        out["confidence"] = Confidence.unverified.value
        out["note"] = (note.replace("verified date = when the fact sheet was compiled",
                                    "not yet compared with the page").strip())
    elif "undated page" in low and "read" in low:
        out["checked"] = day
    elif "year only" in low:
        out["published"] = day[:4]
    elif "month only" in low:
        out["published"] = day[:7]
    else:
        out["published"] = day
    return out


class Source(Strict):
    """Where a fact comes from, with dates that mean what they say: `published`, the page's own
    date (year or month precision allowed); `checked`, the day a person compared the fact with
    the page. A source with neither is `unverified`."""

    url: HttpUrl
    published: PageDate | None = None
    checked: dt.date | None = None
    confidence: Confidence = Confidence.medium
    note: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: object) -> object:
        if isinstance(data, dict) and "verified" in data and not (
                "published" in data or "checked" in data):
            return legacy_source(data)
        return data

    @field_validator("published")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value is not None:
            page_date_start(value)  # raises on 2021-02-30
        return value

    @model_validator(mode="after")
    def _dated_or_unverified(self) -> Source:
        if self.published is None and self.checked is None \
                and self.confidence is not Confidence.unverified:
            raise ValueError("a source with no page date (published) and no check (checked) is "
                             "confidence 'unverified'")
        return self

    @property
    def dated(self) -> dt.date | None:
        """How fresh the fact is as far as this source shows: the check if any, else the first
        day the page's own date can mean; None when neither is known."""
        if self.checked is not None:
            return self.checked
        return page_date_start(self.published) if self.published else None


class Sourced(Strict):
    """A record that shows facts: at least one source, each dated or marked unverified."""

    sources: list[Source] = Field(min_length=1, max_length=MAX_SOURCES)

    @property
    def source(self) -> Source:
        """The main source, shown beside the fact: the primary one whenever the record has one
        (`kb check` enforces it)."""
        return self.sources[0]

    @property
    def dated(self) -> dt.date | None:
        """How fresh the record is: its first source's check or page date (the others support
        it). None: never dated nor checked, so due for verification first."""
        return self.source.dated


# --- vocabulary -------------------------------------------------------------------------------


class Sector(Strict):
    id: RecordId
    name: Text
    synonyms: Words = []


class WorldRegion(Strict):
    id: RecordId
    name: Text


class Country(Strict):
    id: RecordId  # ISO 3166-1 alpha-2, lowercase
    iso2: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    name: Text
    world_region: RecordId
    aliases: Words = []
    eea: bool = False  # free movement for French volunteers: no work permit needed
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None  # ISO 4217


class City(Strict):
    id: RecordId
    country: RecordId
    name: Text
    aliases: Words = []
    hub_2013: bool = False  # one of the ten hubs of the 2013 proposal


class Contact(Strict):
    name: Name
    url: HttpUrl
    email: Name | None = None
    phone: Name | None = None


class FrenchRegion(Sourced):
    id: RecordId
    name: Text
    aliases: Words = []
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
    investment_agency = "investment_agency"  # a city's or country's agency receiving foreign firms
    coworking = "coworking"
    network = "network"  # other French network (CCE, Alliance, swissnex-like)


class Stage(StrEnum):
    first_steps = "first_steps"
    exporting = "exporting"
    established = "established"  # already has a structure abroad


class Cost(Strict):
    """Indicative cost; a figure only when a source gives it."""

    text: Text
    monthly_eur: Amount | None = None
    one_off_eur: Amount | None = None
    level: Literal["free", "low", "medium", "high", "unknown"] = "unknown"


class Audience(StrEnum):
    """Whom a landing structure serves, as its own texts and sources say."""

    foreign = "foreign"  # built for companies arriving from abroad (French ones included)
    any = "any"  # open to local and foreign companies alike
    local = "local"  # for the country's own founders: never offered as landing to a French SME


class Landing(Sourced):
    id: RecordId
    name: Name
    kind: LandingKind
    country: RecordId
    city: RecordId | None = None  # None: serves the whole country
    sectors: Annotated[list[RecordId], Field(max_length=MAX_WORDS)] = []  # empty: all sectors
    stages: Annotated[list[Stage], Field(max_length=MAX_WORDS)] = []  # empty: any stage
    offers: Text
    cost: Cost | None = None
    french_network: bool = False
    url: HttpUrl | None = None  # the organisation's own site; None when none is known
    contact: Contact | None = None
    status: Literal["active", "closed", "unverified"] = "active"
    audience: Audience = Audience.any
    # A French region's own office abroad: only for companies from these regions (and first).
    home_regions: Annotated[list[RecordId], Field(max_length=MAX_WORDS)] = []
    # Other countries a source says this office serves from where it is.
    covers: Annotated[list[RecordId], Field(max_length=MAX_WORDS)] = []


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
    geographic_eur: PositiveAmount
    common_eur: PositiveAmount | None = None  # None: use the general common part
    scale_date: dt.date
    city: RecordId | None = None  # the city of the knowledge base this place is
    # The place covers the whole country or its "other cities": the rate of a city the scale
    # does not list. Never inferred from the order of the list.
    rest_of_country: bool = False


class VieCountry(Sourced):
    id: RecordId  # same as the country id
    country: RecordId
    allowances: list[Allowance] = Field(default=[], max_length=MAX_ALLOWANCES)
    max_duration_months: int = Field(default=24, ge=6, le=24)
    visa: Text
    notes: list[Text] = Field(default=[], max_length=MAX_NOTES)
    # "general": nothing specific to this country is known, the general two-volunteers rule
    # answers; "conditions": possible, with a condition of this country (said in the note).
    two_volunteers_alone: Literal[
        "possible", "conditions", "general", "to_check", "not_possible"] = "general"
    two_volunteers_note: Text | None = None


class TypicalCost(Strict):
    """A yearly cost per VIE quoted by a source (e.g. Business France), for comparison only."""

    area: Text  # as the source words it, e.g. "in the USA"
    countries: list[RecordId] = Field(default=[], max_length=MAX_WORDS)
    world_regions: list[RecordId] = Field(default=[], max_length=MAX_WORDS)
    min_eur: PositiveAmount
    max_eur: PositiveAmount
    source_url: HttpUrl  # one of the sources of vie_costs: its date is the quote's
    note: Text  # what the source says the figure covers, or that it does not say

    def applies(self, country: str, world_region: str | None) -> bool:
        return country in self.countries or (world_region is not None
                                             and world_region in self.world_regions)


class VieCosts(Sourced):
    """General cost figures used by the budget estimate."""

    common_eur: PositiveAmount
    common_date: dt.date
    management_fee_eur_min: PositiveAmount
    management_fee_eur_max: PositiveAmount
    management_fee_date: dt.date
    management_fee_note: Text
    typical_year: list[TypicalCost] = Field(default=[], max_length=MAX_WORDS)

    @model_validator(mode="after")
    def _range(self) -> VieCosts:
        if self.management_fee_eur_min > self.management_fee_eur_max:
            raise ValueError("management_fee_eur_min is above management_fee_eur_max")
        urls = {str(s.url) for s in self.sources}
        for t in self.typical_year:
            if t.min_eur > t.max_eur:
                raise ValueError("typical_year: min_eur is above max_eur")
            if str(t.source_url) not in urls:
                raise ValueError(f"typical_year: {t.source_url} is not one of the sources")
        return self

    @property
    def fee_source(self) -> Source:
        """The source of the management-fee range: the one whose page date is the fee's date
        (at the page's precision), else the main source."""
        day = self.management_fee_date.isoformat()
        return next((s for s in self.sources if s.published and day.startswith(s.published)),
                    self.source)

    def source_of(self, typical: TypicalCost) -> Source:
        return next(s for s in self.sources if str(s.url) == str(typical.source_url))


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
    company_age_years = "company_age_years"  # asked only when a scheme that could apply needs it
    export_share_pct = "export_share_pct"  # not asked yet: always 'to check'
    territory = "territory"  # overseas territory, asked only for home region "outre-mer"
    large_contracts = "large_contracts"  # "yes" / "no": signs export contracts of millions
    budget_eur = "budget_eur"  # first-year budget: the typed amount, else the band
    vie_plan = "vie_plan"  # "yes", "maybe", "none"


NUMERIC_FIELDS = frozenset({
    CriterionField.headcount, CriterionField.turnover_eur, CriterionField.vie_count,
    CriterionField.company_age_years, CriterionField.export_share_pct, CriterionField.budget_eur,
})
"""Fields compared with a threshold (`max`, `min`); the others hold ids (`in`, `not_in`)."""


class Criterion(Strict):
    """A machine-checkable eligibility condition, from a threshold a source gives. The text the
    user reads is written from `field`, `op` and `value` (templates' `criterion_text`), so the rule
    and its text cannot drift; `note` adds context, e.g. "PM'up Relance"."""

    field: CriterionField
    op: Literal["max", "min", "in", "not_in"]
    value: float | list[str]
    note: Text | None = None
    # `budget_eur` only: the threshold is for the budget over up to this many years, while the
    # dialog asks for the first year's (Assurance Prospection: 30 000 € over 2 or 3 years).
    years: int | None = Field(default=None, ge=1, le=10)

    @model_validator(mode="before")
    @classmethod
    def _legacy_text(cls, data: object) -> object:
        # Bases written before the text was generated carry a `text`: accepted and ignored.
        if isinstance(data, dict) and "text" in data:
            data = {k: v for k, v in data.items() if k != "text"}
        return data

    @field_validator("value")
    @classmethod
    def _bounded(cls, value: float | list[str]) -> float | list[str]:
        if isinstance(value, list):
            if len(value) > MAX_VALUES:
                raise ValueError(f"at most {MAX_VALUES} values")
            if any(len(v) > MAX_NAME_CHARS for v in value):
                raise ValueError(f"a value longer than {MAX_NAME_CHARS} characters")
        elif not (math.isfinite(value) and 0 <= value <= MAX_AMOUNT_EUR):
            raise ValueError(f"a threshold is a finite number from 0 to {MAX_AMOUNT_EUR}")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Criterion:
        numeric = self.op in ("max", "min")
        if numeric != isinstance(self.value, float | int):
            raise ValueError(f"op {self.op!r} needs a {'number' if numeric else 'list'} value")
        if self.years is not None and self.field is not CriterionField.budget_eur:
            raise ValueError("years is only for a budget_eur criterion")
        return self


class ConditionKind(StrEnum):
    exclusion = "exclusion"  # could exclude the company: the scheme is at best "to confirm"
    note = "note"  # procedural (how to apply, what every applicant signs): never blocks ✅


class Condition(Text):
    """A condition the answers cannot decide, shown as text. A plain {"fr", "en"} is an
    exclusion (the safe reading); `decides`: one of the one or two shown first."""

    kind: ConditionKind = ConditionKind.exclusion
    decides: bool = False


class Need(StrEnum):
    """What a scheme serves, and what a project needs (bot/advice/needs.py derives these)."""

    prospection = "prospection"  # travel, trade fairs, market studies, export staff
    vie = "vie"  # the cost of a VIE
    office_abroad = "office_abroad"  # an office, subsidiary or hosting abroad
    advice = "advice"  # advice, mentoring, networks, partner search
    loan = "loan"  # a loan for the international development
    large_contracts = "large_contracts"  # financing export contracts of several million euros
    contract_risk = "contract_risk"  # a buyer's non-payment, a contract's interruption, bonds
    currency_risk = "currency_risk"  # invoicing in a currency other than the euro


Unsourced = Literal["name", "amount", "conditions"]


class AidStatus(StrEnum):
    active = "active"
    closed = "closed"
    proposal = "proposal"  # proposed, never enacted


class Aid(Sourced):
    id: RecordId
    name: Text
    provider: Name
    scope: Literal["national", "regional", "eu"]
    kind: Literal["insurance", "loan", "guarantee", "subsidy", "tax_credit", "support", "network"]
    status: AidStatus
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    summary: Text
    amount: Text | None = None
    covers_vie: bool = False  # can offset VIE costs
    covers_landing: bool = False  # can offset prospection / landing costs
    criteria: list[Criterion] = Field(default=[], max_length=MAX_CRITERIA)
    conditions: list[Condition] = Field(default=[], max_length=MAX_CONDITIONS)  # shown only
    selection: bool = False  # laureates chosen (cohort, call for projects): "on application"
    unsourced: Annotated[list[Unsourced], Field(max_length=3)] = []  # not offered as an aid
    needs: Annotated[list[Need], Field(max_length=len(Need))] = []  # empty: serves any project
    currencies: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]],
                          Field(max_length=MAX_VALUES)] = []  # ISO 4217, for a currency cover
    url: HttpUrl
    contact: Contact | None = None

    @model_validator(mode="after")
    def _dates(self) -> Aid:
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_from is after valid_to")
        return self


class Meta(Strict):
    version: Name
    updated: dt.date
    verification_horizon_months: int = Field(default=12, ge=1, le=MAX_HORIZON_MONTHS)


# --- source policy ----------------------------------------------------------------------------


class SourceClass(StrEnum):
    """How far a source's host can be trusted (knowledge/README.md, "Source policy")."""

    primary = "primary"  # the body that runs the scheme, the law, the organisation itself
    aggregator = "aggregator"  # lists of schemes, republications of legal texts
    press = "press"  # news sites, trade press, blogs of journalists
    weak = "weak"  # never a first source: dumps, personal pages, imitation or staging domains


class SourceHost(Strict):
    """One classified host; it covers its subdomains, and the longest matching host wins."""

    host: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$", max_length=200)]
    class_: SourceClass = Field(alias="class")
    kind: Name  # what the host is, e.g. "document dump", "regional council", "law"
    note: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourcePolicy(Strict):
    """The classified hosts (source_policy.json). A host not listed is the organisation's own
    site when a record links to it (`url`, `contact`), else unclassified."""

    hosts: list[SourceHost] = Field(default=[], max_length=5000)
    _table: dict[str, SourceHost] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._table = {h.host: h for h in self.hosts}

    @model_validator(mode="after")
    def _unique(self) -> SourcePolicy:
        seen: set[str] = set()
        for h in self.hosts:
            if h.host in seen:
                raise ValueError(f"host {h.host!r} is listed twice")
            seen.add(h.host)
        return self

    def classify(self, host: str) -> SourceHost | None:
        """The entry for `host` (or the nearest parent domain listed), else None."""
        table = self._table
        name = host.removeprefix("www.")
        while True:
            if name in table:
                return table[name]
            if "." not in name:
                return None
            name = name.split(".", 1)[1]

