"""/privacy, /mydata and /forget through the real Dispatcher, storage and templates."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SetMyCommands
from aiogram.types import Message

from bot.app import PUBLIC_COMMANDS, App, register_commands
from bot.handlers.privacy import data_document, mydata_messages
from bot.render.split import LIMIT
from bot.render.templates import LOCALES, Renderer
from bot.storage.users import UserRepository
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
