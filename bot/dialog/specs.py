"""The questionnaire as data: one declarative spec per step.

A spec says the step's stable button code, its options (fixed ids, or a knowledge-base
collection), how a typed answer is read, what "I don't know" gives (if allowed), the answers it
clears when it changes, when it is asked, and its keyboard layout. Adding a question is adding
one spec here (and its texts in the templates).

Codes travel in the buttons of messages already in users' chats: a code is never changed nor
reused (tests/unit/test_specs.py pins them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bot.advice.relevance import deciding_fields
from bot.dialog import questions as q
from bot.dialog.matching import normalise
from bot.dialog.parsing import parse_age, parse_amount_exactness, parse_count, words_to_digits
from bot.dialog.profile import Profile, implies_no_large_contracts
from bot.dialog.vocabulary import NO_WORDS, YES_WORDS
from bot.kb.models import CriterionField
from bot.kb.snapshot import KnowledgeBase

UNKNOWN = q.UNKNOWN


@dataclass(frozen=True)
class Context:
    """What an option list, a parser or a condition may look at."""

    kb: KnowledgeBase
    answers: Mapping[str, str]
    today: dt.date

    @cached_property
    def profile(self) -> Profile:
        return Profile.from_answers(self.answers)


@dataclass(frozen=True)
class Parsed:
    """A typed answer read by a step's parser; `sure` False: the user confirms it first."""

    option: str
    sure: bool = True
    beside: Mapping[str, str] = field(default_factory=dict)  # stored with it (budget_amount)
    then: Mapping[str, str] = field(default_factory=dict)  # answers to the steps that follow


Parser = Callable[[str, Context], "Parsed | None"]
Condition = Callable[[Context], bool]


@dataclass(frozen=True)
class Fixed:
    """Options with fixed ids, labelled by the templates' key `opt.<step>.<id>`. `buttons`, when
    given, are shown instead: each answers this step and the next ones in one tap (button id ->
    the answers it gives); the ids stay valid answers (buttons already in chats, typed words)."""

    ids: tuple[str, ...]
    buttons: Mapping[str, Parsed] | None = None


def _no_aliases(_: Any) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Records:
    """Options from a knowledge-base collection (records with an id and a name), with the
    other names a typed answer may use."""

    records: Callable[[Context], Iterable[Any]]
    aliases: Callable[[Any], Iterable[str]] = _no_aliases


@dataclass(frozen=True)
class StepSpec:
    name: str
    code: str  # stable button code: never changed, never reused
    options: Fixed | Records
    # The question this step belongs to (recap row, progress); a step that opens a question
    # gives its stable recap code.
    question: str = ""
    question_code: str | None = None
    parse: Parser | None = None  # typed answers read before matching the options' names
    unknown: str | None = UNKNOWN  # what "I don't know" gives; None: not allowed
    clears: tuple[str, ...] = ()  # answers dropped when this one changes
    keeps: tuple[str, ...] = ()  # answers its parser stores beside it; dropped when re-answered
    # When it is asked (on the other answers); None: always. For an optional question: only
    # when its answer can change this profile's plan.
    asked: Condition | None = None
    columns: int = 2
    place: bool = False  # a destination typed at any level: world region, country or city

    @property
    def topic(self) -> str:
        return self.question or self.name

    @property
    def unknown_button(self) -> bool:
        """The "I don't know" button: its own option, unless an option already says it."""
        return self.unknown == UNKNOWN


# --- parsers --------------------------------------------------------------------------------


def band_for(bands: tuple[q.Band, ...], value: float) -> q.Band | None:
    """The band a value falls in (bands in ascending order); between two bands' bounds
    (0.995 years), the lower one."""
    found = [b for b in bands if b.low is None or value >= b.low]
    return found[-1] if found else None


def count_band(step: str) -> Parser:
    def parse(text: str, _: Context) -> Parsed | None:
        count = parse_count(text)
        found = None if count is None else band_for(q.BANDS[step], count)
        return Parsed(found.id) if found else None
    return parse


def amount_text(amount: float) -> str:
    """An amount as stored in the answers: a decimal string of euros ("30000", "1500.5")."""
    return f"{amount:.2f}".rstrip("0").rstrip(".")


def amount_band(step: str, keep: str | None = None) -> Parser:
    """An amount read into its band; `keep`: the answer key that also stores the exact amount
    typed (not a bound such as "less than 20k")."""
    def parse(text: str, _: Context) -> Parsed | None:
        found = parse_amount_exactness(text)
        if found is None:
            return None
        amount, exact = found
        chosen = band_for(q.BANDS[step], amount)
        if chosen is None:
            return None
        beside = {keep: amount_text(amount)} if keep and exact else {}
        return Parsed(chosen.id, beside=beside)
    return parse


def company_age(text: str, ctx: Context) -> Parsed | None:
    """"2 ans", "18 mois", "créée en 2019": sure when the whole possible range is one band."""
    found = parse_age(text, ctx.today)
    if found is None:
        return None
    youngest, oldest = found
    low, high = band_for(q.COMPANY_AGE, youngest), band_for(q.COMPANY_AGE, oldest)
    middle = band_for(q.COMPANY_AGE, (youngest + oldest) / 2)
    return Parsed(middle.id, sure=low == high) if middle else None


def yes_no(text: str, _: Context) -> Parsed | None:
    norm = normalise(text)
    return Parsed("yes") if norm in YES_WORDS else Parsed("no") if norm in NO_WORDS else None


_VOLUNTEERS = re.compile(r"(?:(?:oui|yes|yep|ouais)(?: |, ?)?)?(\d{1,3})"
                         r"(?: (?:vie|volontaires?|volunteers?))?")


def vie_plan(text: str, _: Context) -> Parsed | None:
    """"2 VIE", "oui, deux": yes, and how many, in one answer."""
    found = _VOLUNTEERS.fullmatch(words_to_digits(normalise(text)))
    if not found or int(found.group(1)) < 1:
        return None
    return Parsed("yes", then={"vie_count": str(min(int(found.group(1)), 4))})


def volunteers(text: str, _: Context) -> Parsed | None:
    count = parse_count(text)
    return Parsed(str(min(count, 4))) if count is not None and count >= 1 else None


# --- conditions -----------------------------------------------------------------------------


def has_cities(ctx: Context) -> bool:
    return bool(ctx.kb.cities_in(ctx.answers.get("target_country", UNKNOWN)))


def plans_vie(ctx: Context) -> bool:
    return ctx.answers.get("vie") == "yes"


def overseas(ctx: Context) -> bool:
    return ctx.answers.get("home_region") == q.OVERSEAS


def decides(criterion: CriterionField) -> Condition:
    """Asked when a scheme still open to the profile depends on this criterion field."""
    def condition(ctx: Context) -> bool:
        return criterion in deciding_fields(ctx.profile, ctx.kb)
    return condition


def may_sign_large_contracts(ctx: Context) -> bool:
    """From a turnover of 10 M€ (q.LARGE_CONTRACT_QUESTION_TURNOVER), unless other answers imply
    "no" (first steps abroad), and only when a scheme still open depends on it."""
    turnover = ctx.profile.turnover
    if turnover is None or turnover.low is None \
            or turnover.low < q.LARGE_CONTRACT_QUESTION_TURNOVER \
            or implies_no_large_contracts(ctx.answers, turnover):
        return False
    return decides(CriterionField.large_contracts)(ctx)


# --- the questionnaire ----------------------------------------------------------------------


def _bands(step: str) -> Fixed:
    return Fixed(tuple(b.id for b in q.BANDS[step]))


SPECS: tuple[StepSpec, ...] = (
    StepSpec("sector", "s0", Records(lambda c: c.kb.sectors.values(), lambda r: r.synonyms),
             question_code="q0"),
    StepSpec("target_region", "s1", Records(lambda c: c.kb.world_regions.values()),
             question="target", question_code="q1", unknown=None,
             clears=("target_country", "target_city"), place=True),
    StepSpec("target_country", "s2",
             Records(lambda c: c.kb.countries_in(c.answers.get("target_region", ""))),
             question="target", clears=("target_city",), place=True),
    StepSpec("target_city", "s3",
             Records(lambda c: c.kb.cities_in(c.answers.get("target_country", ""))),
             question="target", asked=has_cities, place=True),
    StepSpec("headcount", "s4", _bands("headcount"), question_code="q2",
             parse=count_band("headcount")),
    StepSpec("turnover", "s5", _bands("turnover"), question_code="q3",
             parse=amount_band("turnover")),
    StepSpec("home_region", "s6",
             Records(lambda c: c.kb.french_regions.values(), lambda r: r.aliases),
             question_code="q4", clears=("territory",)),
    StepSpec("territory", "s11", Fixed(q.TERRITORIES), question_code="q8", asked=overseas),
    StepSpec("stage", "s7", Fixed(q.STAGES), question_code="q5"),
    # "Yes, 2" in one tap; a "Yes" button from before (s8:yes) still asks how many.
    StepSpec("vie", "s8", Fixed(q.VIE_PLANS, buttons={
        "none": Parsed("none"), "maybe": Parsed("maybe"),
        **{f"yes{n}": Parsed("yes", then={"vie_count": n}) for n in q.VIE_COUNTS}}),
        question_code="q6", parse=vie_plan, unknown="maybe", clears=("vie_count",)),
    StepSpec("vie_count", "s9", Fixed(q.VIE_COUNTS), question="vie", parse=volunteers,
             unknown=None, asked=plans_vie, columns=4),
    StepSpec("budget", "s10", _bands("budget"), question_code="q7",
             parse=amount_band("budget", keep="budget_amount"), keeps=("budget_amount",)),
    # Last: every other answer may already rule them out (asked only when they decide a scheme).
    StepSpec("company_age", "s12", _bands("company_age"), question_code="q9",
             parse=company_age, asked=decides(CriterionField.company_age_years)),
    StepSpec("large_contracts", "s13", Fixed(q.YES_NO), question_code="q10", parse=yes_no,
             asked=may_sign_large_contracts, columns=3),
)

SPEC: dict[str, StepSpec] = {s.name: s for s in SPECS}
STEPS: tuple[str, ...] = tuple(SPEC)
FIRST_STEP = STEPS[0]
# Questions (recap rows, progress) in the order they are asked, with their recap codes.
QUESTIONS: tuple[str, ...] = tuple(s.topic for s in SPECS if s.question_code)
QUESTION_CODES: dict[str, str] = {s.topic: s.question_code for s in SPECS if s.question_code}
FIRST_STEP_OF_QUESTION: dict[str, str] = {s.topic: s.name for s in SPECS if s.question_code}
STEP_CODES: dict[str, str] = {s.name: s.code for s in SPECS}


def question_of(step: str) -> str:
    spec = SPEC.get(step)
    return spec.topic if spec else step


def _check(specs: tuple[StepSpec, ...]) -> None:
    """Codes are unique, every question has one recap code and its steps follow each other."""
    for what, values in (("step", [s.name for s in specs]), ("code", [s.code for s in specs]),
                         ("question code", [s.question_code for s in specs if s.question_code])):
        if len(set(values)) != len(values):
            raise ValueError(f"duplicate {what} in the dialog specs")
    topics = [s.topic for s in specs]
    for topic in set(topics):
        first = topics.index(topic)
        count = topics.count(topic)
        if topics[first:first + count] != [topic] * count or not specs[first].question_code:
            raise ValueError(f"the steps of question {topic!r} must follow its first step")


_check(SPECS)

