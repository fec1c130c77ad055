"""The real Dispatcher on a real redis-server, with many people acting at the same moment:
one-time invitations, link statistics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.advisors.repository import AdvisorRepository
from bot.app import App, build_app
from bot.clock import FixedClock
from bot.console import LocalSession
from tests.conftest import TODAY, make_settings
from tests.dialog.driver import ChatDriver

ADMIN = 900


@pytest.fixture
async def app(redis_url: str, tmp_path: Path) -> AsyncIterator[App]:
    settings = make_settings(tmp_path / "data", admin_ids=str(ADMIN), redis_url=redis_url)
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()


def repo(app: App) -> AdvisorRepository:
    advisors = app.dispatcher["advisors"]
    assert isinstance(advisors, AdvisorRepository)
    return advisors


async def test_ten_people_opening_one_invitation_at_once_make_one_advisor(app: App) -> None:
    code = await repo(app).create_invite(ADMIN, "CCI Lyon")
    people = [ChatDriver(app, user_id=7000 + i) for i in range(10)]
    await asyncio.gather(*(person.send("/help") for person in people))  # all in the bot already
    await asyncio.gather(*(person.send(f"/start i_{code}") for person in people))
    advisors = [p.user.id for p in people if await repo(app).advisor(p.user.id) is not None]
    assert len(advisors) == 1
    invite = await repo(app).kv.get("invites", code)
    assert invite is not None and invite["used_by"] == advisors[0]
    welcomed = {r.chat_id for r in app.bot.session.requests  # type: ignore[attr-defined]
                if "conseiller export sur Export Advisor" in getattr(r, "text", "")}
    assert welcomed == set(advisors)  # the nine others got the plain welcome


async def test_no_start_of_a_link_is_lost_when_twenty_clients_open_it_at_once(app: App) -> None:
    await repo(app).register(4100, "Claire Martin", "CCI Lyon")
    code = await repo(app).create_link(4100, {})
    clients = [ChatDriver(app, user_id=7100 + i) for i in range(20)]
    await asyncio.gather(*(client.send("/help") for client in clients))
    await asyncio.gather(*(client.send(f"/start a_{code}") for client in clients))
    assert (await repo(app).stats(code))["started"] == 20
