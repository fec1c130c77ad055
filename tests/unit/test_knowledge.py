"""The knowledge base: located errors at load, `kb check`, and the rules the shipped base keeps."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.kb.check import check_directory
from bot.kb.loader import KnowledgeError, load_directory
from bot.kb.models import AidStatus
from bot.kb.snapshot import KnowledgeBase
from tests.conftest import BOT_COMMAND, KNOWLEDGE_DIR, TODAY

HUB_CITIES = {"san-francisco", "singapore", "boston", "montreal", "sao-paulo", "bangalore",
              "beijing", "shanghai", "hong-kong"}


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target


def edit(directory: Path, name: str, change: Any) -> None:
    path = directory / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_directory(directory)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_base_loads_and_checks_clean() -> None:
    report = check_directory(KNOWLEDGE_DIR, TODAY)
    assert report.ok, report.errors
    assert report.counts["landing"] >= 10 and report.counts["aid"] >= 5


def test_schema_errors_name_file_record_and_field(kb_copy: Path) -> None:
    edit(kb_copy, "aid", lambda d: d[0].update(status="maybe"))
    found = problems_of(kb_copy)
    assert any(p.startswith("aid.json [") and " status:" in p for p in found), found


def test_a_missing_source_is_an_error(kb_copy: Path) -> None:
    edit(kb_copy, "landing", lambda d: d[0].update(sources=[]))
    found = problems_of(kb_copy)
    assert any("landing.json" in p and "sources" in p for p in found), found


def test_unknown_fields_are_errors(kb_copy: Path) -> None:
    edit(kb_copy, "countries", lambda d: d[0].update(capital="x"))
    assert any("countries.json" in p and "capital" in p for p in problems_of(kb_copy))


def test_duplicate_ids_are_errors(kb_copy: Path) -> None:
    edit(kb_copy, "sectors", lambda d: d.append(dict(d[0])))
    assert any("duplicate id" in p for p in problems_of(kb_copy))


def test_broken_references_are_errors(kb_copy: Path) -> None:
    edit(kb_copy, "landing", lambda d: d[0].update(country="zz"))
    assert any("unknown id 'zz'" in p for p in problems_of(kb_copy))


def test_broken_json_names_the_file(kb_copy: Path) -> None:
    (kb_copy / "cities.json").write_text("[{", encoding="utf-8")
    assert any(p.startswith("cities.json: not valid JSON") for p in problems_of(kb_copy))


def test_kb_check_flags_active_schemes_past_their_end(kb_copy: Path) -> None:
    def expire(data: list[dict[str, Any]]) -> None:
        record = next(r for r in data if r["status"] == "active")
        record["valid_to"] = "2020-01-01"

    edit(kb_copy, "aid", expire)
    report = check_directory(kb_copy, TODAY)
    assert not report.ok and report.expired_active


def test_kb_check_cli_exit_status_and_json(kb_copy: Path) -> None:
    ok = subprocess.run([*BOT_COMMAND, "kb", "check", "--json", "--dir",
                         str(kb_copy)], capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    edit(kb_copy, "cities", lambda d: d[0].update(country="zz"))
    bad = subprocess.run([*BOT_COMMAND, "kb", "check", "--dir", str(kb_copy)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1 and "unknown id 'zz'" in bad.stdout


# --- what the shipped base must hold -----------------------------------------------------------


def test_every_2013_hub_has_a_landing_option(kb: KnowledgeBase) -> None:
    cities = {r.city for r in kb.landing.values() if r.status != "closed"}
    assert cities >= HUB_CITIES
    vietnam = [r for r in kb.landing.values() if r.country == "vn"]
    assert vietnam


def test_every_hub_country_has_vie_specifics(kb: KnowledgeBase) -> None:
    assert {"us", "sg", "ca", "br", "in", "vn", "cn", "hk"} <= set(kb.vie_countries)


def test_main_national_schemes_and_closed_ones_are_present(kb: KnowledgeBase) -> None:
    assert kb.aid["assurance-prospection"].status is AidStatus.active
    closed = {a.id for a in kb.aid.values() if a.status is AidStatus.closed}
    assert {"cheque-relance-export", "cheque-relance-vie"} <= closed
    assert any(a.status is AidStatus.proposal for a in kb.aid.values())


def test_no_active_scheme_is_past_its_end_date(kb: KnowledgeBase) -> None:
    for aid in kb.aid.values():
        if aid.status is AidStatus.active and aid.valid_to:
            assert aid.valid_to >= TODAY, aid.id


def test_every_landing_record_can_be_reached_through_the_dialog(kb: KnowledgeBase) -> None:
    """Its country is offered under its world region, and its city under its country."""
    for record in kb.landing.values():
        country = kb.countries[record.country]
        assert country in kb.countries_in(country.world_region)
        if record.city:
            assert kb.cities[record.city] in kb.cities_in(record.country)


def test_ids_fit_in_callback_data(kb: KnowledgeBase) -> None:
    from bot.render.callbacks import AnswerCb

    for table in (kb.sectors, kb.world_regions, kb.countries, kb.cities, kb.french_regions):
        for rid in table:
            assert len(AnswerCb(d="abcdefgh", s="s10", o=rid).pack().encode()) <= 64


def test_kb_check_flags_verification_dates_in_the_future(kb_copy: Path) -> None:
    edit(kb_copy, "landing", lambda d: d[0]["sources"][0].update(checked="2099-01-01"))
    report = check_directory(kb_copy, TODAY)
    assert not report.ok and report.future and "2099-01-01" in str(report.future[0])


def test_kb_check_horizon_is_configurable(kb_copy: Path) -> None:
    short = check_directory(kb_copy, TODAY, horizon_months=1)
    long = check_directory(kb_copy, TODAY, horizon_months=1200)
    assert len(short.stale) > len(long.stale)
    # A century of horizon leaves only the records never dated nor checked.
    assert all("never checked" in p.message for p in long.stale)
