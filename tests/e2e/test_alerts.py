"""Aid alerts: which schemes a version opens, who is told (once), pacing, and a 403."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from aiogram import Bot

from bot.advice.alerts import opened_schemes
from bot.clock import FixedClock
from bot.kb.models import AidStatus, Confidence, Criterion, CriterionField, Source, Text
from bot.kb.snapshot import KnowledgeBase
from bot.notifier import AlertNotifier, Pacer
from bot.render.templates import Renderer
from bot.storage.journal import JournalStore
from bot.storage.users import UserRepository
from tests.conftest import TODAY
from tests.e2e.fake_api import FakeBotAPI

OCCITANIE = {"sector": "saas", "target_region": "asia", "target_country": "sg",
             "headcount": "h10_49", "turnover": "t1_10m", "home_region": "occitanie",
             "stage": "first_steps", "vie": "no", "budget": "b20_50k"}


def with_scheme(kb: KnowledgeBase, rid: str, status: AidStatus = AidStatus.active,
                regions: list[str] | None = None) -> KnowledgeBase:
    """A copy of kb with one more scheme (reserved to `regions` if given)."""
    template = next(iter(kb.aid.values()))
    criteria = [Criterion(field=CriterionField.home_region, op="in", value=regions)
                ] if regions else []
    aid = template.model_copy(update={"id": rid, "status": status, "criteria": criteria,
                                      "valid_to": None,
                                      "name": Text(fr=f"Aide {rid}", en=f"Scheme {rid}")})
    meta = kb.meta.model_copy(update={"version": kb.version + "-" + rid})
    return replace(kb, aid={**kb.aid, rid: aid}, meta=meta)


def test_opened_schemes_are_new_or_reopened_active_ones(kb: KnowledgeBase) -> None:
    closed = with_scheme(kb, "x-scheme", AidStatus.closed)
    assert opened_schemes(kb, closed) == []
    reopened = with_scheme(closed, "x-scheme", AidStatus.active)
    assert [a.id for a in opened_schemes(closed, reopened)] == ["x-scheme"]
    assert [a.id for a in opened_schemes(kb, reopened)] == ["x-scheme"]
    assert opened_schemes(reopened, reopened) == []


async def test_pacer_keeps_under_the_overall_and_per_chat_limits() -> None:
    now = [0.0]
    sends: list[tuple[float, int]] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(per_second=25, per_chat=1.0, clock=lambda: now[0], sleep=sleep)
    for chat in [*range(50), 7, 7, 7]:
        await pacer.wait(chat)
        sends.append((now[0], chat))
    times = [t for t, _ in sends]
    assert all(b - a >= 1 / 25 - 1e-9 for a, b in zip(times, times[1:], strict=False))
    sevens = [t for t, c in sends if c == 7]
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(sevens, sevens[1:], strict=False))
    assert times[49] == pytest.approx(49 / 25)


@pytest.fixture
async def users(tmp_path: Path) -> UserRepository:
    return UserRepository(JournalStore(tmp_path / "state"))


async def test_matching_subscribers_are_told_once_and_a_block_marks_inactive(
        fake: FakeBotAPI, bot: Bot, users: UserRepository, kb: KnowledgeBase) -> None:
    for user_id in (11, 12, 13, 14):
        fake.send_message(user_id, "/start")  # the chats exist
    brittany = {**OCCITANIE, "home_region": "bretagne"}
    await users.subscribe_alerts(11, OCCITANIE, kb.version, TODAY.isoformat(), "fr")
    await users.subscribe_alerts(12, brittany, kb.version, TODAY.isoformat(), "en")
    await users.subscribe_alerts(13, OCCITANIE, kb.version, TODAY.isoformat(), "en")
    await users.subscribe_alerts(14, OCCITANIE, kb.version, TODAY.isoformat(), "fr")
    await users.stop_alerts(14)
    notifier = AlertNotifier(bot, Renderer(), users, clock=FixedClock.on(TODAY),
                             pacer=Pacer(per_second=1000, per_chat=0))
    new = with_scheme(kb, "occ-export", regions=["occitanie"])
    await notifier(kb, new)
    await asyncio.wait_for(notifier.drain(), 10)
    assert [len(fake.messages(u)) for u in (11, 12, 13, 14)] == [1, 0, 1, 0]
    assert "Aide occ-export" in fake.last_message(11).plain_text
    assert FakeBotAPI.buttons(fake.last_message(11)) == [
        ("🔄 Voir mon plan à jour", "al:plan"), ("🔕 Arrêter les alertes", "al:off")]
    assert "Scheme occ-export" in fake.last_message(13).plain_text  # in their language
    record = await users.get(11)
    assert record is not None and record["alerts"]["told"] == ["occ-export"]

    # The same scheme again (a rollback and a re-apply): nobody is told twice.
    await notifier(kb, new)
    await asyncio.wait_for(notifier.drain(), 10)
    assert [len(fake.messages(u)) for u in (11, 13)] == [1, 1]

    # Another scheme; user 11 has blocked the bot meanwhile.
    newer = with_scheme(new, "occ-second", regions=["occitanie"])
    subscribers = await users.alert_subscribers()
    assert subscribers.index(11) < subscribers.index(13)
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    told = await notifier.notify(newer, opened_schemes(new, newer))
    assert told == 1 and len(fake.messages(13)) == 2
    blocked = await users.get(11)
    assert blocked is not None and blocked["active"] is False
    assert "occ-second" not in blocked["alerts"]["told"]
    assert fake.errors == []


async def test_an_expired_scheme_is_not_announced(bot: Bot, users: UserRepository,
                                                  kb: KnowledgeBase,
                                                  fake: FakeBotAPI) -> None:
    fake.send_message(21, "/start")
    await users.subscribe_alerts(21, OCCITANIE, kb.version, TODAY.isoformat(), "fr")
    new = with_scheme(kb, "late")
    expired = replace(new, aid={**new.aid, "late": new.aid["late"].model_copy(
        update={"valid_to": TODAY - dt.timedelta(days=1)})})
    notifier = AlertNotifier(bot, Renderer(), users, clock=FixedClock.on(TODAY))
    assert await notifier.notify(expired, opened_schemes(kb, expired)) == 0
    assert fake.messages(21) == []


async def test_an_alert_dates_its_source_and_flags_an_old_page(bot: Bot, users: UserRepository,
                                                               kb: KnowledgeBase,
                                                               fake: FakeBotAPI) -> None:
    fake.send_message(31, "/start")
    await users.subscribe_alerts(31, OCCITANIE, kb.version, TODAY.isoformat(), "fr")
    new = with_scheme(kb, "old-page", regions=["occitanie"])
    horizon = kb.meta.verification_horizon_months
    old_year = str(TODAY.year - 1 - horizon // 12)
    page = Source(url="https://www.laregion.fr/aide", published=old_year,  # type: ignore[arg-type]
                  confidence=Confidence.medium)
    old = replace(new, aid={**new.aid, "old-page": new.aid["old-page"].model_copy(
        update={"sources": [page]})})
    notifier = AlertNotifier(bot, Renderer(), users, clock=FixedClock.on(TODAY),
                             pacer=Pacer(per_second=1000, per_chat=0))
    assert await notifier.notify(old, opened_schemes(kb, old)) == 1
    text = fake.last_message(31).plain_text
    assert f"laregion.fr, page de {old_year} ⏳ plus de {horizon} mois" in text
