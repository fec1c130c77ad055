"""Taps from /start to the plan: `python -m bot.taps [--knowledge DIR]`.

Ten contrasting profiles are driven through the dialog engine by tapping buttons only, and the
taps are counted up to the plan (the recap's "see my plan" included). Beside each, the taps the
dialog of commit 6963690 needed: it asked every step, except the city when the country has none
in the knowledge base and the number of volunteers unless the VIE answer was "yes".
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping
from pathlib import Path

from bot.clock import FixedClock
from bot.config import PROJECT_ROOT
from bot.dialog.engine import RECAP, UNKNOWN, Dialog
from bot.kb.loader import load_directory
from bot.kb.snapshot import KnowledgeBase
from bot.render.templates import Renderer

# Answers by step id; a question not listed is answered "I don't know" if the dialog asks it.
PROFILES: dict[str, dict[str, str]] = {
    "SaaS 10-49, Lyon region → San Francisco, 2 VIE": {
        "sector": "saas", "target_region": "north_america", "target_country": "us",
        "target_city": "san-francisco", "headcount": "h10_49", "turnover": "t1_10m",
        "home_region": "auvergne-rhone-alpes", "stage": "first_steps", "vie": "yes",
        "vie_count": "2", "budget": "b50_150k", "company_age": "a3", "large_contracts": "no"},
    "cyber 5 people, Île-de-France → Singapore, no VIE, tight budget": {
        "sector": "cybersecurity", "target_region": "asia", "target_country": "sg",
        "target_city": "singapore", "headcount": "h0_9", "turnover": "t0_1m",
        "home_region": "ile-de-france", "stage": "first_steps", "vie": "none",
        "budget": "b0_20k", "company_age": "a1_3"},
    "fintech 50-249, Occitanie → Montréal, maybe VIE, generous budget": {
        "sector": "fintech", "target_region": "north_america", "target_country": "ca",
        "target_city": "montreal", "headcount": "h50_249", "turnover": "t10_50m",
        "home_region": "occitanie", "stage": "exporting", "vie": "maybe", "budget": "b150k",
        "company_age": "a3", "large_contracts": "yes"},
    "greentech 250+, Bretagne → Berlin, established, no VIE": {
        "sector": "greentech", "target_region": "europe", "target_country": "de",
        "target_city": "berlin", "headcount": "h250", "turnover": "t50_500m",
        "home_region": "bretagne", "stage": "established", "vie": "none", "budget": "b150k",
        "company_age": "a3", "large_contracts": "yes"},
    "e-commerce 10-49, La Réunion → Casablanca, 1 VIE": {
        "sector": "ecommerce", "target_region": "africa", "target_country": "ma",
        "target_city": "casablanca", "headcount": "h10_49", "turnover": "t1_10m",
        "home_region": "outre-mer", "territory": "reunion", "stage": "first_steps",
        "vie": "yes", "vie_count": "1", "budget": "b20_50k", "company_age": "a3",
        "large_contracts": "no"},
    "games studio 0-9, Martinique → London, no VIE": {
        "sector": "games", "target_region": "europe", "target_country": "gb",
        "target_city": "london", "headcount": "h0_9", "turnover": "t0_1m",
        "home_region": "outre-mer", "territory": "martinique", "stage": "first_steps",
        "vie": "none", "budget": "b0_20k", "company_age": "a0_1"},
    "healthtech 10-49, Île-de-France → Tokyo, 2 VIE": {
        "sector": "healthtech", "target_region": "asia", "target_country": "jp",
        "target_city": "tokyo", "headcount": "h10_49", "turnover": "t1_10m",
        "home_region": "ile-de-france", "stage": "exporting", "vie": "yes", "vie_count": "2",
        "budget": "b50_150k", "company_age": "a3", "large_contracts": "no"},
    "edtech 0-9, Nouvelle-Aquitaine → São Paulo, maybe VIE": {
        "sector": "edtech", "target_region": "latin_america", "target_country": "br",
        "target_city": "sao-paulo", "headcount": "h0_9", "turnover": "t0_1m",
        "home_region": "nouvelle-aquitaine", "stage": "first_steps", "vie": "maybe",
        "budget": "b20_50k", "company_age": "a1_3"},
    "AI 10-49, Île-de-France → New York, 4 VIE, generous budget": {
        "sector": "ai", "target_region": "north_america", "target_country": "us",
        "target_city": "new-york", "headcount": "h10_49", "turnover": "t1_10m",
        "home_region": "ile-de-france", "stage": "exporting", "vie": "yes", "vie_count": "4",
        "budget": "b150k", "company_age": "a3", "large_contracts": "no"},
    "mobility 50-249, Hauts-de-France → Dubai, 1 VIE": {
        "sector": "mobility", "target_region": "middle_east", "target_country": "ae",
        "target_city": "dubai", "headcount": "h50_249", "turnover": "t10_50m",
        "home_region": "hauts-de-france", "stage": "exporting", "vie": "yes",
        "vie_count": "1", "budget": "b50_150k", "company_age": "a3", "large_contracts": "yes"},
}


def taps_now(dialog: Dialog, answers: Mapping[str, str]) -> tuple[int, list[str]]:
    """Taps with today's dialog, and the steps it asked."""
    state = dialog.new("taps")
    asked: list[str] = []
    while state.step != RECAP:
        asked.append(state.step)
        ids = {o.id for o in dialog.options(state.step, state.answers)}
        wanted = answers.get(state.step, UNKNOWN)
        if state.step == "vie" and wanted == "yes":
            wanted = "yes" + answers.get("vie_count", "1")  # "Yes, 2": one tap
        option = wanted if wanted in ids else UNKNOWN if UNKNOWN in ids else sorted(ids)[0]
        state = dialog.choose(state, "taps", state.step, option).state
    return len(asked) + 1, asked  # + "see my plan"


def taps_before(kb: KnowledgeBase, answers: Mapping[str, str]) -> int:
    """Taps with the dialog of commit 6963690 (its fixed step list and its two skips)."""
    steps = ["sector", "target_region", "target_country", "target_city", "headcount",
             "turnover", "home_region", "stage", "vie", "vie_count", "budget"]
    if not kb.cities_in(answers.get("target_country", "")):
        steps.remove("target_city")
    if answers.get("vie") != "yes":
        steps.remove("vie_count")
    return len(steps) + 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=PROJECT_ROOT / "knowledge")
    args = parser.parse_args(argv)
    kb = load_directory(args.knowledge)
    dialog = Dialog(kb, Renderer().labels, FixedClock())
    before, after = [], []
    print(f"{'profile':<66} before after  extra questions")
    for name, answers in PROFILES.items():
        now, asked = taps_now(dialog, answers)
        old = taps_before(kb, answers)
        before.append(old)
        after.append(now)
        extra = [s for s in asked if s in ("territory", "company_age", "large_contracts")]
        print(f"{name:<66} {old:>6} {now:>5}  {', '.join(extra) or '-'}")
    print(f"{'median':<66} {statistics.median(before):>6} {statistics.median(after):>5}")


if __name__ == "__main__":
    main()
