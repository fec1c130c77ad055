"""Through the real Dispatcher: /alerts (on, list, stop), alerts in /mydata and /forget, the
admin surface closed to everyone else (commands, documents, forged buttons), and what admins are
told when a live file or a backup does not read."""

from __future__ import annotations

import copy
import html
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import GetFile, SendDocument, SendMessage

from bot.advice.alerts import opened_schemes
from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.console import LocalSession
from bot.kb.loader import COLLECTIONS
from bot.render.callbacks import KbCb
from bot.storage.users import ALERTS_NAMESPACE, CLAIMS_NAMESPACE
from tests.conftest import KNOWLEDGE_DIR, TODAY, make_settings
from tests.dialog.driver import ChatDriver
from tests.dialog.test_dialog_flow import run_to_recap_by_buttons
from tests.e2e.test_alerts import with_scheme

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
    await chat.skip_optional()
    await chat.press("Voir mon plan")
    await chat.press("M'alerter")
    return chat


async def test_alerts_follow_the_latest_plan_and_stop_on_request(app: App) -> None:
    chat = ChatDriver(app, user_id=3001)
    none = await chat.send("/alerts")
    assert "pas d'alerte" in text(none) and "Terminez un plan" in text(none)
    await run_to_recap_by_buttons(chat)
    await chat.skip_optional()
    await chat.press("Voir mon plan")
    on = await chat.press("M'alerter")
    assert "Alertes activées" in text(on)
    assert "SaaS" in text(on) and "Auvergne-Rhône-Alpes" in text(on)
    users = app.dispatcher["users"]
    assert await users.alert_subscribers() == [3001]
    status = await chat.send("/alerts")
    assert "Vos alertes" in text(status) and TODAY.isoformat() in text(status)
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
    await chat.skip_optional()
    plan = await chat.press("Voir mon plan")
    assert "San Francisco" in text(plan)


async def test_forget_removes_the_subscription_too(app: App) -> None:
    chat = await subscribed(app, 3002)
    kb = app.store.current
    new = with_scheme(kb, "for-all")  # no criterion: matches any plan
    mark = len(chat.session.requests)
    assert await app.notifier.notify(new, opened_schemes(kb, new)) == 1
    alert = [r for r in chat.session.requests[mark:] if isinstance(r, SendMessage)]
    assert "Aide for-all" in text(alert)
    mydata = await chat.send("/mydata")
    assert '"alerts_sent"' in text(mydata) and '"for-all"' in text(mydata)
    await chat.send("/forget")
    await chat.press("effacer")
    assert [k async for k in app.kv.keys(ALERTS_NAMESPACE)] == []
    assert [k async for k in app.kv.keys(CLAIMS_NAMESPACE)] == []  # which alerts were sent
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
    assert len(exported) == len(COLLECTIONS)
    meta = next(r for r in exported if r.document.filename == "meta.json")  # type: ignore[union-attr]
    assert json.loads(meta.document.data)["version"] == app.store.current.version  # type: ignore[union-attr]


# --- knowledge files that do not read ---------------------------------------------------------


@pytest.fixture
async def own_kb_app(tmp_path: Path) -> AsyncIterator[App]:
    """An app on its own copy of knowledge/, which the tests may break."""
    kdir = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, kdir, ignore=shutil.ignore_patterns(".lock", ".pending"))
    settings = make_settings(tmp_path / "data", admin_ids=str(ADMIN), knowledge_dir=kdir)
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()


def apply_new_scheme(app: App) -> tuple[str, str]:
    """One apply through the engine, so a backup exists: (version backed up, new version)."""
    record = copy.deepcopy(next(iter(json.loads(
        (app.settings.knowledge_dir / "aid.json").read_text()))))
    record["id"] = "dialog-test-scheme"
    proposal = app.kb_admin.propose_upload(json.dumps(record).encode(), "aid.json")
    assert proposal.changes is not None
    result = app.kb_admin.apply(proposal.changes, "test")
    assert result.status == "applied" and result.previous is not None
    return result.previous, result.version


async def test_kb_names_a_live_file_that_does_not_read_and_the_bot_stays_up(
        own_kb_app: App) -> None:
    backed_up, _ = apply_new_scheme(own_kb_app)
    aid = own_kb_app.settings.knowledge_dir / "aid.json"
    good = aid.read_bytes()
    aid.write_text("[" * 100_000 + "]" * 100_000)
    admin = ChatDriver(own_kb_app, user_id=ADMIN)
    reply = text(await admin.send("/kb"))
    assert "La base de connaissances en place ne se lit pas" in reply
    assert "aid.json: nested more than 16 levels deep" in reply
    assert f"kb_backups/{backed_up}/" in reply and "kb check" in reply
    assert "problème technique" not in reply
    # Users go on with the version that was loaded.
    user = ChatDriver(own_kb_app, user_id=3010)
    await run_to_recap_by_buttons(user)
    await user.skip_optional()
    parts = await user.see_plan("Voir mon plan")
    assert "Aides publiques" in parts["aid"] and "San Francisco" in parts["summary"]
    # Repaired by hand: /kb shows the base again.
    aid.write_bytes(good)
    assert "Base de connaissances" in text(await admin.send("/kb"))


async def test_a_rollback_to_a_backup_that_does_not_read_names_the_file(
        own_kb_app: App) -> None:
    backed_up, live = apply_new_scheme(own_kb_app)
    backup = own_kb_app.settings.data_dir / "kb_backups" / backed_up / "landing.json"
    good = backup.read_bytes()
    files = {p.name: p.read_bytes() for p in own_kb_app.settings.knowledge_dir.glob("*.json")}
    admin = ChatDriver(own_kb_app, user_id=ADMIN, language="en")
    home = await admin.send("/kb")
    await admin.press("Roll back", admin.last_keyboard_message())
    versions = admin.last_keyboard_message()
    backup.write_text('[{"id": "a", "name": "A", "name": "B"}]')
    reply = text(await admin.press(f"Back to {backed_up}", versions))
    assert f"The backup of version <code>{backed_up}</code> does not read" in reply
    assert (f"kb_backups/{backed_up}/landing.json [a] name: this key is written more than once"
            in reply)
    assert "Choose another version" in reply and "technical" not in reply
    # Broken between the preview and Apply: told the same way, nothing changes.
    backup.write_bytes(good)
    preview = text(await admin.press(f"Back to {backed_up}", versions))
    assert "dialog-test-scheme" in preview
    backup.write_text("{" * 50 + "}" * 50)
    reply = text(await admin.press("Apply"))
    assert f"The backup of version <code>{backed_up}</code> does not read" in reply
    assert f"kb_backups/{backed_up}/landing.json: not valid JSON" in reply
    assert {p.name: p.read_bytes()
            for p in own_kb_app.settings.knowledge_dir.glob("*.json")} == files
    assert "Knowledge base" in text(home) and live in text(await admin.send("/kb"))
