"""/privacy, /mydata and /forget through the real Dispatcher, storage and templates."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SetMyCommands
from aiogram.types import Message

from bot.app import PUBLIC_COMMANDS, App, build_app, register_commands
from bot.clock import FixedClock
from bot.console import LocalSession
from bot.handlers import kb_admin as kb_admin_handlers
from bot.handlers.kb_admin import PENDING as KB_PENDING
from bot.handlers.privacy import data_document, mydata_messages
from bot.render.split import LIMIT
from bot.render.templates import LOCALES, Renderer
from bot.storage.users import UserRepository
from tests.conftest import KNOWLEDGE_DIR, TODAY, make_settings
from tests.dialog.driver import ChatDriver
from tests.e2e.fake_api import parse_html

PRE = re.compile(r'<pre><code class="language-json">(.*?)</code></pre>', re.S)


def key(app: App, user_id: int, chat_id: int | None = None) -> StorageKey:
    return StorageKey(bot_id=app.bot.id, chat_id=chat_id or user_id, user_id=user_id)


def document(texts: list[str]) -> dict[str, Any]:
    """The JSON sent by /mydata, put back together from its <pre> blocks."""
    return json.loads("\n".join(html.unescape(m) for t in texts for m in PRE.findall(t)))


def toasts(chat: ChatDriver, mark: int) -> list[str]:
    return [r.text or "" for r in chat.session.requests[mark:]
            if isinstance(r, AnswerCallbackQuery)]


async def fsm_keys(app: App, user_id: int) -> list[str]:
    return [k async for k in app.kv.keys("fsm") if k.split(":")[2] == str(user_id)]


def progress(text: str) -> str | None:
    found = re.search(r"<b>(\d/8)</b>", text)
    return found.group(1) if found else None


async def test_privacy_explains_what_why_how_long_where_in_french(app: App) -> None:
    chat = ChatDriver(app, user_id=3101, language="fr")
    [shown] = await chat.send("/privacy")
    text = shown.text
    for expected in ("identifiant Telegram", "langue", "réponses", "version de la base",
                     "bloqué", "date de création", "Pourquoi", "Combien de temps",
                     "pas encore d'effacement automatique", "serveur", "tiers",
                     "/mydata", "/forget"):
        assert expected in text, expected


async def test_privacy_in_english(app: App) -> None:
    chat = ChatDriver(app, user_id=3102, language="en")
    [shown] = await chat.send("/privacy")
    text = shown.text
    for expected in ("Telegram user id", "language", "answers", "knowledge-base version",
                     "blocked", "created", "Why", "For how long",
                     "no automatic deletion", "server", "third party", "/mydata", "/forget"):
        assert expected in text, expected


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", ("journal des modifications de la base de connaissances",
            "votre identifiant et votre nom d'utilisateur Telegram", "/forget ne l'efface pas",
            "l'effacement est enregistré", "chaque conseiller qui l'a reçu est prévenu",
            "n'efface pas cet accord", "invitations")),
    ("en", ("log of knowledge-base changes", "your Telegram id and username",
            "/forget does not erase it", "the deletion is recorded",
            "every advisor who received it is told", "does not erase that consent",
            "invitations")),
])
async def test_privacy_says_what_forget_cannot_erase_and_when_it_is_final(
        app: App, language: str, expected: tuple[str, ...]) -> None:
    [shown] = await ChatDriver(app, user_id=3112, language=language).send("/privacy")
    text = html.unescape(shown.text)
    for words in expected:
        assert words in text, words


async def test_mydata_holds_the_answers_and_the_locale(app: App) -> None:
    chat = ChatDriver(app, user_id=3103, language="fr")
    await chat.send("/language")
    await chat.press("English")
    await chat.send("/start")
    await chat.press("SaaS")
    await chat.press("North America")
    shown = await chat.send("/mydata")  # the driver checks Telegram accepts the HTML
    assert len(shown) == 1 and '<pre><code class="language-json">' in shown[0].text
    assert "Your stored data" in shown[0].text
    data = document([m.text for m in shown])
    assert data["user"]["id"] == 3103 and data["user"]["locale"] == "en"
    assert data["dialog"]["state"] == "Questionnaire:active"
    dialog = data["dialog"]["data"]["dialog"]
    assert dialog["answers"] == {"sector": "saas", "target_region": "north_america"}
    assert dialog["kb_version"] == app.store.current.version


async def test_mydata_escapes_stored_text(app: App) -> None:
    chat = ChatDriver(app, user_id=3104)
    await chat.send("/start")
    hostile = '<script>alert("x")</script> & <b>AT&T 5 > 3'
    await app.dispatcher.storage.update_data(key(app, 3104), {"note": hostile})
    shown = await chat.send("/mydata")
    assert "<script>" not in shown[0].text
    assert document([m.text for m in shown])["dialog"]["data"]["note"] == hostile


async def test_a_long_mydata_is_split_into_valid_messages(app: App) -> None:
    chat = ChatDriver(app, user_id=3105)
    await chat.send("/start")
    big = {f"k{i:03}": "é<&>" * 30 for i in range(120)}
    big["one_long_line"] = "x" * 9000
    await app.dispatcher.storage.update_data(key(app, 3105), {"big": big})
    shown = await chat.send("/mydata")
    assert len(shown) >= 4
    for index, message in enumerate(shown, start=1):
        assert f"{index}/{len(shown)}" in message.text
    sent = "".join(html.unescape(m) for t in shown for m in PRE.findall(t.text))
    state = app.dispatcher.storage
    expected = data_document(await UserRepository(app.kv).get(3105),
                             await state.get_state(key(app, 3105)),
                             await state.get_data(key(app, 3105)))
    assert expected is not None and '"k119"' in expected
    # Nothing lost or added: parts are cut at line ends (an over-long line inside itself).
    assert sent.replace("\n", "") == expected.replace("\n", "")


def test_mydata_with_nothing_stored_says_so(renderer: Renderer) -> None:
    assert data_document(None, None, {}) is None
    for locale in LOCALES:
        text = renderer.render(locale, "mydata_empty")
        assert parse_html(text).text.strip()
    messages = mydata_messages(renderer, "en", data_document({"id": 1}, None, {}) or "")
    assert len(messages) == 1 and len(parse_html(messages[0]).text) <= LIMIT


async def test_forget_then_no_keeps_everything_and_the_dialog_goes_on(app: App) -> None:
    chat = ChatDriver(app, user_id=3106)
    await chat.send("/start")
    await chat.press("SaaS")
    question = chat.last_keyboard_message()
    [ask] = await chat.send("/forget")
    assert "Effacer vos données" in ask.text
    assert [t for t, _ in chat.buttons()] == ["🗑 Oui, tout effacer", "↩️ Non, garder mes données"]
    before = await UserRepository(app.kv).get(3106)
    mark = len(chat.session.requests)
    shown = await chat.press("Non, garder")
    assert "Rien n'a été effacé" in shown[-1].text
    assert any(isinstance(r, EditMessageReplyMarkup) for r in chat.session.requests[mark:])
    assert await UserRepository(app.kv).get(3106) == before
    data = await app.dispatcher.storage.get_data(key(app, 3106))
    assert data["dialog"]["answers"] == {"sector": "saas"}
    shown = await chat.press("Europe", message=question)
    assert progress(shown[-1].text) == "2/8" and "pays" in shown[-1].text


async def test_forget_then_yes_deletes_everything_once(app: App) -> None:
    chat = ChatDriver(app, user_id=3107)
    await chat.send("/language")
    await chat.press("English")
    await chat.send("/start")
    await chat.press("SaaS")
    await chat.press("Europe")
    # The same user's state in another chat (a group), which /forget also erases.
    await app.dispatcher.storage.set_data(key(app, 3107, chat_id=-100777), {"x": 1})
    await chat.send("/forget")
    confirm = chat.last_keyboard_message()
    mark = len(chat.session.requests)
    shown = await chat.press("Yes, delete", message=confirm)
    assert toasts(chat, mark) == ["Your data is deleted."]
    assert any(isinstance(r, EditMessageReplyMarkup) and r.message_id == confirm.message_id
               for r in chat.session.requests[mark:])
    assert "Your data is deleted" in shown[-1].text  # in the language the user had chosen
    assert await UserRepository(app.kv).get(3107) is None
    assert [k async for k in app.kv.keys("users") if k == "3107"] == []
    assert await fsm_keys(app, 3107) == []
    storage = app.dispatcher.storage
    assert await storage.get_state(key(app, 3107)) is None
    assert await storage.get_data(key(app, 3107)) == {}
    assert await storage.get_data(key(app, 3107, chat_id=-100777)) == {}

    # The next message starts from nothing: a new, empty record, no dialog, no language.
    shown = await chat.send("bonjour")
    assert "/start" in shown[-1].text and "pas de questionnaire" in shown[-1].text
    fresh = await UserRepository(app.kv).get(3107)
    assert fresh is not None and "locale" not in fresh
    assert await storage.get_state(key(app, 3107)) is None

    # A new dialog, then the old "yes" again: a toast, nothing deleted a second time.
    await chat.send("/start")
    await chat.press("Fintech")
    mark = len(chat.session.requests)
    shown = await chat.press("Yes, delete", message=confirm)
    assert shown == []
    # The chosen language went with the data: the toast is in Telegram's language now.
    assert toasts(chat, mark) and "plus valable" in toasts(chat, mark)[0]
    data = await storage.get_data(key(app, 3107))
    assert data["dialog"]["answers"] == {"sector": "fintech"}
    assert await UserRepository(app.kv).get(3107) is not None


async def test_an_older_forget_request_is_stale_once_a_new_one_is_asked(app: App) -> None:
    chat = ChatDriver(app, user_id=3108)
    await chat.send("/start")
    await chat.send("/forget")
    first = chat.last_keyboard_message()
    await chat.send("/forget")
    mark = len(chat.session.requests)
    await chat.press("Oui", message=first)
    assert "plus valable" in toasts(chat, mark)[0]
    assert await UserRepository(app.kv).get(3108) is not None
    assert await app.dispatcher.storage.get_state(key(app, 3108)) == "Questionnaire:active"
    await chat.press("Oui")  # the current request still works
    assert await UserRepository(app.kv).get(3108) is None


async def test_the_dialog_continues_after_privacy_and_mydata(app: App) -> None:
    chat = ChatDriver(app, user_id=3109)
    await chat.send("/start")
    await chat.press("SaaS")
    assert "Vos données" in (await chat.send("/privacy"))[-1].text
    assert "language-json" in (await chat.send("/mydata"))[-1].text
    shown = await chat.send("Singapour")
    assert progress(shown[-1].text) == "3/8"
    data = await app.dispatcher.storage.get_data(key(app, 3109))
    assert data["dialog"]["answers"]["target_country"] == "sg"


async def test_forget_yes_mid_dialog_makes_old_question_buttons_stale(app: App) -> None:
    chat = ChatDriver(app, user_id=3110)
    await chat.send("/start")
    question: Message = chat.last_keyboard_message()
    await chat.send("/forget")
    await chat.press("Oui")
    mark = len(chat.session.requests)
    shown = await chat.press("SaaS", message=question)
    assert "ancien message" in toasts(chat, mark)[0]
    assert "/start" in shown[-1].text
    assert await app.dispatcher.storage.get_state(key(app, 3110)) is None


async def test_the_command_menu_lists_the_privacy_commands(app: App) -> None:
    await register_commands(app.bot, app.renderer)
    menus = [r for r in app.bot.session.requests  # type: ignore[attr-defined]
             if isinstance(r, SetMyCommands)]
    assert len(menus) == len(LOCALES)
    for menu in menus:
        names = [c.command for c in menu.commands]
        assert names == list(PUBLIC_COMMANDS)
        assert {"privacy", "mydata", "forget"} <= set(names)
    english = next(m for m in menus if m.language_code == "en")
    assert {c.command: c.description for c in english.commands}["forget"] == "Delete my data"


async def test_forget_leaves_no_trace_on_disk(app: App) -> None:
    chat = ChatDriver(app, user_id=3199)
    await chat.send("/start")
    await chat.send("Marqueur-Unique-3199 inconnu")  # not an answer: never stored
    await chat.press("SaaS")
    await chat.send("Singapour")
    state_dir = app.settings.data_dir / "state"

    def on_disk() -> str:
        return "".join(p.read_text(encoding="utf-8") for p in state_dir.iterdir() if p.is_file())

    assert '"3199"' in on_disk() or ":3199:" in on_disk()
    await chat.send("/forget")
    await chat.press("Oui")
    traces = [line for line in on_disk().splitlines() if "3199" in line]
    assert traces == [] or all("claims" in t for t in traces), traces[:3]


async def test_mydata_and_forget_cover_an_advisor_account(app: App) -> None:
    advisors = app.dispatcher["advisors"]
    await advisors.register(3250, "Alice Conseil", "CCI Test")
    code = await advisors.create_link(3250, {"sector": "saas"})
    chat = ChatDriver(app, user_id=3250)
    shown = await chat.send("/mydata")
    assert "Alice Conseil" in "".join(m.text for m in shown)
    await chat.send("/forget")
    await chat.press("Oui")
    assert await advisors.advisor(3250) is None
    assert await advisors.link(code) is None


@pytest.mark.parametrize(("language", "recorded", "deleted"), [
    ("fr", "demande d'effacement est enregistrée", "Vos données sont effacées"),
    ("en", "deletion is recorded", "Your data is deleted"),
])
async def test_forget_says_recorded_not_deleted_when_the_disk_is_not_done(
        app: App, monkeypatch: pytest.MonkeyPatch, language: str, recorded: str,
        deleted: str) -> None:
    """The store could not compact the deletion onto disk yet (full disk...): it keeps
    retrying, and the user is not told the data is gone from the server."""
    async def purge_not_final() -> bool:
        return False

    monkeypatch.setattr(app.kv, "purge", purge_not_final)
    chat = ChatDriver(app, user_id=3111, language=language)
    await chat.send("/start")
    await chat.press("SaaS")
    await chat.send("/forget")
    mark = len(chat.session.requests)
    shown = await chat.press("Oui" if language == "fr" else "Yes, delete")
    assert recorded in shown[-1].text and deleted not in shown[-1].text
    assert "/start" in shown[-1].text
    [toast] = toasts(chat, mark)
    assert toast == Renderer().label(language, "toast.forget_recorded")
    assert toast != Renderer().label(language, "toast.forgotten")
    # Recorded all the same: nothing of the user is served any more.
    assert await UserRepository(app.kv).get(3111) is None
    assert await fsm_keys(app, 3111) == []


ADMIN_ID, ADVISOR_ID, CLIENT_ID, VISITOR_ID, NEWCOMER_ID = (7301357, 7302468, 7303579,
                                                            7304680, 7305791)
LINK_CODE = re.compile(r"\?start=([ai])_([A-Za-z0-9]+)")
NAMESPACES = ("users", "alerts", "fsm", "advisors", "invites", "links", "stats", "referrals",
              "shares", KB_PENDING)


async def records_naming(app: App, user_id: int) -> list[str]:
    """Every stored record (namespace/key) whose key or value holds this user id."""
    found = []
    for namespace in NAMESPACES:
        async for name in app.kv.keys(namespace):
            value = json.dumps(await app.kv.get(namespace, name))
            if str(user_id) in name or re.search(rf"\b{user_id}\b", value):
                found.append(f"{namespace}/{name}")
    return found


@pytest.fixture
async def admin_app(tmp_path: Path) -> AsyncIterator[App]:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, knowledge, ignore=shutil.ignore_patterns(".lock", ".pending"))
    settings = make_settings(tmp_path / "data", knowledge_dir=knowledge, admin_ids=str(ADMIN_ID))
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()


async def test_forget_leaves_no_id_in_invites_referrals_or_a_pending_upload(
        admin_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    app = admin_app
    admin = ChatDriver(app, user_id=ADMIN_ID)
    [invite] = await admin.send("/advisor invite CCI Test")
    [(_, used_code)] = LINK_CODE.findall(invite.text)
    [spare] = await admin.send("/advisor invite CCI Test")
    [(_, spare_code)] = LINK_CODE.findall(spare.text)
    advisor = ChatDriver(app, user_id=ADVISOR_ID)
    await advisor.send(f"/start i_{used_code}")
    [(_, link)] = LINK_CODE.findall((await advisor.send("/advisor"))[0].text)
    client = ChatDriver(app, user_id=CLIENT_ID)  # consents to the hand-off
    await client.send(f"/start a_{link}")
    for label in ("SaaS", "Amérique du Nord", "États-Unis", "San Francisco", "10 à 49",
                  "1 à 10 M€", "Auvergne-Rhône-Alpes", "Premiers pas", "Non", "20 à 50 k€"):
        await client.press(label)
    await client.skip_optional()
    for label in ("Voir mon plan", "Oui, transmettre"):
        await client.press(label)
    await ChatDriver(app, user_id=VISITOR_ID).send(f"/start a_{link}")  # only opens the link
    # The admin's upload, shown as a diff and waiting for Apply (the console session cannot
    # download files: the handler gets the bytes the admin sent).
    record = json.loads((app.settings.knowledge_dir / "aid.json").read_text())[0]
    upload = json.dumps({"upsert": [{**record, "summary": {"fr": "Résumé revu",
                                                           "en": "Revised summary"}}]})

    async def sent_file(bot: object, document: object) -> bytes:
        return upload.encode()

    monkeypatch.setattr(kb_admin_handlers, "download", sent_file)
    diff = await admin.send_update(document={"file_id": "BQAC1", "file_unique_id": "u1",
                                             "file_name": "aid.json", "file_size": len(upload)})
    assert "Appliquer" in str(diff[-1].reply_markup)
    assert await records_naming(app, ADVISOR_ID) and await records_naming(app, ADMIN_ID)

    for who in (advisor, admin):
        await who.send("/forget")
        await who.press("Oui, tout effacer")
        assert await records_naming(app, who.user.id) == [], who.user.id
    # What belongs to others is kept: the clients' referrals (consent included) and the
    # unused invitation, which still works.
    assert (await app.dispatcher["advisors"].referral(CLIENT_ID) or {})["consent"] is True
    assert await app.dispatcher["advisors"].referral(VISITOR_ID) is not None
    [welcome] = await ChatDriver(app, user_id=NEWCOMER_ID).send(f"/start i_{spare_code}")
    assert await app.dispatcher["advisors"].active_advisor(NEWCOMER_ID) is not None
    # And nothing on disk either, once the purge's compaction is done.
    state_dir = app.settings.data_dir / "state"
    lines = [line for p in state_dir.iterdir() if p.is_file()
             for line in p.read_text(encoding="utf-8").splitlines()]
    for user_id in (ADMIN_ID, ADVISOR_ID):
        assert [line for line in lines if str(user_id) in line] == [], user_id
