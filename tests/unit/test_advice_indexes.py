"""The per-snapshot indexes the advice engine reads give the advice of a full scan: landing
found block by block is the head of ranking every candidate, an admin's new record is in the new
snapshot's indexes, and schemes sharing a verdict still list their own conditions."""

from __future__ import annotations

import copy
import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

from bot.advice.eligibility import judge, judge_many
from bot.advice.landing import (
    MAX_LANDING,
    _offered,
    _rank_key,
    landing_level,
    recommend_landing,
)
from bot.clock import FixedClock
from bot.dialog.profile import Profile
from bot.kb.admin import KnowledgeAdmin
from bot.kb.models import Audience, Condition, ConditionKind, Landing
from bot.kb.snapshot import KnowledgeBase
from tests.conftest import KNOWLEDGE_DIR, TODAY

REGIONS = ("bretagne", "occitanie", "ile-de-france", "outre-mer")


def ranked_by_scanning(profile: Profile, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """Every record serving the target and offered, all ranked: what the indexes stand for."""
    serving = [(rec, level) for rec in kb.landing.values()
               if (level := landing_level(rec, profile)) and _offered(rec, profile)]
    serving.sort(key=lambda pair: _rank_key(pair[0], pair[1], profile))
    return [(rec.id, level) for rec, level in serving[:MAX_LANDING]]


def shuffled_landing(kb: KnowledgeBase, seed: int) -> KnowledgeBase:
    """The shipped landing records, each copied twice with a mix of what decides the ranking
    changed: offices covering other countries (their own too), offices reserved to a region,
    records serving the whole country, closed, unverified and local ones."""
    rng = random.Random(seed)
    countries = list(kb.countries)
    records: dict[str, Landing] = {}
    for n in range(2):
        for rec in kb.landing.values():
            update: dict[str, object] = {"id": f"{rec.id[:36]}-{n}"}
            if rng.random() < 0.3:
                update["covers"] = [*rng.sample(countries, 2), rec.country][:rng.randint(1, 3)]
            if rng.random() < 0.15:
                update["home_regions"] = rng.sample(REGIONS, rng.randint(1, 2))
            if rng.random() < 0.2:
                update["city"] = None
            if rng.random() < 0.1:
                update["status"] = rng.choice(["closed", "unverified"])
            if rng.random() < 0.05:
                update["audience"] = Audience.local
            records[str(update["id"])] = rec.model_copy(update=update)
    return replace(kb, landing=records)


def test_landing_is_the_head_of_ranking_every_candidate(kb: KnowledgeBase) -> None:
    sectors = [None, *list(kb.sectors)[:3]]
    checked = 0
    for seed in range(3):
        base = shuffled_landing(kb, seed)
        for city in base.cities.values():
            for target in (city.id, ""):
                for region in (*REGIONS, ""):
                    country = base.countries[city.country]
                    profile = Profile.from_answers({
                        "target_region": country.world_region, "target_country": country.id,
                        "target_city": target, "home_region": region,
                        "sector": sectors[checked % len(sectors)] or "",
                        "stage": ("first_steps", "exporting", "")[checked % 3],
                        "budget": ("b0_20k", "b50_150k")[checked % 2]})
                    found = [(la.record.id, la.level) for la in recommend_landing(profile, base)]
                    assert found == ranked_by_scanning(profile, base), (seed, profile)
                    checked += 1
    assert checked > 500


def test_an_office_added_by_an_admin_is_in_the_new_snapshot(tmp_path: Path) -> None:
    """A record covering the target from another country, and a region's own office, applied
    through the admin engine: the next snapshot offers both, the one before neither."""
    kdir = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, kdir, ignore=shutil.ignore_patterns(".lock", ".pending"))
    admin = KnowledgeAdmin(kdir, tmp_path / "data", clock=FixedClock.on(TODAY))
    records = json.loads((kdir / "landing.json").read_text())
    chamber = next(r for r in records if r["id"] == "cci-france-pays-bas")
    covering = {**copy.deepcopy(chamber), "id": "nordic-desk-amsterdam", "covers": ["no"]}
    own = {**copy.deepcopy(chamber), "id": "maison-bretagne-oslo", "kind": "network",
           "country": "no", "city": None, "home_regions": ["bretagne"]}
    before, _ = admin.load()
    proposal = admin.propose_upload(json.dumps({"upsert": [covering, own]}).encode(),
                                    "landing.json")
    assert proposal.ok and proposal.changes is not None, proposal
    assert admin.apply(proposal.changes, "telegram:1").status == "applied"
    after, _ = admin.load()

    def landing(kb: KnowledgeBase, region: str) -> list[tuple[str, str]]:
        profile = Profile.from_answers({"target_region": "europe", "target_country": "no",
                                        "target_city": "oslo", "home_region": region})
        return [(la.record.id, la.level) for la in recommend_landing(profile, kb)]

    for region in ("bretagne", "normandie"):
        assert not {"nordic-desk-amsterdam", "maison-bretagne-oslo"} & {
            i for i, _ in landing(before, region)}
    assert landing(after, "bretagne") == [("maison-bretagne-oslo", "country"),
                                          *landing(before, "bretagne"),
                                          ("nordic-desk-amsterdam", "covers")]
    assert landing(after, "normandie") == [*landing(before, "normandie"),
                                           ("nordic-desk-amsterdam", "covers")]


def test_schemes_with_the_same_rules_list_their_own_conditions(kb: KnowledgeBase) -> None:
    """Verdicts are shared by rule set: copies whose only difference is their conditions
    (another text, another that decides, one more exclusion, a note instead) keep theirs."""
    profile = Profile.from_answers({"sector": "saas", "headcount": "h10_49",
                                    "turnover": "t1_10m", "home_region": "bretagne",
                                    "stage": "first_steps", "vie": "yes", "vie_count": "1"})
    extra = Condition(fr="Autre condition.", en="Another condition.")
    copies = {}
    for a in kb.aid.values():
        variants = [
            [c.model_copy(update={"fr": c.fr + " (bis)"}) for c in a.conditions],
            [c.model_copy(update={"decides": not c.decides}) for c in a.conditions],
            [*a.conditions, extra],
            [c.model_copy(update={"kind": ConditionKind.note}) for c in a.conditions],
        ]
        for n, conditions in enumerate(variants):
            rid = f"{a.id[:36]}-c{n}"
            copies[rid] = a.model_copy(update={"id": rid, "conditions": conditions})
    base = replace(kb, aid={**kb.aid, **copies})
    schemes = list(base.aid.values())
    many = judge_many(schemes, profile, TODAY, base.rule_ids)
    assert many == [judge(a, profile, TODAY) for a in schemes]
    assert any(v.open_conditions and v.aid.id.endswith("-c0") for v in many)
