"""No ✅ beside a condition the answers contradict, the evaluators one by one, and the criterion
texts the templates write from field, operator and value (both languages)."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.advice.eligibility import EVALUATORS, Eligibility, Verdict, judge, judge_criterion
from bot.dialog.profile import Profile
from bot.kb.models import Aid, AidStatus, Criterion, CriterionField
from bot.kb.snapshot import KnowledgeBase
from bot.render.templates import Renderer
from tests.conftest import TODAY

# --- what a scheme's own text says, read with patterns ------------------------------------------

Contradicts = Callable[[Profile], bool]
TERRITORY_NAMES = {"La Réunion": "reunion", "Martinique": "martinique",
                   "Guadeloupe": "guadeloupe", "Mayotte": "mayotte", "Guyane": "guyane"}


def _number(text: str) -> float:
    return float(re.sub(r"[\s\u202f\u00a0]", "", text))


def _reads(aid: Aid) -> str:
    parts = [aid.name.fr, aid.summary.fr, aid.amount.fr if aid.amount else ""]
    notes = [c.note.fr for c in aid.criteria if c.note]
    return " ".join([*parts, *notes, *(c.fr for c in aid.conditions)])


def _budget_below(profile: Profile, amount: float) -> bool:
    if profile.budget_eur is not None:
        return profile.budget_eur < amount
    return profile.budget is not None and profile.budget.high is not None \
        and profile.budget.high < amount


def contradictions(aid: Aid) -> list[tuple[str, Contradicts]]:
    """(what the text says, which profiles it excludes or leaves undecided) for each decidable
    pattern in the scheme's name, summary, amount and conditions."""
    text = _reads(aid)
    out: list[tuple[str, Contradicts]] = []
    for m in re.finditer(r"budget minimum (\d[\d\s\u202f\u00a0]*) €", text):
        amount = _number(m.group(1))
        out.append((m.group(0), lambda p, a=amount: _budget_below(p, a)))
    for name, tid in TERRITORY_NAMES.items():
        if re.search(rf"Réservé aux entreprises de {name}|\({name}\)", text):
            out.append((f"reserved to {name}",
                        lambda p, t=tid: p.home_region != "outre-mer" or p.territory != t))
    if re.search(r"sélectionn|appels? à projets|promotion|lauréat", text, re.IGNORECASE):
        out.append(("selection", lambda p: True))  # a selection is never ✅ for anyone
    for m in re.finditer(r"plus de (\d+) ans|au moins (\d+) an|bilan de 12 mois", text):
        years = float(m.group(1) or m.group(2) or 1)
        out.append((m.group(0), lambda p, y=years: p.company_age is None
                    or (p.company_age.high is not None and p.company_age.high < y)))
    for m in re.finditer(r"moins de (\d+) salariés", text):
        limit = float(m.group(1))
        out.append((m.group(0), lambda p, n=limit: p.headcount is None
                    or p.headcount.high is None or p.headcount.high >= n))
    if re.search(r"\bVIE\b", aid.name.fr) and not aid.covers_landing:
        out.append(("VIE only", lambda p: p.vie != "yes"))
    if re.search(r"non trouvé|n'ont pas été (re)?trouvé|à vérifier", text):
        out.append(("something unsourced or to check", lambda p: True))
    return out


def profiles_for(aid: Aid) -> list[Profile]:
    """A grid of contrasting profiles in the scheme's own region (and one unknown region)."""
    regions = next((c.value for c in aid.criteria if c.field is CriterionField.home_region
                    and isinstance(c.value, list)), ["ile-de-france"])
    grid = itertools.product(
        [*regions, "unknown"], ["h0_9", "h50_249", "h250", "unknown"], ["t0_1m", "t10_50m"],
        ["reunion", "martinique", "unknown"], ["a0_1", "a1_3", "a3", "unknown"],
        [("b0_20k", "15000"), ("b150k", ""), ("unknown", "")], ["none", "maybe", "yes"],
        ["yes", "no", "unknown"])
    out = []
    for region, head, turn, terr, age, (budget, amount), vie, large in grid:
        out.append(Profile.from_answers({
            "home_region": region, "headcount": head, "turnover": turn, "territory": terr,
            "company_age": age, "budget": budget, "budget_amount": amount, "vie": vie,
            "vie_count": "1", "large_contracts": large, "sector": "saas",
            "target_country": "us", "stage": "first_steps"}))
    return out


def test_the_patterns_find_what_the_shipped_schemes_say(kb: KnowledgeBase) -> None:
    """The scan below is not vacuous: it reads the conditions the issue names."""
    said = {aid.id: {what for what, _ in contradictions(aid)} for aid in kb.aid.values()}
    assert "budget minimum 30 000 €" in said["assurance-prospection"]
    assert "bilan de 12 mois" in said["assurance-prospection"]
    assert "reserved to La Réunion" in said["reunion-primexport"]
    assert "reserved to Martinique" in said["martinique-dev-international"]
    assert "selection" in said["french-tech-2030"] and "selection" in said["idf-pmup"]
    assert "plus de 3 ans" in said["pret-croissance-international"] or any(
        c.field is CriterionField.company_age_years for c in
        kb.aid["pret-croissance-international"].criteria)
    assert "VIE only" in said["aura-vie"] and "VIE only" in said["reunion-vie"]
    assert "something unsourced or to check" in said["hdf-vie-support"]


def test_no_eligible_verdict_beside_a_condition_the_answers_contradict(
        kb: KnowledgeBase) -> None:
    checked = 0
    for aid in kb.aid.values():
        if aid.status is not AidStatus.active:
            continue
        rules = contradictions(aid)
        for profile in profiles_for(aid):
            verdict = judge(aid, profile, TODAY)
            if verdict.eligibility is not Eligibility.eligible:
                continue
            checked += 1
            for what, contradicted in rules:
                assert not contradicted(profile), (aid.id, what, profile)
            # ✅ also means: nothing left that could exclude the company.
            assert not verdict.open_conditions, aid.id
    assert checked  # some ✅ remain (the open networks), so the assertion above ran


def test_every_exclusion_condition_keeps_a_scheme_from_eligible(kb: KnowledgeBase) -> None:
    for aid in kb.aid.values():
        if any(c.kind.value == "exclusion" for c in aid.conditions):
            for profile in profiles_for(aid)[:50]:
                assert judge(aid, profile, TODAY).eligibility is not Eligibility.eligible


# --- the evaluators, one per field ---------------------------------------------------------------


def crit(field: str, op: str, value: Any) -> Criterion:
    return Criterion.model_validate({"field": field, "op": op, "value": value})


def test_every_criterion_field_has_one_evaluator() -> None:
    assert set(EVALUATORS) == set(CriterionField)


@pytest.mark.parametrize(("criterion", "answers", "verdict", "answer"), [
    # budget: the typed amount when given, else the band
    (crit("budget_eur", "min", 30000), {"budget": "b20_50k", "budget_amount": "29999"},
     Verdict.failed, 29999.0),
    (crit("budget_eur", "min", 30000), {"budget": "b20_50k", "budget_amount": "30000"},
     Verdict.passed, 30000.0),
    (crit("budget_eur", "min", 30000), {"budget": "b20_50k"}, Verdict.unknown, "b20_50k"),
    (crit("budget_eur", "min", 30000), {"budget": "b0_20k"}, Verdict.failed, "b0_20k"),
    (crit("budget_eur", "min", 30000), {"budget": "b50_150k"}, Verdict.passed, "b50_150k"),
    (crit("budget_eur", "min", 30000), {"budget": "unknown"}, Verdict.unknown, None),
    # VIE plan: "maybe" and unknown never decide a VIE-only scheme
    (crit("vie_plan", "in", ["yes"]), {"vie": "yes", "vie_count": "1"}, Verdict.passed, "yes"),
    (crit("vie_plan", "in", ["yes"]), {"vie": "none"}, Verdict.failed, "none"),
    (crit("vie_plan", "in", ["yes"]), {"vie": "maybe"}, Verdict.unknown, "maybe"),
    (crit("vie_plan", "in", ["yes"]), {"vie": "unknown"}, Verdict.unknown, None),
    (crit("vie_plan", "not_in", ["none"]), {"vie": "maybe"}, Verdict.unknown, "maybe"),
    (crit("vie_plan", "not_in", ["none"]), {"vie": "yes", "vie_count": "1"}, Verdict.passed,
     "yes"),
    (crit("vie_plan", "in", ["yes", "maybe"]), {"vie": "maybe"}, Verdict.passed, "maybe"),
    # territory: only overseas companies have one; "I don't know" is unknown
    (crit("territory", "in", ["reunion"]), {"home_region": "outre-mer", "territory": "reunion"},
     Verdict.passed, "reunion"),
    (crit("territory", "in", ["reunion"]),
     {"home_region": "outre-mer", "territory": "martinique"}, Verdict.failed, "martinique"),
    (crit("territory", "in", ["reunion"]), {"home_region": "outre-mer", "territory": "unknown"},
     Verdict.unknown, None),
    (crit("territory", "in", ["reunion"]), {"home_region": "bretagne"}, Verdict.failed,
     "bretagne"),
    (crit("territory", "in", ["reunion"]), {}, Verdict.unknown, None),
    # company age, in years
    (crit("company_age_years", "min", 3), {"company_age": "a3"}, Verdict.passed, "a3"),
    (crit("company_age_years", "min", 3), {"company_age": "a1_3"}, Verdict.failed, "a1_3"),
    (crit("company_age_years", "min", 1), {"company_age": "a0_1"}, Verdict.failed, "a0_1"),
    (crit("company_age_years", "min", 1), {"company_age": "a1_3"}, Verdict.passed, "a1_3"),
    (crit("company_age_years", "min", 1), {"company_age": "unknown"}, Verdict.unknown, None),
    # large contracts: yes / no / unknown, and implied "no" under 1 M€ of turnover
    (crit("large_contracts", "in", ["yes"]), {"large_contracts": "yes"}, Verdict.passed, "yes"),
    (crit("large_contracts", "in", ["yes"]), {"large_contracts": "no"}, Verdict.failed, "no"),
    (crit("large_contracts", "in", ["yes"]), {"large_contracts": "unknown"}, Verdict.unknown,
     None),
    (crit("large_contracts", "in", ["yes"]), {"turnover": "t0_1m"}, Verdict.failed, "no"),
    (crit("large_contracts", "in", ["yes"]), {"turnover": "t1_10m"}, Verdict.unknown, None),
    # export share: never asked, always to confirm
    (crit("export_share_pct", "max", 10), {"stage": "first_steps"}, Verdict.unknown, None),
    (crit("stage", "in", ["first_steps"]), {"stage": "exporting"}, Verdict.failed, "exporting"),
    (crit("country", "not_in", ["us"]), {"target_country": "us"}, Verdict.failed, "us"),
    (crit("world_region", "in", ["asia"]), {"target_region": "asia"}, Verdict.passed, "asia"),
])
def test_evaluators(criterion: Criterion, answers: dict[str, str], verdict: Verdict,
                    answer: object) -> None:
    result = judge_criterion(criterion, Profile.from_answers(answers))
    shown = getattr(result.answer, "id", result.answer)
    assert (result.verdict, shown) == (verdict, answer)


# --- the criterion texts, generated --------------------------------------------------------------


def criterion_text(renderer: Renderer, kb: KnowledgeBase, locale: str, c: Criterion) -> str:
    module = renderer.env.get_template(f"{locale}/_macros.html").make_module({"locale": locale})
    return html.unescape(str(module.criterion_text(c, kb))).strip()  # type: ignore[attr-defined]


NOTE = {"fr": "PM'up Relance", "en": "PM'up Relance"}


@pytest.mark.parametrize(("criterion", "fr", "en"), [
    (crit("headcount", "max", 249), "Effectif ≤ 249 salariés", "Headcount ≤ 249 employees"),
    (Criterion.model_validate({"field": "headcount", "op": "min", "value": 5, "note": NOTE}),
     "Effectif ≥ 5 salariés (PM'up Relance)", "Headcount ≥ 5 employees (PM'up Relance)"),
    (crit("turnover_eur", "max", 500_000_000), "Chiffre d'affaires ≤ 500 M€",
     "Turnover ≤ €500M"),
    (crit("budget_eur", "min", 30000), "Budget ≥ 30\u202f000\u00a0€", "Budget ≥ €30,000"),
    (crit("company_age_years", "min", 3), "Entreprise créée depuis au moins 3 ans",
     "Company at least 3 years old"),
    (crit("company_age_years", "min", 1), "Entreprise créée depuis au moins 1 an",
     "Company at least 1 year old"),
    (crit("export_share_pct", "max", 10), "Export ≤ 10 % du chiffre d'affaires",
     "Exports ≤ 10% of turnover"),
    (crit("vie_count", "min", 2), "Au moins 2 VIE", "At least 2 VIE"),
    (crit("home_region", "in", ["normandie"]), "Région de l'entreprise : Normandie",
     "Company's region: Normandie"),
    (crit("territory", "in", ["reunion"]), "Territoire d'outre-mer : La Réunion",
     "Overseas territory: La Réunion"),
    (crit("territory", "not_in", ["martinique", "guyane"]),
     "Territoire d'outre-mer hors : Martinique, Guyane",
     "Overseas territory other than: Martinique, French Guiana"),
    (crit("country", "in", ["us", "ca"]), "Pays visé : États-Unis, Canada",
     "Target country: United States, Canada"),
    (crit("large_contracts", "in", ["yes"]), "Grands contrats export (plusieurs millions d'euros)",
     "Large export contracts (several million euros)"),
    (crit("large_contracts", "not_in", ["yes"]), "Sans grands contrats export",
     "No large export contracts"),
    (crit("vie_plan", "in", ["yes"]), "Projet de VIE : Oui", "VIE plan: Yes"),
])
def test_criterion_texts_are_generated_from_field_op_and_value(
        renderer: Renderer, kb: KnowledgeBase, criterion: Criterion, fr: str, en: str) -> None:
    assert criterion_text(renderer, kb, "fr", criterion) == fr
    assert criterion_text(renderer, kb, "en", criterion) == en


def test_every_shipped_criterion_has_a_text_in_both_languages(
        renderer: Renderer, kb: KnowledgeBase) -> None:
    for aid in kb.aid.values():
        for c in aid.criteria:
            for locale in ("fr", "en"):
                text = criterion_text(renderer, kb, locale, c)
                assert text and "None" not in text, (aid.id, c)


def test_a_legacy_stored_text_is_ignored() -> None:
    c = Criterion.model_validate({"field": "headcount", "op": "max", "value": 249,
                                  "text": {"fr": "n'importe quoi", "en": "anything"}})
    assert c == crit("headcount", "max", 249)


@pytest.mark.parametrize("bad", [
    {"field": "territory", "op": "in", "value": ["reunion-island"]},
    {"field": "vie_plan", "op": "in", "value": ["perhaps"]},
    {"field": "large_contracts", "op": "in", "value": ["true"]},
    {"field": "territory", "op": "min", "value": 3},
    {"field": "headcount", "op": "in", "value": ["h0_9"]},
])
def test_kb_check_refuses_criteria_that_do_not_fit_their_field(kb: KnowledgeBase,
                                                               bad: dict[str, Any]) -> None:
    from bot.kb.check import review_raw
    from bot.kb.loader import read_raw
    from tests.conftest import KNOWLEDGE_DIR

    raw, _ = read_raw(KNOWLEDGE_DIR)
    raw["aid"][0]["criteria"] = [*raw["aid"][0]["criteria"], bad]
    built, report = review_raw(raw, TODAY)
    assert built is None and not report.ok
    assert any(p.field == f"criteria.{bad['field']}" for p in report.errors), report.errors

