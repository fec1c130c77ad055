"""The budget adds up: every formula a plan shows equals the total it shows, over the shipped base.

The grid covers every country and city of the base, no / maybe / 1 to 4 VIE, typed amounts and
tapped bands, and both stages; the French and English plans are rendered by the real views and
every displayed formula is parsed back and recomputed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from bot.advice.engine import Advice, advise
from bot.advice.vie import find_allowance, whole_eur
from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.dialog.profile import Profile
from bot.dialog.questions import BUDGET
from bot.handlers.views import Views
from bot.kb.models import Allowance, VieCountry
from bot.kb.snapshot import KnowledgeBase
from bot.plan.model import SECTIONS
from bot.render.templates import Renderer, format_eur
from tests.conftest import TODAY
from tests.e2e.fake_api import parse_html

BASE = {"sector": "saas", "headcount": "h10_49", "turnover": "t1_10m",
        "home_region": "auvergne-rhone-alpes"}
TYPED = (5_000, 30_000, 75_000, 140_000, 600_000)
REGIONS = ("auvergne-rhone-alpes", "ile-de-france", "bretagne", "occitanie")

_AMOUNT = {"fr": r"\d{1,3}(?:\u202f\d{3})*\u00a0€", "en": r"€\d{1,3}(?:,\d{3})*"}
_RANGE = {"fr": "à", "en": "to"}


def _value(token: str) -> int:
    return int(re.sub(r"[^\d]", "", token))


def _tokens(expression: str, locale: str) -> list[str]:
    """Amounts, bare integers, operators, brackets and range words; other words dropped."""
    pattern = rf"({_AMOUNT[locale]}|\d+|[×+−()]|\b{_RANGE[locale]}\b)"
    tokens: list[str] = []
    for token in re.findall(pattern, expression):
        if token == ")" and tokens and tokens[-1] == "(":
            tokens.pop()  # brackets around words only, e.g. "(San Francisco)"
        else:
            tokens.append(token)
    return tokens


def _pick(tokens: list[str], locale: str, high: bool) -> list[str]:
    """One end of every "A to B" range: the low ends, or the high ones."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1] == _RANGE[locale]:
            out.append(tokens[i + 2] if high else tokens[i])
            i += 3
        else:
            out.append(tokens[i])
            i += 1
    return out


def _evaluate(tokens: list[str]) -> int:
    position = 0

    def expr() -> int:
        nonlocal position
        value = term()
        while position < len(tokens) and tokens[position] in "+−":
            op = tokens[position]
            position += 1
            value = value + term() if op == "+" else value - term()
        return value

    def term() -> int:
        nonlocal position
        value = factor()
        while position < len(tokens) and tokens[position] == "×":
            position += 1
            value *= factor()
        return value

    def factor() -> int:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            value = expr()
            assert tokens[position] == ")", tokens
            position += 1
            return value
        return _value(token)

    result = expr()
    assert position == len(tokens), tokens
    return result


def formulas(text: str, locale: str) -> Iterator[tuple[str, int, int, int, int]]:
    """(line, computed low, computed high, shown low, shown high) for every "• … = …" line."""
    for line in text.splitlines():
        if not line.startswith("•") or " = " not in line:
            continue
        left, _, right = line.partition(" = ")
        left = re.split(r" ?: ", left)[-1]
        tokens = _tokens(left, locale)
        low, high = (_evaluate(_pick(tokens, locale, h)) for h in (False, True))
        shown = re.match(rf"\s*({_AMOUNT[locale]})(?:\s+{_RANGE[locale]}\s+({_AMOUNT[locale]}))?",
                         right)
        assert shown, line
        shown_low = _value(shown.group(1))
        shown_high = _value(shown.group(2)) if shown.group(2) else shown_low
        yield line, low, high, shown_low, shown_high


def answers_grid(kb: KnowledgeBase) -> Iterator[dict[str, str]]:
    budgets: list[dict[str, str]] = [{"budget": b.id} for b in BUDGET] + [{"budget": "unknown"}]
    for amount in TYPED:
        band = next(b for b in BUDGET if b.contains(amount))
        budgets.append({"budget": band.id, "budget_amount": str(amount)})
    vies = [{"vie": "none"}, {"vie": "maybe"}] + [{"vie": "yes", "vie_count": str(n)}
                                                   for n in range(1, 5)]
    countries = sorted(kb.countries)
    n = 0
    for country in countries:
        cities = [c.id for c in kb.cities.values() if c.country == country] + [""]
        for city, vie in itertools.product(cities, vies):
            # Four budgets per place and plan, cycling through all of them: every country sees
            # typed and tapped budgets with every VIE plan, at a fraction of the full product.
            for _ in range(4):
                n += 1
                budget = budgets[n % len(budgets)]
                stage = ("first_steps", "established")[(n // len(budgets)) % 2]
                yield {**BASE, "target_region": kb.countries[country].world_region,
                       "target_country": country, "target_city": city, "stage": stage,
                       "home_region": REGIONS[n % len(REGIONS)], **vie, **budget}


def sections(kb: KnowledgeBase, renderer: Renderer, locale: str,
             answers: dict[str, str]) -> tuple[Advice, str, str]:
    """The advice and the plain text of the rendered VIE and budget sections."""
    dialog = Dialog(kb, renderer.labels)
    state = DialogState("d1", kb.version, step="done", answers=answers)
    views = Views(bot=None, renderer=renderer, clock=FixedClock.on(TODAY))  # type: ignore[arg-type]
    plan = views.plan_of(dialog, state)
    advice = plan.advice
    names = views.plan_names(dialog, locale, answers)
    # each section as its layout words it (before Telegram's cut): VIE carries the budget
    text = parse_html("\n".join(views.plan_text.section(plan, key, kb, locale, names)
                                for key in SECTIONS)).text
    vie_title = "Le VIE pour votre projet" if locale == "fr" else "The VIE for your project"
    budget_title = ("Budget de la première année" if locale == "fr"
                    else "First-year budget")
    aid_title = "💶"
    start, middle = text.index(vie_title), text.index(budget_title)
    vie = text[start:min(text.index(aid_title, start), middle)]  # the budget follows the VIE
    end = text.find("📞", middle)
    return advice, vie, text[middle:end if end > 0 else None]


FIT_PHRASES = {
    "fr": {"above": "Au-dessus de votre budget :", "partly": "Peut dépasser votre budget :",
           "within": "Dans votre budget :"},
    "en": {"above": "Above your budget:", "partly": "May exceed your budget:",
           "within": "Within your budget:"},
}
SCENARIO = {"fr": "Scénario : avec un VIE", "en": "Scenario: with one VIE"}


def rendered(kb: KnowledgeBase, renderer: Renderer, locale: str,
             advice: Advice) -> tuple[str, str]:
    """The VIE and budget sections alone, rendered as the views render them (faster than the
    whole plan, for the grid)."""
    context = {"a": advice, "kb": kb, "today": TODAY, "target": "-", "sector": "-"}
    vie, budget = (parse_html(renderer.render(locale, name, **context)).text
                   for name in ("plan_vie", "plan_budget"))
    return vie, budget


@pytest.mark.parametrize("locale", ("fr", "en"))
def test_every_displayed_formula_equals_its_total(kb: KnowledgeBase, renderer: Renderer,
                                                  locale: str) -> None:
    checked = fits = scenarios = 0
    for answers in answers_grid(kb):
        advice = advise(Profile.from_answers(answers), kb, TODAY)
        vie, budget = rendered(kb, renderer, locale, advice)
        for text in (vie, budget):
            for line, low, high, shown_low, shown_high in formulas(text, locale):
                assert (low, high) == (shown_low, shown_high), (answers, line)
                checked += 1
        zero = format_eur(0, locale)
        assert f"{zero} {_RANGE[locale]} {zero}" not in budget, answers
        if answers["vie"] == "maybe":
            assert SCENARIO[locale] in budget, answers
            scenarios += 1
        amount = answers.get("budget_amount")
        totals = [t for t in (advice.budget.total, advice.budget.scenario_total) if t]
        if amount is None:
            # A tapped band is never compared as if it were an amount.
            assert not any(p in budget for p in FIT_PHRASES[locale].values()), answers
            continue
        for total in totals:
            value = int(amount)
            kind = ("above" if total.total.low > value else
                    "partly" if total.total.high > value else "within")
            fit_lines = [ln for ln in budget.splitlines()
                         if ln.startswith("• " + FIT_PHRASES[locale][kind])]
            assert fit_lines, (answers, kind, budget)
            assert all(format_eur(value, locale) in ln for ln in fit_lines), (answers, fit_lines)
            fits += 1
    assert checked > 1000 and fits > 100 and scenarios > 50  # the grid really exercised them


def test_the_typed_amount_is_what_the_budget_is_compared_with(kb: KnowledgeBase) -> None:
    # "30k" typed lands in the 20-50 k€ band; a total above 30 000 € is above the budget even
    # though it is inside the band.
    answers = {**BASE, "target_region": "europe", "target_country": "de",
               "target_city": "berlin", "stage": "first_steps", "vie": "yes", "vie_count": "1",
               "budget": "b20_50k"}
    tapped = advise(Profile.from_answers(answers), kb, TODAY).budget
    typed = advise(Profile.from_answers({**answers, "budget_amount": "20000"}), kb, TODAY).budget
    assert tapped.total is not None and typed.total is not None
    assert 20_000 < tapped.total.total.low <= 50_000
    assert tapped.fit == "within" and tapped.user_amount is None
    assert typed.fit == "above" and typed.user_amount == 20_000
    assert typed.total.fit.gap == typed.total.total.low - 20_000


def test_a_us_city_the_scale_does_not_list_gets_no_other_places_rate(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    us = kb.vie_countries["us"]
    listed = {a.city for a in us.allowances}
    unlisted = [c.id for c in kb.cities.values() if c.country == "us" and c.id not in listed]
    assert unlisted  # e.g. Austin, New York
    rates = {format_eur(whole_eur(a.geographic_eur), "fr") for a in us.allowances}
    for city in [*unlisted, ""]:
        answers = {**BASE, "target_region": "north_america", "target_country": "us",
                   "target_city": city, "stage": "first_steps", "vie": "yes",
                   "vie_count": "2", "budget": "b50_150k"}
        advice, vie, budget = sections(kb, renderer, "fr", answers)
        assert advice.vie.allowance is None and advice.vie.allowance_how == "unlisted"
        assert advice.budget.vie is None and advice.budget.total is None
        assert not any(rate in vie + budget for rate in rates), city
        assert "ne liste que" in vie and "ne liste que" in budget
        assert "Pas de total" in budget


def test_the_allowance_is_the_citys_else_the_rest_of_the_country() -> None:
    def allowance(place: str, eur: float, city: str | None = None,
                  rest: bool = False) -> Allowance:
        return Allowance(place={"fr": place, "en": place}, geographic_eur=eur,
                         scale_date="2021-05-04", city=city, rest_of_country=rest)

    text = {"fr": "x", "en": "x"}
    source = [{"url": "https://example.org/", "verified": "2021-05-04"}]
    # The first entry is another place: never taken for a city the scale does not list.
    country = VieCountry(id="zz", country="zz", visa=text, sources=source, allowances=[
        allowance("Capital", 3000, city="capital"), allowance("Other cities", 2000, rest=True)])
    assert find_allowance(country, "capital") == (country.allowances[0], "city")
    assert find_allowance(country, "port") == (country.allowances[1], "rest")
    assert find_allowance(country, None) == (country.allowances[1], "country")
    only_places = VieCountry(id="zz", country="zz", visa=text, sources=source,
                             allowances=[allowance("Capital", 3000, city="capital")])
    assert find_allowance(only_places, "port") == (None, "unlisted")
    assert find_allowance(None, "port") == (None, "no_scale")


def test_maybe_is_a_scenario_not_a_planned_volunteer(kb: KnowledgeBase) -> None:
    answers = {**BASE, "target_region": "europe", "target_country": "es",
               "target_city": "madrid", "stage": "first_steps", "vie": "maybe",
               "budget": "b20_50k", "budget_amount": "25000"}
    budget = advise(Profile.from_answers(answers), kb, TODAY).budget
    assert budget.vie is None and budget.vie_count == 0
    assert budget.total is None  # nothing else priced in Madrid: no "0 € to 0 €" total
    assert budget.scenario is not None and budget.scenario.count == 1
    assert budget.scenario_total is not None
    assert budget.scenario_total.total == budget.scenario.cost


def test_no_vie_and_nothing_priced_gives_no_total(kb: KnowledgeBase, renderer: Renderer) -> None:
    answers = {**BASE, "target_region": "north_america", "target_country": "us",
               "target_city": "boston", "stage": "first_steps", "vie": "none",
               "budget": "b0_20k"}
    advice, _, budget = sections(kb, renderer, "fr", answers)
    assert advice.budget.total is None
    assert "Total estimé" not in budget and "Pas de total" in budget


def test_a_per_vie_cost_outside_business_frances_range_says_why(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    answers = {**BASE, "target_region": "north_america", "target_country": "us",
               "target_city": "san-francisco", "stage": "first_steps", "vie": "yes",
               "vie_count": "1", "budget": "b50_150k"}
    advice, _, budget = sections(kb, renderer, "fr", answers)
    line = advice.budget.vie
    assert line is not None and line.typical is not None and line.departs
    assert line.per_vie_year.low > line.typical.max_eur
    assert "Pourquoi l'écart" in budget and format_eur(line.typical.max_eur, "fr") in budget


def test_over_budget_names_the_gap_and_the_levers(kb: KnowledgeBase, renderer: Renderer) -> None:
    answers = {**BASE, "target_region": "north_america", "target_country": "us",
               "target_city": "san-francisco", "stage": "first_steps", "vie": "yes",
               "vie_count": "2", "budget": "b20_50k", "budget_amount": "30000"}
    advice, _, budget = sections(kb, renderer, "fr", answers)
    b = advice.budget
    assert b.total is not None and b.total.fit.kind == "above"
    assert {r.id for r in b.levers} == {"hosting-shared", "hosting-portage"}
    assert b.offsets and all(v.eligibility.value in ("eligible", "to_check", "on_application")
                             for v in b.offsets)
    lever_line = next(ln for ln in budget.splitlines() if ln.startswith("Pour réduire l'écart"))
    for name in ("VIE à temps partagé", "Portage de VIE", "Assurance Prospection"):
        assert name in lever_line


def test_vie_cost_aid_only_when_a_vie_is_considered(kb: KnowledgeBase) -> None:
    answers = {**BASE, "target_region": "europe", "target_country": "de",
               "target_city": "berlin", "stage": "first_steps", "budget": "b20_50k"}
    for vie, considered in (({"vie": "none"}, False), ({"vie": "maybe"}, True),
                            ({"vie": "yes", "vie_count": "1"}, True)):
        offsets = advise(Profile.from_answers({**answers, **vie}), kb, TODAY).budget.offsets
        vie_only = [v for v in offsets if v.aid.covers_vie and not v.aid.covers_landing]
        assert bool(vie_only) == considered, vie


def test_two_vie_is_answered_where_the_rules_answer_it(kb: KnowledgeBase,
                                                       renderer: Renderer) -> None:
    rule = next(r for r in kb.vie_rules.values() if r.topic == "two_volunteers")
    assert "2013" not in rule.text.fr.split("Historique")[0]  # history is one line, at the end
    for country, record in kb.vie_countries.items():
        # The general rule answers the question: no country value may fall back on "to check".
        assert record.two_volunteers_alone != "to_check", country
        answers = {**BASE, "target_region": kb.countries[country].world_region,
                   "target_country": country, "target_city": "", "stage": "first_steps",
                   "vie": "yes", "vie_count": "2", "budget": "b50_150k"}
        for locale in ("fr", "en"):
            _, vie, _ = sections(kb, renderer, locale, answers)
            answer = vie[vie.index("Deux VIE" if locale == "fr" else "Two VIE"):]
            assert rule.text.fr[:40] in answer if locale == "fr" else rule.text.en[:40] in answer
            assert renderer.label(locale, "two.to_check") not in answer, (country, locale)
            assert "À vérifier auprès" not in answer and "To check with" not in answer
