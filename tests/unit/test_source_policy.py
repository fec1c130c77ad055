"""Sources with honest dates, the source policy `kb check` applies, and old versions that still
load: the registry of collections with their defaults, old-form dates converted on load and
refused in an upload."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tinydb import TinyDB

from bot.clock import FixedClock
from bot.kb.admin import KnowledgeAdmin
from bot.kb.changes import RefusalKind
from bot.kb.check import check_directory
from bot.kb.loader import COLLECTIONS, load_directory, read_raw
from bot.kb.models import (
    Source,
    SourceClass,
    SourcePolicy,
    Text,
    horizon_start,
    legacy_source,
    page_date_start,
)
from bot.kb.sources import figures, review_sources
from bot.kb.store import KnowledgeStore
from bot.kb.translations import problems_of
from tests.conftest import KNOWLEDGE_DIR, TODAY

URL = "https://www.example.org/page"


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns(".lock", ".pending"))
    return target


def raw_of(directory: Path) -> dict[str, Any]:
    raw, problems = read_raw(directory)
    assert not problems
    return raw


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "expected"), [
    ({"verified": "2026-11-01", "confidence": "high",
      "note": "Undated page; verified date = when the fact sheet was compiled."},
     {"confidence": "unverified", "note": "Undated page; not yet compared with the page."}),
    ({"verified": "2026-11-26", "confidence": "low", "note": "undated page, read 2026-11-26."},
     {"checked": "2026-11-26", "confidence": "low"}),
    ({"verified": "2016-01-01", "note": "2016 regional fact sheet (year only)."},
     {"published": "2016"}),
    ({"verified": "2020-02-01", "note": "Volunteer's blog, February 2020 (month only)."},
     {"published": "2020-02"}),
    ({"verified": "2023-03-12", "confidence": "high"}, {"published": "2023-03-12"}),
])
def test_an_old_verified_date_is_read_for_what_it_was(old: dict[str, Any],
                                                      expected: dict[str, Any]) -> None:
    converted = legacy_source({"url": URL, **old})
    assert "verified" not in converted
    for key, value in expected.items():
        assert converted[key] == value, (key, converted)
    for absent in {"published", "checked"} - set(expected):
        assert absent not in converted
    Source.model_validate(converted)  # the converted form is valid
    assert Source.model_validate({"url": URL, **old}) == Source.model_validate(converted)


def test_a_source_with_no_date_and_no_check_is_unverified() -> None:
    with pytest.raises(ValidationError, match="unverified"):
        Source.model_validate({"url": URL, "confidence": "high"})
    src = Source.model_validate({"url": URL, "confidence": "unverified"})
    assert src.dated is None


@pytest.mark.parametrize("bad", ["2021-02-30", "2021-13", "21", "2021-1", "2021/05"])
def test_a_page_date_is_a_real_year_month_or_day(bad: str) -> None:
    with pytest.raises(ValidationError):
        Source.model_validate({"url": URL, "published": bad})


def test_freshness_is_the_check_else_the_first_day_the_page_date_can_mean() -> None:
    assert page_date_start("2021") == dt.date(2021, 1, 1)
    assert page_date_start("2021-05") == dt.date(2021, 5, 1)
    both = Source.model_validate({"url": URL, "published": "2019", "checked": "2026-12-02"})
    assert both.dated == dt.date(2026, 12, 2)
    assert Source.model_validate({"url": URL, "published": "2019-07"}).dated == dt.date(2019, 7, 1)


def test_dates_in_the_future_block_and_old_ones_are_listed(kdir: Path) -> None:
    aid = json.loads((kdir / "aid.json").read_text())
    aid[0]["sources"][0] = {"url": URL, "published": f"{TODAY.year + 1}"}
    aid[1]["sources"][0] = {"url": URL, "checked": (TODAY + dt.timedelta(days=1)).isoformat()}
    aid[2]["sources"][0] = {"url": URL, "published": "2015-06"}
    (kdir / "aid.json").write_text(json.dumps(aid, ensure_ascii=False))
    report = check_directory(kdir, TODAY)
    future = {(p.record, p.field) for p in report.future}
    assert (aid[0]["id"], "sources.0.published") in future
    assert (aid[1]["id"], "sources.0.checked") in future
    assert not report.ok
    assert any(p.record == aid[2]["id"] and "2015-06-01" in p.message for p in report.stale)


def test_the_shipped_base_has_no_placeholder_date() -> None:
    """The day the fact sheet was compiled is no date: no source says 'compiled' any more with
    a date, and every undated, unchecked source is unverified (the model enforces it)."""
    for name in COLLECTIONS:
        document = json.loads((KNOWLEDGE_DIR / f"{name}.json").read_text())
        for rec in document if isinstance(document, list) else [document]:
            for src in rec.get("sources", []) if isinstance(rec, dict) else []:
                assert "verified" not in src, (name, rec.get("id"))
                assert "compiled" not in (src.get("note") or "") or not (
                    src.get("published") or src.get("checked")), (name, rec.get("id"))


# --- the source policy ------------------------------------------------------------------------


def policy(*hosts: tuple[str, str]) -> SourcePolicy:
    return SourcePolicy.model_validate(
        {"hosts": [{"host": h, "class": c, "kind": "test"} for h, c in hosts]})


def test_a_host_covers_its_subdomains_and_the_longest_match_wins() -> None:
    p = policy(("gouv.fr", "primary"), ("news.example.com", "press"),
               ("staging.news.example.com", "weak"))
    assert p.classify("www.legifrance.gouv.fr").class_ is SourceClass.primary  # type: ignore
    assert p.classify("a.staging.news.example.com").class_ is SourceClass.weak  # type: ignore
    assert p.classify("news.example.com").class_ is SourceClass.press  # type: ignore
    assert p.classify("example.com") is None
    assert p.classify("notgouv.fr") is None  # a suffix of the name is not a parent domain
    with pytest.raises(ValidationError, match="twice"):
        policy(("gouv.fr", "primary"), ("gouv.fr", "press"))


def _with_sources(kdir: Path, rid: str, sources: list[dict[str, Any]]) -> None:
    landing = json.loads((kdir / "landing.json").read_text())
    rec = next(r for r in landing if r["id"] == rid)
    rec["sources"] = sources
    (kdir / "landing.json").write_text(json.dumps(landing, ensure_ascii=False))


def _first_landing_with_url(kdir: Path) -> dict[str, Any]:
    landing = json.loads((kdir / "landing.json").read_text())
    return next(r for r in landing if r.get("url"))


def test_a_weak_first_source_blocks_and_a_weak_later_one_is_reported(kdir: Path) -> None:
    policy_doc = json.loads((kdir / "source_policy.json").read_text())
    weak = next(h["host"] for h in policy_doc["hosts"] if h["class"] == "weak")
    press = next(h["host"] for h in policy_doc["hosts"] if h["class"] == "press")
    rec = _first_landing_with_url(kdir)
    weak_src = {"url": f"https://{weak}/x", "published": "2020"}
    press_src = {"url": f"https://{press}/y", "published": "2021"}
    _with_sources(kdir, rec["id"], [weak_src, press_src])
    report = check_directory(kdir, TODAY)
    assert any(p.record == rec["id"] and p.field == "sources.0.url" and "weak" in p.message
               for p in report.errors), report.errors
    _with_sources(kdir, rec["id"], [press_src, weak_src])
    report = check_directory(kdir, TODAY)
    assert not any(p.record == rec["id"] for p in report.errors)
    assert any(p.record == rec["id"] and p.field == "sources.1.url"
               for p in report.weak_elsewhere)


def test_a_primary_source_goes_first_and_the_own_site_counts_as_primary(kdir: Path) -> None:
    rec = _first_landing_with_url(kdir)
    own = {"url": rec["url"], "checked": TODAY.isoformat()}
    press = json.loads((kdir / "source_policy.json").read_text())
    host = next(h["host"] for h in press["hosts"] if h["class"] == "press")
    press_src = {"url": f"https://{host}/z", "published": "2022"}
    _with_sources(kdir, rec["id"], [press_src, own])
    report = check_directory(kdir, TODAY)
    assert any(p.record == rec["id"] and "put it first" in p.message for p in report.errors)
    _with_sources(kdir, rec["id"], [own, press_src])
    report = check_directory(kdir, TODAY)
    assert not any(p.record == rec["id"] for p in report.errors)
    assert not any(p.record == rec["id"] for p in report.no_primary)


def test_a_landing_link_on_an_aggregator_or_weak_host_is_refused(kdir: Path) -> None:
    policy_doc = json.loads((kdir / "source_policy.json").read_text())
    rec = _first_landing_with_url(kdir)
    for cls in ("aggregator", "weak", "press"):
        host = next(h["host"] for h in policy_doc["hosts"] if h["class"] == cls)
        landing = json.loads((kdir / "landing.json").read_text())
        next(r for r in landing if r["id"] == rec["id"])["url"] = f"https://{host}/a"
        (kdir / "landing.json").write_text(json.dumps(landing, ensure_ascii=False))
        report = check_directory(kdir, TODAY)
        assert any(p.record == rec["id"] and p.field == "url" for p in report.errors), cls


def test_the_figures_count_first_sources_by_class() -> None:
    kb = load_directory(KNOWLEDGE_DIR)
    review = review_sources(kb)
    numbers = figures(kb, TODAY, horizon_start(TODAY, kb.meta.verification_horizon_months))
    assert sum(numbers["first_sources"].values()) == numbers["records"]
    assert numbers["primary_first_share"] == round(review.primary_first_share, 3)
    assert numbers["regional_contacts_with_own_page"] <= numbers["regions"] == 13
    assert sum(numbers["landing_links"].values()) == len(kb.landing)


# --- both languages ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fr", "en", "flagged"), [
    ("Vérifier que le dispositif est toujours ouvert / Check the scheme is still open",
     "Check the scheme is still open", True),
    ("Garanties gérées par Bpifrance.", "Guarantees managed by Bpifrance (pour l'État).", True),
    ("Un texte de plus de quatre mots", "Un texte de plus de quatre mots", True),
    ("Bureau régional Amérique latine", "bureau régional Amérique latine", True),
    ("French Tech Toronto", "French Tech Toronto", False),
    ("Couvre les risques de change.", "Covers currency risk.", False),
])
def test_a_text_not_in_both_languages_is_flagged(fr: str, en: str, flagged: bool) -> None:
    assert (problems_of(Text(fr=fr, en=en)) is not None) is flagged


def test_a_long_name_may_be_the_same_in_both_languages() -> None:
    same = Text(fr="Team France Export Grand Est Région", en="Team France Export Grand Est Région")
    assert problems_of(same) is not None
    assert problems_of(same, name=True) is None


# --- old versions and new collections ---------------------------------------------------------


def old_form(raw: dict[str, Any]) -> dict[str, Any]:
    """A version as written before issue 14: no source_policy, sources dated `verified`."""
    out = json.loads(json.dumps({k: v for k, v in raw.items() if k != "source_policy"}))
    for document in out.values():
        for rec in document if isinstance(document, list) else [document]:
            for src in rec.get("sources", []) if isinstance(rec, dict) else []:
                day = src.pop("checked", None) or src.pop("published", None)
                src.pop("published", None)
                src["verified"] = (day if day and len(day) == 10 else
                                   f"{day}-01-01"[:10] if day else "2026-11-01")
                if src.get("confidence") == "unverified":
                    src["note"] = "Undated page; verified date = when the fact sheet was compiled."
    return out


def test_a_directory_without_a_newer_collection_loads_with_its_default(kdir: Path) -> None:
    (kdir / "source_policy.json").unlink()
    kb = load_directory(kdir)
    assert kb.source_policy.hosts == []


def test_a_pinned_version_in_the_old_form_still_loads(tmp_path: Path) -> None:
    current = load_directory(KNOWLEDGE_DIR)
    db = TinyDB(tmp_path / "knowledge.json")
    old = old_form(raw_of(KNOWLEDGE_DIR))
    old["meta"]["version"] = "2026.11.26-3"
    db.table("versions").insert({"version": "2026.11.26-3", "updated": "2026-11-26",
                                 "loaded_at": "x", "raw": old})
    store = KnowledgeStore(current, db, raw_of(KNOWLEDGE_DIR), clock=FixedClock.on(TODAY))
    pinned = store.get("2026.11.26-3")
    assert pinned.version == "2026.11.26-3" and pinned is not current
    assert pinned.landing.keys() == current.landing.keys()
    assert pinned.source_policy.hosts == []


def test_a_backup_from_before_the_change_can_be_rolled_back_to(kdir: Path,
                                                                tmp_path: Path) -> None:
    admin = KnowledgeAdmin(kdir, tmp_path / "data", clock=FixedClock.on(TODAY))
    old = old_form(raw_of(kdir))
    backup = tmp_path / "data" / "kb_backups" / "2026.11.26-3"
    backup.mkdir(parents=True)
    for name, document in old.items():
        (backup / f"{name}.json").write_text(json.dumps(document, ensure_ascii=False))
    (backup / "saved_at").write_text("2026-11-26T10:00:00")
    result = admin.rollback("2026.11.26-3", "test")
    assert result.status == "applied", result.refusal
    kb = load_directory(kdir)
    assert kb.source_policy.hosts == []  # that version classified no host
    for name in COLLECTIONS:  # written back in the current form
        assert '"verified"' not in (kdir / f"{name}.json").read_text(), name
    # and forward again: the version before the rollback was backed up in the new form
    again = admin.rollback(result.previous, "test")
    assert again.status == "applied", again.refusal
    assert load_directory(kdir).source_policy.hosts


def test_an_upload_in_the_old_date_form_is_refused_with_the_reason(kdir: Path,
                                                                   tmp_path: Path) -> None:
    admin = KnowledgeAdmin(kdir, tmp_path / "data", clock=FixedClock.on(TODAY))
    before = {name: (kdir / f"{name}.json").read_bytes() for name in COLLECTIONS}
    rec = json.loads((kdir / "aid.json").read_text())[0]
    rec["sources"][0] = {"url": URL, "verified": "2026-11-20", "confidence": "high"}
    proposal = admin.propose_upload(json.dumps({"upsert": [rec]}).encode(), "aid.json")
    assert proposal.refusal is not None
    assert proposal.refusal.kind is RefusalKind.invalid
    places = [(p.record, p.field) for p in proposal.refusal.problems]
    assert (rec["id"], "sources.0.verified") in places
    assert "published" in str(proposal.refusal) and "checked" in str(proposal.refusal)
    assert {name: (kdir / f"{name}.json").read_bytes() for name in COLLECTIONS} == before
