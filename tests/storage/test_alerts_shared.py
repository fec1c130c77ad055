"""Alerts with several replicas on one Redis: each (subscriber, scheme) pair claimed and sent
once however many notifiers run the same pass, a notifier dying mid-pass leaving the rest to
another, and the claims forgotten with the user."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage

from bot.advice.alerts import opened_schemes
from bot.app import build_app
from bot.clock import FixedClock
from bot.console import LocalSession
from bot.kb.snapshot import KnowledgeBase
from bot.notifier import AlertNotifier
from bot.pacing import Pacer, RedisPacer
from bot.render.templates import Renderer
from bot.storage.redis import RedisKeyValue
from bot.storage.users import CLAIMS_NAMESPACE, UserRepository
from tests.conftest import TODAY, make_settings
from tests.e2e.fake_api import DEFAULT_TOKEN, FakeBotAPI
from tests.e2e.test_alerts import OCCITANIE, with_scheme
from tests.storage.conftest import MakeKV

MATCHING = list(range(101, 110))  # Occitanie: told about the new scheme
OTHERS = [201, 202, 203]  # Brittany: not concerned


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    for user_id in MATCHING + OTHERS:
        api.send_message(user_id, "/start")  # the chats exist
    yield api
    await api.stop()


Replica = Callable[[str], AlertNotifier]


@pytest.fixture
async def replica(fake: FakeBotAPI, redis_url: str) -> AsyncIterator[Replica]:
    """A factory of notifiers as separate replicas would have them: each its own Bot session
    and its own Redis connections, all on the same fake Bot API and the same Redis."""
    opened: list[tuple[Bot, RedisKeyValue]] = []

    def make(name: str) -> AlertNotifier:
        bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(
            api=TelegramAPIServer.from_base(fake.base_url)),
            default=DefaultBotProperties(parse_mode="HTML"))
        kv = RedisKeyValue.from_url(redis_url)
        opened.append((bot, kv))
        return AlertNotifier(bot, Renderer(), UserRepository(kv, FixedClock.on(TODAY)),
                             clock=FixedClock.on(TODAY), pacer=Pacer(per_second=1000, per_chat=0),
                             name=name)

    yield make
    for bot, kv in opened:
        await bot.session.close()
        await kv.close()


async def subscribe_all(users: UserRepository, kb: KnowledgeBase) -> None:
    for user_id in MATCHING:
        await users.subscribe_alerts(user_id, OCCITANIE, kb.version, TODAY.isoformat(), "fr")
    for user_id in OTHERS:
        await users.subscribe_alerts(user_id, {**OCCITANIE, "home_region": "bretagne"},
                                     kb.version, TODAY.isoformat(), "fr")


def received(fake: FakeBotAPI) -> dict[int, int]:
    return {u: len(fake.messages(u)) for u in MATCHING + OTHERS}


async def test_replicas_running_the_same_pass_tell_each_subscriber_once(
        replica: Replica, fake: FakeBotAPI, kb: KnowledgeBase) -> None:
    notifiers = [replica(f"replica-{i}") for i in range(3)]
    users = notifiers[0].users
    await subscribe_all(users, kb)
    new = with_scheme(kb, "occ-export", regions=["occitanie"])
    schemes = opened_schemes(kb, new)
    told = await asyncio.gather(*(n.notify(new, schemes) for n in notifiers))
    assert sum(told) == len(MATCHING)
    assert received(fake) == {**{u: 1 for u in MATCHING}, **{u: 0 for u in OTHERS}}
    assert all("Aide occ-export" in fake.last_message(u).plain_text for u in MATCHING)
    claimers: Counter[str] = Counter()
    for user_id in MATCHING:
        claims = await users.alert_claims(user_id)
        assert claims is not None and list(claims) == ["occ-export"]
        claimers[claims["occ-export"]["by"]] += 1
        record = await users.get(user_id)
        assert record is not None and record["alerts"]["told"] == ["occ-export"]
    assert sum(claimers.values()) == len(MATCHING)
    assert set(claimers) <= {n.name for n in notifiers}
    for user_id in OTHERS:
        assert await users.alert_claims(user_id) is None
    # The same pass again on every replica (a reload seen late): nobody is told twice.
    assert await asyncio.gather(*(n.notify(new, schemes) for n in notifiers)) == [0, 0, 0]
    assert received(fake) == {**{u: 1 for u in MATCHING}, **{u: 0 for u in OTHERS}}
    assert fake.errors == []


class DiesAt:
    """A pacer whose process is killed before its send number `at` (counting from 0): the
    task running the pass is cancelled right there, after that subscriber's claim."""

    def __init__(self, at: int) -> None:
        self.left = at

    async def wait(self, chat_id: int) -> None:
        if self.left == 0:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)  # the cancellation lands here
        self.left -= 1


async def test_a_replica_dying_mid_pass_leaves_the_rest_to_another_and_none_twice(
        replica: Replica, fake: FakeBotAPI, kb: KnowledgeBase) -> None:
    dying, other = replica("dying"), replica("other")
    dying.pacer = DiesAt(3)
    users = other.users
    await subscribe_all(users, kb)
    new = with_scheme(kb, "occ-export", regions=["occitanie"])
    schemes = opened_schemes(kb, new)
    order = [u for u in await users.alert_subscribers() if u in MATCHING]
    run = asyncio.create_task(dying.notify(new, schemes))
    with pytest.raises(asyncio.CancelledError):
        await run
    assert [received(fake)[u] for u in order] == [1, 1, 1] + [0] * (len(order) - 3)
    lost = order[3]  # claimed, then the process died before sending: lost, not duplicated
    claims = await users.alert_claims(lost)
    assert claims is not None and claims["occ-export"]["by"] == "dying"

    assert await other.notify(new, schemes) == len(order) - 4
    counts = received(fake)
    assert all(counts[u] == 0 for u in OTHERS)
    assert [counts[u] for u in order] == [1, 1, 1, 0] + [1] * (len(order) - 4)
    for index, user_id in enumerate(order):
        claims = await users.alert_claims(user_id)
        assert claims is not None
        assert claims["occ-export"]["by"] == ("dying" if index <= 3 else "other")
    assert fake.errors == []


async def test_alert_claims_are_won_once_and_forgotten_with_the_user(
        make_kv: MakeKV, backend: str) -> None:
    stores = [make_kv() for _ in range(3)] if backend == "redis" else [make_kv()] * 3
    repos = [UserRepository(kv, FixedClock.on(TODAY)) for kv in stores]
    wanted = [f"s{i}" for i in range(20)]
    won = await asyncio.gather(*(repo.claim_alerts(7, wanted, f"p{i}")
                                 for i in range(4) for repo in repos))
    assert sorted(i for ids in won for i in ids) == sorted(wanted)  # each id won exactly once
    claims = await repos[0].alert_claims(7)
    assert claims is not None and sorted(claims) == sorted(wanted)
    assert claims["s0"]["claimed_at"] == FixedClock.on(TODAY).stamp()
    assert await repos[1].claim_alerts(7, ["s1", "s20", "s20"], "late") == ["s20"]
    assert await repos[0].claim_alerts(8, ["s1"], "x") == ["s1"]  # per user
    await repos[0].delete(7)
    assert await repos[2].alert_claims(7) is None
    assert [k async for k in stores[0].keys(CLAIMS_NAMESPACE)] == ["8"]


async def test_two_apps_on_one_redis_share_the_pace_and_tell_each_subscriber_once(
        redis_url: str, tmp_path: Path, kb: KnowledgeBase) -> None:
    """As build_app wires it with REDIS_URL: both replicas get the reload, both run the pass."""
    apps = [build_app(make_settings(tmp_path / f"replica{i}", redis_url=redis_url),
                      session=LocalSession(), token="42:TEST", clock=FixedClock.on(TODAY))
            for i in range(2)]
    try:
        assert all(isinstance(a.notifier.pacer, RedisPacer) for a in apps)
        await subscribe_all(apps[0].notifier.users, kb)
        new = with_scheme(kb, "occ-export", regions=["occitanie"])
        for app in apps:
            await app.notifier(kb, new)  # the Reloader's call, on each replica
        await asyncio.wait_for(asyncio.gather(*(a.notifier.drain() for a in apps)), 30)
        sent = Counter(r.chat_id for a in apps
                       for r in a.bot.session.requests  # type: ignore[attr-defined]
                       if isinstance(r, SendMessage) and "Aide occ-export" in r.text)
        assert sent == Counter(MATCHING)
    finally:
        for app in apps:
            await app.close()
