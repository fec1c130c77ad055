"""No French in English plans and no English in French ones: the summary, every section (as
Telegram shows it and in full) and the PDF's text, for every profile the plan tests read,
checked with the knowledge base's own detector (bot.kb.translations: FRENCH_WORDS,
ENGLISH_WORDS). Links, hosts and proper names are not words of a language; the names the base
holds in one string for both languages (a landing option's name, a scheme's provider, a
contact's name) are the data's to translate, and those still French in an English plan are
listed here until the data lanes give them an English form."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from functools import cache

import pytest
from pypdf import PdfReader

from bot.advice.engine import advise
from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.handlers.views import Views
from bot.kb.snapshot import KnowledgeBase
from bot.kb.translations import ENGLISH_WORDS, FRENCH_WORDS, _hits
from bot.plan.build import build_plan
from bot.plan.model import SECTIONS, Plan
from bot.render.pdf import render_pdf
from bot.render.plan_text import PlanText
from bot.render.templates import Renderer
from tests.conftest import TODAY
from tests.e2e.fake_api import parse_html
from tests.plan_profiles import PROFILES

OTHER = {"en": FRENCH_WORDS, "fr": ENGLISH_WORDS}

PROPER_NAMES = (
    # longest first: "Be Est Export (Grand Est)" loses both
    "Provence-Alpes-Côte d'Azur", "Code du service national", "Cour des comptes",
    "Pays de la Loire", "Be Est Export", "La Réunion", "Grand Est", "Le Moci",
)
"""Names that carry a function word of the other language and are names in both: regions,
a legal code, an institution, a trade paper."""

DATA_PENDING_EN = frozenset({
    "AMDIE (Agence marocaine de développement des investissements et des exportations)",
    "Bpifrance Assurance Export (pour l'État)",
    "Bretagne Commerce International (Région Bretagne et CCI)",
    "Commission européenne et organisations membres",
    "French Tech (État), avec Business France et Bpifrance",
    "Réseau des CCE (CNCCEF)",
    "Chambre de commerce et d'industrie française au Canada (CCIFC)",
    "Chambre française de commerce et d'industrie du Maroc (CFCIM)",
})
"""One-string names of the base (providers, landing names) that English plans still show in
French: the data lanes are giving them an English form (issue 14, item 5). Remove each one as
it lands; a new one here is a regression of the data."""

URL = re.compile(r"https?://\S+")
HOST = re.compile(r"\b[\w.-]+\.[a-z]{2,}\b(/\S*)?")


def one_string_names(kb: KnowledgeBase) -> set[str]:
    """Names the base stores once for both languages."""
    names = {a.provider for a in kb.aid.values()}
    names |= {r.name for r in kb.landing.values()}
    names |= {r.contact.name for r in kb.landing.values() if r.contact}
    names |= {a.contact.name for a in kb.aid.values() if a.contact}
    names |= {r.tfe_contact.name for r in kb.french_regions.values() if r.tfe_contact}
    return names


@cache
def _loose(text: str) -> re.Pattern[str]:
    """`text` as the PDF's text may give it: wrapped anywhere (a URL) or at spaces."""
    return re.compile(r"\s?".join(re.escape(c) if c != " " else r"\s+" for c in text))


def plan_of(kb: KnowledgeBase, renderer: Renderer, answers: dict[str, str],
            locale: str) -> tuple[Plan, dict[str, str]]:
    dialog = Dialog(kb, renderer.labels)
    state = DialogState("d1", kb.version, step="done", answers=answers)
    plan = build_plan(advise(dialog.profile(state), kb, TODAY), kb, TODAY)
    names = Views(bot=None, renderer=renderer,  # type: ignore[arg-type]
                  clock=FixedClock.on(TODAY)).plan_names(dialog, locale, answers)
    return plan, names


def texts(kb: KnowledgeBase, renderer: Renderer, answers: dict[str, str],
          locale: str) -> Iterator[tuple[str, str]]:
    """(where, visible text): the summary, each section brief and full, the PDF."""
    plan, names = plan_of(kb, renderer, answers, locale)
    text = PlanText(renderer)
    yield "summary", parse_html(text.summary(plan, kb, locale, names)).text
    for key in SECTIONS:
        yield key, parse_html(text.section(plan, key, kb, locale, names)).text
        yield f"{key} (full)", parse_html(text.section(plan, key, kb, locale, names,
                                                       full=True)).text
    reader = PdfReader(io.BytesIO(render_pdf(plan, kb, locale, names, text)))
    pdf = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for url in sorted({r.url for r in plan.sources}, key=len, reverse=True):
        pdf = _loose(url).sub(" ", pdf)
    yield "pdf", pdf


def words_of_the_other_language(text: str, locale: str,
                                names: set[str]) -> tuple[set[str], set[str]]:
    """The other language's function words left in `text` once links, hosts, proper names and
    the base's one-string names are set aside; and which of those names carried such words."""
    text = HOST.sub(" ", URL.sub(" ", text))
    carried: set[str] = set()
    for name in sorted(names, key=len, reverse=True):
        if name in text or _loose(name).search(text):
            rest = name
            for proper in PROPER_NAMES:
                rest = rest.replace(proper, " ")
            if _hits(rest, OTHER[locale]):
                carried.add(name)
            text = _loose(name).sub(" ", text)
    for proper in PROPER_NAMES:
        text = _loose(proper).sub(" ", text)
    return _hits(text, OTHER[locale]), carried


def _around(text: str, hits: set[str]) -> str:
    """Where the first of `hits` is in `text` (a PDF's text is one long line)."""
    at = min((m.start() for w in hits for m in [re.search(rf"(?<!\w){re.escape(w)}", text,
                                                           re.I)] if m), default=0)
    return text[max(0, at - 120):at + 120]


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_plan_speaks_one_language(kb: KnowledgeBase, renderer: Renderer, locale: str) -> None:
    names = one_string_names(kb)
    found: list[tuple[str, str, list[str], str]] = []
    carried: set[str] = set()
    for profile, answers in PROFILES.items():
        for where, text in texts(kb, renderer, answers, locale):
            for line in text.splitlines() if where != "pdf" else [text]:
                hits, names_here = words_of_the_other_language(line, locale, names)
                carried |= names_here
                if hits:
                    found.append((profile, where, sorted(hits), _around(line, hits)))
    assert not found, "\n".join(map(str, found[:20]))
    if locale == "en":  # the data's part: only the names the data lanes are translating
        assert carried <= DATA_PENDING_EN, sorted(carried - DATA_PENDING_EN)


def test_the_detector_sees_what_it_should(kb: KnowledgeBase) -> None:
    """The check is not vacuous: a French phrase in an English line is found, a proper name,
    a host and a one-string name are not counted."""
    names = one_string_names(kb)
    assert words_of_the_other_language("Check the scheme is still open (pour l'État)", "en",
                                       set())[0] == {"pour", "l'"}
    assert words_of_the_other_language("Vérifier que le dispositif est toujours ouvert / "
                                       "Check the scheme is still open", "fr", set())[0]
    clean = "Prim'Export (La Réunion), Be Est Export (Grand Est): see les-aides.fr"
    assert words_of_the_other_language(clean, "en", set()) == (set(), set())
    provider = "Bpifrance Assurance Export (pour l'État)"
    if provider in names:
        hits, carried = words_of_the_other_language(f"To confirm ({provider})", "en", names)
        assert not hits and carried == {provider}
