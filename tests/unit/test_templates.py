"""Templates: complete in both languages, Telegram HTML only, hostile text always escaped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.dialog.specs import QUESTIONS
from bot.handlers.views import Views
from bot.kb.loader import load_directory
from bot.kb.snapshot import KnowledgeBase
from bot.plan.model import SECTIONS
from bot.render.templates import LOCALES, TEMPLATES_DIR, Renderer
from tests.conftest import KNOWLEDGE_DIR, TODAY
from tests.e2e.fake_api import parse_html, utf16_len

HOSTILE = '<script>alert("x")</script> & <b>bold & AT&T 5 > 3 😀'
PROFILES = [
    {"sector": "saas", "target_region": "north_america", "target_country": "us",
     "target_city": "san-francisco", "headcount": "h10_49", "turnover": "t1_10m",
     "home_region": "auvergne-rhone-alpes", "stage": "first_steps", "vie": "yes",
     "vie_count": "2", "budget": "b50_150k"},
    {"sector": "unknown", "target_region": "asia", "target_country": "unknown",
     "headcount": "unknown", "turnover": "unknown", "home_region": "unknown",
     "stage": "unknown", "vie": "maybe", "budget": "unknown"},
    {"sector": "games", "target_region": "africa", "target_country": "ke",
     "headcount": "h250", "turnover": "t500m", "home_region": "outre-mer",
     "stage": "established", "vie": "none", "budget": "b0_20k"},
]


def test_both_locales_have_the_same_templates_and_labels(renderer: Renderer) -> None:
    names = {loc: sorted(p.name for p in (TEMPLATES_DIR / loc).iterdir()) for loc in LOCALES}
    assert names["fr"] == names["en"]
    assert set(renderer.labels["fr"]) == set(renderer.labels["en"])
    for name in QUESTIONS:
        assert f"q.{name}" in renderer.labels["fr"]


DATE_SHOWN = {
    "fr": r"vérifié le \d{1,2} \w+ \d{4}|page (du \d{1,2} |de |d')(\w+ )?\d{4}|page non datée",
    "en": r"checked on \d{1,2} \w+ \d{4}|page dated (\d{1,2} )?(\w+ )?\d{4}|undated page",
}
"""A source's date as the plan words it: the day it was checked, or the page's own date."""


def plan_messages(kb: KnowledgeBase, renderer: Renderer, locale: str,
                  answers: dict[str, str], full: bool = False) -> list[str]:
    """The plan as Telegram shows it: the summary, then each section as one message; `full`:
    each section as its layout words it, before Telegram's cut."""
    dialog = Dialog(kb, renderer.labels)
    state = DialogState("d1", kb.version, step="done", answers=answers)
    views = Views(bot=None, renderer=renderer, clock=FixedClock.on(TODAY))  # type: ignore[arg-type]
    plan = views.plan_of(dialog, state)
    names = views.plan_names(dialog, locale, answers)
    return [views.summary(locale, dialog, state, plan),
            *(views.plan_text.section(plan, key, kb, locale, names) if full
              else views.section_text(locale, dialog, state, plan, key) for key in SECTIONS)]


def assert_telegram_html(text: str) -> str:
    parsed = parse_html(text)
    assert not parsed.warnings, parsed.warnings
    assert 0 < len(parsed.text) <= 4096
    return parsed.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("answers", PROFILES)
def test_plans_are_valid_telegram_html(kb: KnowledgeBase, renderer: Renderer, locale: str,
                                       answers: dict[str, str]) -> None:
    messages = plan_messages(kb, renderer, locale, answers)
    assert messages
    text = "\n".join(assert_telegram_html(m) for m in messages)
    assert "Source" in text and re.search(DATE_SHOWN[locale], text), text


@pytest.fixture(scope="module")
def hostile_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    directory = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, directory)
    for name, change in (("landing", lambda r: r.update(name=HOSTILE,
                                                         offers={"fr": HOSTILE, "en": HOSTILE})),
                         ("aid", lambda r: r.update(provider=HOSTILE,
                                                     summary={"fr": HOSTILE, "en": HOSTILE})),
                         ("sectors", lambda r: r.update(name={"fr": HOSTILE, "en": HOSTILE}))):
        path = directory / f"{name}.json"
        records = json.loads(path.read_text(encoding="utf-8"))
        for record in records:
            change(record)
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return load_directory(directory)


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_knowledge_text_is_escaped(hostile_kb: KnowledgeBase, renderer: Renderer,
                                           locale: str) -> None:
    messages = plan_messages(hostile_kb, renderer, locale, PROFILES[0])
    text = "\n".join(assert_telegram_html(m) for m in messages)
    assert '<script>alert("x")</script>' in text  # shown as text, not markup
    assert "&lt;script&gt;" in "".join(messages)


def test_a_section_too_long_for_one_message_is_cut_and_points_to_the_pdf(
        kb: KnowledgeBase, renderer: Renderer, tmp_path: Path) -> None:
    directory = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, directory)
    # What the VIE section shows of the country (its visa, its answer on two volunteers), each
    # as long as a text may be: together they cannot fit one message.
    path = directory / "vie_countries.json"
    countries = json.loads(path.read_text(encoding="utf-8"))
    us = next(c for c in countries if c["id"] == "us")
    us["visa"] = {"fr": "Très long. " * 300, "en": "Very long. " * 300}
    us["two_volunteers_alone"] = "conditions"
    us["two_volunteers_note"] = {"fr": "Aussi long. " * 280, "en": "As long. " * 300}
    path.write_text(json.dumps(countries, ensure_ascii=False), encoding="utf-8")
    messages = plan_messages(load_directory(directory), renderer, "fr", PROFILES[0])
    assert len(messages) == 1 + len(SECTIONS)  # the summary, then one message per section
    for message in messages:
        assert utf16_len(assert_telegram_html(message)) <= 4096
    vie = assert_telegram_html(messages[1 + SECTIONS.index("vie")])
    assert vie.endswith("(📄 PDF).")  # the rest is in the PDF
    whole = plan_messages(load_directory(directory), renderer, "fr", PROFILES[0], full=True)
    assert "Très long. " * 300 in parse_html(whole[1 + SECTIONS.index("vie")]).text
