"""Three `python -m bot` replicas in webhook mode on one redis-server, one fake Telegram: any
update may land on any replica (tests/e2e/replicas.py delivers them).

The replicas start once for the module (three cold starts share two cores here); each test has
users of its own, and finds every replica running again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis import Redis as SyncRedis

from bot.dialog.matching import normalise
from tests.e2e.fake_api import FakeBotAPI
from tests.e2e.replicas import PUBLIC_URL, SECRET, Replicas
from tests.e2e.test_bot_e2e import User

# By buttons: a French SaaS company going to Montréal (test_bot_e2e's complete dialog).
TO_MONTREAL = ("Logiciel", "Amérique du Nord", "Canada", "Montréal", "10 à 49", "1 à 10 M€",
               "Occitanie", "Premiers pas", "Oui, 2", "20 à 50 k€")


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def group(fake: FakeBotAPI, redis_server: str,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replicas]:
    replicas = Replicas(fake, redis_server, tmp_path_factory.mktemp("replicas"), count=3)
    try:
        await replicas.start()
        yield replicas
    finally:
        await replicas.stop()
        with SyncRedis.from_url(redis_server) as client:
            client.flushdb()


@pytest_asyncio.fixture(loop_scope="module")
async def replicas(group: Replicas) -> Replicas:
    """The three replicas, all running, with the delivery record emptied."""
    for replica in group.replicas:
        if not replica.alive:
            await group.start_replica(replica.index)
    group.reset()
    return group


def handled_by(replicas: Replicas, fake: FakeBotAPI, user_id: int) -> list[int]:
    """The replica that handled each of this user's updates, in order."""
    mine = {u["update_id"] for u in fake.injected
            if user_id in (u.get("message", {}).get("from", {}).get("id"),
                           u.get("callback_query", {}).get("from", {}).get("id"))}
    return [replica for update_id, replica in replicas.deliveries if update_id in mine]


async def plan_of(user: User, answers: tuple[str, ...]) -> str:
    """/start, the answers by buttons, "I don't know" to the optional questions, then the plan
    button: the plan summary (one message)."""
    welcome = await user.send("/start")
    assert "1/8" in welcome[-1].plain_text, [m.plain_text for m in welcome]
    for label in answers:
        await user.press(label)
    await user.skip_optional()
    (plan,) = await user.press("Voir mon plan")
    return plan.plain_text


async def test_a_dialog_hopping_between_replicas_reaches_its_plan(
        fake: FakeBotAPI, replicas: Replicas) -> None:
    assert {c.params["url"] for c in fake.calls("setWebhook")} == {PUBLIC_URL}
    assert {c.params["secret_token"] for c in fake.calls("setWebhook")} == {SECRET}
    user = User(fake, 1501, "fr")
    plan = await plan_of(user, TO_MONTREAL)
    assert "Montréal" in plan and "Par quoi commencer" in plan
    landing = await user.section("Où atterrir")
    assert "Où atterrir" in landing and "Montréal" in landing

    hops = handled_by(replicas, fake, user.id)
    assert hops == [n % 3 for n in range(len(hops))]  # every update on the next replica
    assert len(hops) >= 12
    assert replicas.missed == [] and replicas.answered_with_method == []
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []


async def test_a_dialog_goes_on_when_its_replica_is_killed(
        fake: FakeBotAPI, replicas: Replicas) -> None:
    user = User(fake, 1502, "fr")
    await user.send("/start")
    for label in TO_MONTREAL[:4]:
        await user.press(label)
    shown = await user.press(TO_MONTREAL[4])  # headcount: the turnover question comes
    assert "4/8" in shown[-1].plain_text, [m.plain_text for m in shown]
    last = handled_by(replicas, fake, user.id)[-1]
    await replicas.kill(last)  # the replica that handled the last answer, SIGKILLed
    assert replicas[last].process is not None and replicas[last].process.returncode == -9

    # The load balancer has not noticed: the next update goes to the dead replica first,
    # and Telegram's retry lands on a live one.
    replicas.route = last
    shown = await user.press(TO_MONTREAL[5])
    assert "5/8" in shown[-1].plain_text, [m.plain_text for m in shown]
    assert [(m.replica, m.status) for m in replicas.missed] == [(last, None)]
    replicas.route = None
    count = len(replicas.deliveries)
    for label in TO_MONTREAL[6:]:
        await user.press(label)
    await user.skip_optional()
    (plan,) = await user.press("Voir mon plan")
    assert "Montréal" in plan.plain_text and "Par quoi commencer" in plan.plain_text

    after = [replica for _, replica in replicas.deliveries[count:]]
    assert last not in after and len(set(after)) == 2  # the other two took turns
    assert len(replicas.missed) == 1

    await replicas.restart(last)  # back, with the same data dir: it serves the same dialog
    replicas.route = last
    count = len(replicas.deliveries)
    landing = await user.section("Où atterrir")
    assert "Montréal" in landing
    assert [replica for _, replica in replicas.deliveries[count:]] == [last]
    assert len(replicas.missed) == 1
    assert fake.errors == [], fake.errors


async def test_two_users_hopping_replicas_at_once_do_not_mix(
        fake: FakeBotAPI, replicas: Replicas) -> None:
    targets = {1601: "Singapour", 1602: "Boston"}
    users = [User(fake, user_id, "fr") for user_id in targets]
    for user in users:
        fake.send_message(user.id, "/start")
    await fake.wait_idle(quiet=0.3, timeout=20)
    for step in (["saas"] * 2, list(targets.values()), ["12"] * 2, ["2M"] * 2,
                 ["Bretagne"] * 2, ["premiers pas"] * 2, ["non"] * 2, ["je ne sais pas"] * 2):
        for user, answer in zip(users, step, strict=True):  # both in flight at once
            fake.send_message(user.id, answer)
        await fake.wait_idle(quiet=0.3, timeout=20)
    for user in users:
        await user.skip_optional()
    for user in users:
        message = user.keyboard_message()
        plan_button = next(d for t, d in FakeBotAPI.buttons(message) if d and "plan" in t)
        fake.press_button(user.id, message.message_id, plan_button)
    await fake.wait_idle(quiet=0.3, timeout=30)
    deadline = time.monotonic() + 30
    while not all(any("Recommencer" in t for t, _ in FakeBotAPI.buttons(u.keyboard_message()))
                  for u in users):  # each plan ends with its buttons
        assert time.monotonic() < deadline, "not every plan arrived"
        await asyncio.sleep(0.1)
    for user, target in zip(users, targets.values(), strict=True):
        landing = await user.section("Où atterrir")
        assert normalise(target) in normalise(landing), (target, landing[:300])
        assert len(set(handled_by(replicas, fake, user.id))) == 3  # on every replica
    assert replicas.missed == []
    assert fake.errors == [], fake.errors
