"""Through the real Dispatcher: /alerts (on, list, stop), alerts in /mydata and /forget, and
the admin surface closed to everyone else (commands, documents, forged buttons)."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import GetFile, SendDocument

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.console import LocalSession
from bot.render.callbacks import KbCb
from bot.storage.users import ALERTS_NAMESPACE
from tests.conftest import TODAY, make_settings
from tests.dialog.driver import ChatDriver
from tests.dialog.test_dialog_flow import run_to_recap_by_buttons

ADMIN = 4242


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings: Settings = make_settings(tmp_path / "data", admin_ids=str(ADMIN))
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()


def text(sent: list) -> str:  # type: ignore[type-arg]
    """What the user reads (entities decoded)."""
    return html.unescape("\n".join(m.text for m in sent))


async def subscribed(app: App, user_id: int) -> ChatDriver:
    """A user who finished a plan (the shared dialog's answers) and asked for alerts."""
    chat = ChatDriver(app, user_id=user_id)
    await run_to_recap_by_buttons(chat)
    await chat.press("Voir mon plan")
    await chat.press("M'alerter")
    return chat


async def test_alerts_follow_the_latest_plan_and_stop_on_request(app: App) -> None:
    chat = ChatDriver(app, user_id=3001)
    none = await chat.send("/alerts")
    assert "pas d'alerte" in text(none) and "Terminez un plan" in text(none)
    await run_to_recap_by_buttons(chat)
    await chat.press("Voir mon plan")
    on = await chat.press("M'alerter")
    assert "Alertes activées" in text(on)
    assert "SaaS" in text(on) and "Auvergne-Rhône-Alpes" in text(on)
    users = app.dispatcher["users"]
    assert await users.alert_subscribers() == [3001]
    status = await chat.send("/alerts")
    assert "Vos alertes" in text(status) and "2026-11-26" in text(status)
    assert any("Arrêter" in t for t, _ in chat.buttons())
    mydata = await chat.send("/mydata")
    assert '"alerts"' in text(mydata) and '"told"' in text(mydata)
    stopped = await chat.press("Arrêter")
    assert "Alertes arrêtées" in text(stopped)
    assert await users.alert_subscribers() == []
    again = await chat.send("/alerts stop")
    assert "pas d'alerte" in text(again)


async def test_the_button_under_an_alert_brings_the_answers_back_to_a_recap(app: App) -> None:
    chat = await subscribed(app, 3005)
    await chat.send("/restart")  # whatever the user did since
    again = await chat.press_data("al:plan", chat.last_keyboard_message())
    assert "Je reprends les réponses de vos alertes" in text(again)
    assert "Auvergne-Rhône-Alpes" in text(again) and "1/8" not in text(again)
    assert any("Voir mon plan" in t for t, _ in chat.buttons())  # the recap, not a question
    plan = await chat.press("Voir mon plan")
    assert "San Francisco" in text(plan)


async def test_forget_removes_the_subscription_too(app: App) -> None:
    chat = await subscribed(app, 3002)
    await chat.send("/forget")
    await chat.press("effacer")
    assert [k async for k in app.kv.keys(ALERTS_NAMESPACE)] == []
    assert await app.dispatcher["users"].get(3002) is None


async def test_the_alert_button_without_a_plan_says_what_to_do(app: App) -> None:
    chat = ChatDriver(app, user_id=3003)
    await chat.send("/start")
    sent = await chat.press_data("al:on", chat.last_keyboard_message())
    assert "terminez d'abord le questionnaire" in text(sent)
    assert await app.dispatcher["users"].alert_subscribers() == []


async def test_non_admins_reach_no_admin_feature(app: App, tmp_path: Path) -> None:
    stranger = ChatDriver(app, user_id=3004)
    assert "Je ne connais pas cette commande" in text(await stranger.send("/kb"))
    document = {"file_id": "BQACAgIAAxkBAAID000001", "file_unique_id": "AgADdoc1",
                "file_name": "aid.json", "mime_type": "application/json", "file_size": 20}
    reply = await stranger.send_update(document=document)
    assert "/start" in text(reply)  # the ordinary reply to a message outside a dialog
    await stranger.send("/start")
    mid_dialog = await stranger.send_update(document=document)
    assert "pas compris" in text(mid_dialog)
    for action in ("export", "versions", "apply"):
        await stranger.press_data(KbCb(a=action, t="x").pack(),
                                  stranger.last_keyboard_message())
    requests = stranger.session.requests
    assert not [r for r in requests if isinstance(r, GetFile | SendDocument)]
    # The admin, for contrast, gets the panel and the export.
    admin = ChatDriver(app, user_id=ADMIN)
    home = await admin.send("/kb")
    assert "Base de connaissances" in text(home)
    assert f"aid : {len(app.store.current.aid)}\n" in text(home)
    assert f"landing : {len(app.store.current.landing)}\n" in text(home)
    await admin.press("Exporter")
    exported = [r for r in requests if isinstance(r, SendDocument)]
    assert len(exported) == 11
    meta = next(r for r in exported if r.document.filename == "meta.json")  # type: ignore[union-attr]
    assert json.loads(meta.document.data)["version"] == app.store.current.version  # type: ignore[union-attr]
