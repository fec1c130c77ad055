"""The whole dialog through the real Dispatcher, handlers, TinyDB storage and templates."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.console import LocalSession
from bot.kb.models import Meta
from bot.kb.snapshot import KnowledgeBase
from bot.render.plan_text import SUMMARY_MAX_CHARS
from tests.conftest import TODAY
from tests.dialog.driver import ChatDriver


def plain(messages: list[SendMessage]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", "\n".join(m.text for m in messages)))


def progress(messages: list[SendMessage]) -> str | None:
    """The question's number in "n/N" (N, the questions this profile is asked, may grow when an
    optional question applies: tested in test_typed_answers.py)."""
    found = re.search(r"<b>(\d+)/\d+</b>", messages[-1].text) if messages else None
    return found.group(1) if found else None


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start): text.index(end)]


async def run_to_recap_by_buttons(chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.press("SaaS")
    await chat.press("Amérique du Nord")
    await chat.press("États-Unis")
    await chat.press("San Francisco")
    await chat.press("10 à 49")
    await chat.press("1 à 10 M€")
    await chat.press("Auvergne-Rhône-Alpes")
    await chat.press("Premiers pas")
    await chat.press("Oui, 2")
    await chat.press("50 à 150 k€")
    await chat.skip_optional()


async def test_buttons_all_the_way_to_a_plan(app: App) -> None:
    chat = ChatDriver(app, language="fr")
    first = await chat.send("/start")
    assert "Bienvenue" in first[0].text and progress(first) == "1"
    await chat.press("SaaS")
    shown = await chat.press("Amérique du Nord")
    assert progress(shown) == "2" and "pays" in shown[-1].text
    shown = await chat.press("États-Unis")
    assert progress(shown) == "2" and "ville" in shown[-1].text
    shown = await chat.press("San Francisco")
    assert progress(shown) == "3"
    for label, expected in (("10 à 49", "4"), ("1 à 10 M€", "5"),
                            ("Auvergne-Rhône-Alpes", "6"), ("Premiers pas", "7"),
                            ("Oui, 2", "8")):
        assert progress(await chat.press(label)) == expected, label
    recap = await chat.press("50 à 150 k€")
    recap = await chat.skip_optional() or recap
    recap_text = plain(recap)
    assert "Récapitulatif" in recap_text
    for answer in ("SaaS", "San Francisco", "10 à 49", "Auvergne-Rhône-Alpes", "Oui · 2",
                   "50 à 150 k€"):
        assert answer in recap_text
    await chat.skip_optional()
    parts = await chat.see_plan("Voir mon plan")
    assert "San Francisco" in parts["summary"] and len(parts["summary"]) <= SUMMARY_MAX_CHARS
    landing = parts["landing"]
    assert "San Francisco" in landing and "États-Unis" in landing
    complete = await chat.complete_plan()  # beyond one message per section: as in the PDF
    vie = complete["vie"]
    assert "J-1" in vie and "Durée maximale : 18 mois" in vie
    assert "Sans filiale sur place" in vie  # first steps: host options are explained
    aid = complete["aid"]
    assert "Assurance Prospection" in aid and "Chiffre d'affaires ≤ 500 M€" in aid
    assert "Auvergne" in aid  # the home region's VIE aid is judged, not hidden
    assert "Chèque Relance VIE" in aid  # closed, national: one line at the end
    assert "2 × 12 mois" in vie  # VIE cost estimated from the dated allowance
    # each source with its date as it means: checked that day, or the page's own date
    assert re.search(r"vérifié le \d{1,2} \w+ \d{4}|page (du|de|d')", parts["sources"])
    record = await app.dispatcher["users"].get(chat.user.id)
    assert record["last_plan"]["answers"]["target_city"] == "san-francisco"
    assert record["last_plan"]["kb_version"] == app.store.current.version


async def test_typed_answers_in_english_and_contrasting_advice(app: App) -> None:
    chat = ChatDriver(app, user_id=2002, language="en")
    shown = await chat.send("/start")
    assert "Welcome" in shown[0].text
    await chat.send("cyber security")
    shown = await chat.send("singapore")
    assert progress(shown) == "3"  # the city and the country were both understood
    await chat.send("120 employees")
    await chat.send("600M")
    await chat.send("Bretagne")
    await chat.send("already exporting")
    await chat.send("no")
    recap = plain(await chat.send("I don't know"))
    recap = plain(await chat.skip_optional()) or recap
    assert "Summary" in recap and "Singapore" in recap and "Over €500M" in recap
    await chat.skip_optional()
    parts = await chat.see_plan("See my plan")
    complete = await chat.complete_plan()
    plan = "\n".join([*parts.values(), *complete.values()])
    landing = parts["landing"]
    assert "Singapore" in landing and "San Francisco" not in landing
    aid = complete["aid"]
    not_eligible = aid[aid.index("Not eligible from your answers"):]
    assert "Assurance Prospection" in not_eligible and "Over €500M" in not_eligible
    assert "Auvergne" not in aid  # other regions' schemes are counted, not listed
    assert "reserved for other regions" in aid
    assert "VIE: none planned" in plan


async def test_unknown_answers_lead_to_to_check_not_to_exclusion(app: App) -> None:
    chat = ChatDriver(app, user_id=3003, language="fr")
    await chat.send("/start")
    await chat.send("je ne sais pas")
    await chat.send("Vietnam")
    await chat.press("Ho Chi Minh")
    await chat.send("je ne sais pas")
    await chat.press("Je ne sais pas")
    await chat.press("Outre-mer")
    await chat.press("Je ne sais pas")  # which overseas territory
    await chat.press("J'ai déjà une structure")
    await chat.press("Peut-être")
    await chat.press("Je ne sais pas")
    await chat.skip_optional()
    parts = await chat.see_plan("Voir mon plan")
    complete = await chat.complete_plan()
    plan = "\n".join([*parts.values(), *complete.values()])
    aid = complete["aid"]
    ap = aid[aid.index("Assurance Prospection"):]
    assert "À confirmer" in aid[: aid.index("Assurance Prospection")].splitlines()[-1]
    assert "votre réponse : non renseigné" in ap.split("\n\n")[0]
    assert "Sans filiale sur place" not in plan  # already has a structure abroad
    assert "Viêt Nam" in plan or "Vietnam" in plan


async def test_back_returns_to_the_previous_question_and_keeps_going(app: App) -> None:
    chat = ChatDriver(app, user_id=4004)
    await chat.send("/start")
    await chat.press("Fintech")
    await chat.press("Europe")
    shown = await chat.press("Retour")
    assert progress(shown) == "2" and "région du monde" in shown[-1].text
    shown = await chat.press("Retour")
    assert progress(shown) == "1"
    shown = await chat.press("Retour" if any("Retour" in t for t, _ in chat.buttons())
                             else "Fintech")
    assert progress(shown) == "2"


async def test_recap_edit_changes_one_answer_and_returns_to_the_recap(app: App) -> None:
    chat = ChatDriver(app, user_id=5005)
    await run_to_recap_by_buttons(chat)
    shown = await chat.press("Destination")
    assert progress(shown) == "2"
    shown = await chat.send("Montréal")
    recap = plain(shown)
    assert "Récapitulatif" in recap and "Montréal" in recap and "San Francisco" not in recap
    assert "SaaS" in recap  # the other answers are kept
    await chat.skip_optional()
    parts = await chat.see_plan("Voir mon plan")
    assert "Canada" in parts["landing"] and "Montréal" in parts["summary"]


async def test_fuzzy_guess_is_confirmed_before_use(app: App) -> None:
    chat = ChatDriver(app, user_id=6006)
    await chat.send("/start")
    await chat.press("SaaS")
    shown = await chat.send("chin")
    assert "Vouliez-vous dire" in shown[-1].text and "Chine" in shown[-1].text
    shown = await chat.press("Oui")
    assert progress(shown) == "2" and "ville" in shown[-1].text
    assert any("Shanghai" in t for t, _ in chat.buttons())


async def test_refused_guess_asks_the_same_question_again(app: App) -> None:
    chat = ChatDriver(app, user_id=6106)
    await chat.send("/start")
    await chat.press("SaaS")
    await chat.send("chin")
    shown = await chat.press("Non")
    assert progress(shown) == "2" and "région du monde" in shown[-1].text


async def test_stale_button_gets_a_clear_reply_and_changes_nothing(app: App) -> None:
    chat = ChatDriver(app, user_id=7007)
    await chat.send("/start")
    first_question = chat.last_keyboard_message()
    await chat.press("SaaS")
    await chat.press("Asie")
    mark = len(chat.session.requests)
    shown = await chat.press("Cybersécurité", message=first_question)
    toasts = [r for r in chat.session.requests[mark:] if isinstance(r, AnswerCallbackQuery)]
    assert toasts and toasts[0].text and "ancien message" in toasts[0].text
    assert progress(shown) == "2" and "pays" in shown[-1].text
    recap_state = await app.dispatcher.storage.get_data(
        key=_key(app, chat.user.id))
    assert recap_state["dialog"]["answers"]["sector"] == "saas"


async def test_button_from_a_previous_dialog_is_stale(app: App) -> None:
    chat = ChatDriver(app, user_id=7107)
    await chat.send("/start")
    old = chat.last_keyboard_message()
    await chat.send("/restart")
    shown = await chat.press("SaaS", message=old)
    assert "ancien message" in shown[0].text and progress(shown) == "1"


async def test_junk_mid_dialog_gets_a_friendly_reply_and_the_dialog_goes_on(app: App) -> None:
    chat = ChatDriver(app, user_id=8008)
    await chat.send("/start")
    await chat.press("Edtech")
    sticker = {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                           "width": 512, "height": 512, "is_animated": False,
                           "is_video": False}}
    photo = {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]}
    for shown in (await chat.send_update(**sticker), await chat.send_update(**photo),
                  await chat.send("qsdkjqsd qsd"), await chat.send("x" * 5000),
                  await chat.send("<b>&<script>alert(1)</script>"), await chat.send("🙂🙂")):
        notice = shown[-1].text
        assert "pas compris" in notice or "ne connais pas encore cette destination" in notice
        assert progress(shown) == "2"
    shown = await chat.send("/foo")
    assert "Je ne connais pas cette commande" in shown[-1].text
    shown = await chat.send("Japon")
    assert progress(shown) in ("2", "3")


async def test_malformed_callback_data_is_answered_not_crashed(app: App) -> None:
    chat = ChatDriver(app, user_id=9009)
    await chat.send("/start")
    for data in ("a:zz:zz:zz", "n::nope", "garbage", "a:x:s0:" + "é" * 10):
        mark = len(chat.session.requests)
        await chat.press_data(data)
        answers = [r for r in chat.session.requests[mark:] if isinstance(r, AnswerCallbackQuery)]
        assert len(answers) == 1, data


async def test_restart_clears_answers(app: App) -> None:
    chat = ChatDriver(app, user_id=1111)
    await chat.send("/start")
    await chat.press("SaaS")
    shown = await chat.send("/restart")
    assert "recommence" in shown[0].text and progress(shown) == "1"
    data = await app.dispatcher.storage.get_data(key=_key(app, chat.user.id))
    assert data["dialog"]["answers"] == {}


async def test_language_switch_changes_every_following_message(app: App) -> None:
    chat = ChatDriver(app, user_id=1212, language="fr")
    await chat.send("/start")
    await chat.send("/language")
    await chat.press("English")
    shown = await chat.send("/help")
    assert "how it works" in shown[-1].text
    shown = await chat.send("/restart")
    assert "What is your company's" in shown[-1].text


async def test_text_outside_a_dialog_points_to_start(app: App) -> None:
    chat = ChatDriver(app, user_id=1313)
    shown = await chat.send("bonjour")
    assert "/start" in shown[-1].text


async def test_a_dialog_survives_a_restart_of_the_bot(settings: Settings) -> None:
    first = build_app(settings, session=LocalSession(), token="42:TEST", clock=FixedClock.on(TODAY))
    chat = ChatDriver(first, user_id=1414)
    await chat.send("/start")
    await chat.press("SaaS")
    await chat.press("Europe")
    await first.close()
    second = build_app(settings, session=LocalSession(), token="42:TEST",
                       clock=FixedClock.on(TODAY))
    try:
        chat2 = ChatDriver(second, user_id=1414)
        shown = await chat2.send("Allemagne")
        assert progress(shown) in ("2", "3")
        data = await second.dispatcher.storage.get_data(key=_key(second, 1414))
        assert data["dialog"]["answers"]["sector"] == "saas"
        assert data["dialog"]["answers"]["target_country"] == "de"
    finally:
        await second.close()


async def test_a_dialog_keeps_its_knowledge_version_after_an_update(app: App,
                                                                      kb: KnowledgeBase) -> None:
    chat = ChatDriver(app, user_id=1515)
    await run_to_recap_by_buttons(chat)
    old_version = app.store.current.version
    meta = Meta(version="2099.01.01-1", updated=TODAY)
    app.store.publish(replace(kb, meta=meta))
    await chat.skip_optional()
    plan = "\n".join((await chat.see_plan("Voir mon plan")).values())
    assert old_version in plan and "2099.01.01-1" not in plan
    fresh = ChatDriver(app, user_id=1516)
    await fresh.send("/start")
    data = await app.dispatcher.storage.get_data(key=_key(app, 1516))
    assert data["dialog"]["kb_version"] == "2099.01.01-1"


def _key(app: App, user_id: int):  # type: ignore[no-untyped-def]
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=app.bot.id, chat_id=user_id, user_id=user_id)


async def test_an_internal_error_gets_a_kind_reply_and_keeps_the_answers(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = ChatDriver(app, user_id=1717)
    await run_to_recap_by_buttons(chat)
    recap_message = chat.last_keyboard_message()

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.handlers.views.advise", broken)  # the plan's one advice
    await chat.skip_optional()
    shown = await chat.press("Voir mon plan")
    assert "problème technique" in shown[-1].text
    monkeypatch.undo()
    data = await app.dispatcher.storage.get_data(key=_key(app, chat.user.id))
    assert data["dialog"]["step"] == "recap" and data["dialog"]["answers"]["sector"] == "saas"
    await chat.skip_optional()
    parts = await chat.see_plan("Voir mon plan", message=recap_message)
    assert "San Francisco" in parts["summary"] and "San Francisco" in parts["landing"]


@pytest.mark.parametrize("payload", ["abc", "x" * 200, "!!%%", "a b c", "<b>"])
async def test_start_with_any_payload_starts_a_normal_dialog(app: App, payload: str) -> None:
    chat = ChatDriver(app, user_id=1818)
    shown = await chat.send(f"/start {payload}")
    assert "Bienvenue" in shown[0].text and progress(shown) == "1"


async def test_group_chats_are_ignored(app: App) -> None:
    chat = ChatDriver(app, user_id=1919)
    chat.chat = chat.chat.model_copy(update={"id": -100123, "type": "group"})
    assert await chat.send("/start") == []


async def test_an_unknown_destination_is_explained(app: App) -> None:
    chat = ChatDriver(app, user_id=2020)
    await chat.send("/start")
    await chat.press("SaaS")
    shown = await chat.send("Atlantide")
    assert "Je ne connais pas encore cette destination" in shown[-1].text
    assert progress(shown) == "2"
    sticker = {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                           "width": 512, "height": 512, "is_animated": False,
                           "is_video": False}}
    shown = await chat.send_update(**sticker)
    assert "pas compris" in shown[-1].text
