"""Advisors' links on the client side: prefilled dialogs, the hand-off with consent and its
withdrawal, bad payloads, and sharing a plan through the inline mode and s_ links."""

from __future__ import annotations

import itertools

import pytest
from aiogram.methods import AnswerInlineQuery, DeleteMessage, SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineQuery, InlineQueryResultArticle, Update

from bot.advisors.repository import AdvisorRepository
from bot.app import App
from bot.dialog.matching import normalise
from tests.dialog.driver import ChatDriver, assert_telegram_accepts

ADVISOR, ADVISOR2, CLIENT, OTHER = 3003, 3005, 2002, 4004
PREFILL = {"sector": "saas", "target_region": "asia", "target_country": "sg",
           "target_city": "singapore"}
REST = ("10 à 49", "1 à 10 M€", "Occitanie", "Premiers pas", "Non", "20 à 50 k€")
_ids = itertools.count(900_000)


def text_of(messages: list[SendMessage]) -> str:
    return "\n".join(m.text for m in messages)


def to_chat(driver: ChatDriver, chat_id: int, since: int = 0) -> list[SendMessage]:
    return [r for r in driver.session.requests[since:]
            if isinstance(r, SendMessage) and r.chat_id == chat_id]


async def advisor_link(app: App, active: bool = True) -> tuple[AdvisorRepository, str]:
    advisors: AdvisorRepository = app.dispatcher["advisors"]
    await advisors.register(ADVISOR, "Claire Martin", "CCI Occitanie")
    code = await advisors.create_link(ADVISOR, dict(PREFILL))
    if not active:
        await advisors.set_active(ADVISOR, False)
    return advisors, code


async def finish_referred(client: ChatDriver, code: str) -> list[SendMessage]:
    """/start with the link, answer the questions left, see the plan."""
    await client.send(f"/start a_{code}")
    for label in REST:
        await client.press(label)
    await client.skip_optional()
    return await client.press("Voir mon plan")


async def finish_plain(driver: ChatDriver, place: str = "Singapour") -> list[SendMessage]:
    await driver.send("/start")
    await driver.press("SaaS")
    await driver.send(place)
    for label in REST:
        await driver.press(label)
    await driver.skip_optional()
    return await driver.press("Voir mon plan")


async def inline(driver: ChatDriver, query: str = "") -> AnswerInlineQuery:
    mark = len(driver.session.requests)
    update = Update(update_id=next(_ids), inline_query=InlineQuery(
        id=str(next(_ids)), from_user=driver.user, query=query, offset=""))
    await driver.app.dispatcher.feed_update(driver.app.bot, update)
    answers = [r for r in driver.session.requests[mark:] if isinstance(r, AnswerInlineQuery)]
    assert len(answers) == 1
    return answers[0]


async def test_a_link_prefills_skips_and_shows_in_the_recap(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    welcome = await client.send(f"/start a_{code}")
    first = welcome[0].text
    assert "Claire Martin" in first and "CCI Occitanie" in first
    assert "Singapour" in first and "SaaS" in first  # what the advisor filled in
    assert welcome[-1].text.startswith("<b>3/8</b>")
    assert await advisors.stats(code) == {"started": 1, "completed": 0, "shared": 0,
                                          "followup": 0, "done": 0, "help": 0}
    referral = await advisors.referral(CLIENT)
    assert referral is not None and referral["advisor_id"] == ADVISOR
    assert referral["consent"] is None
    for label in REST:
        sent = await client.press(label)
    sent = await client.skip_optional() or sent
    recap = sent[-1].text
    assert "Récapitulatif" in recap and "Singapour" in recap and "SaaS" in recap
    # A prefilled answer can be changed from the recap.
    edit = await client.press("Destination")
    assert "<b>2/" in edit[-1].text
    recap = (await client.send("Berlin"))[-1].text
    assert "Récapitulatif" in recap and "Berlin" in recap and "Singapour" not in recap


async def test_decline_sends_nothing_to_the_advisor(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    plan = await finish_referred(client, code)
    ask = plan[-1].text
    assert "Claire Martin" in ask and "transmettre" in ask
    ask_message = client.last_keyboard_message()
    declined = await client.press("Non merci")
    assert "rien n'a été transmis" in text_of(declined)
    again = await client.press("Oui, transmettre", ask_message)  # a stale button
    assert again == []
    assert to_chat(client, ADVISOR) == []
    assert await advisors.stats(code) == {"started": 1, "completed": 1, "shared": 0,
                                          "followup": 0, "done": 0, "help": 0}
    assert (await advisors.referral(CLIENT) or {})["consent"] is False
    # A new plan in the same dialog neither counts again nor asks again.
    results = next(m for m in reversed(client.session.messages)
                   if "Modifier mes" in str(m.reply_markup))
    await client.press("Modifier mes réponses", results)
    await client.skip_optional()
    again = await client.press("Voir mon plan")
    assert "transmettre" not in again[-1].text.lower()
    assert (await advisors.stats(code))["completed"] == 1


async def test_accept_hands_off_once_in_the_advisor_language(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    ask_message = client.last_keyboard_message()
    mark = len(client.session.requests)
    done = await client.press("Oui, transmettre")
    handoffs = to_chat(client, ADVISOR, mark)
    assert len(handoffs) == 1
    handoff = handoffs[0].text
    assert f'<a href="tg://user?id={CLIENT}">Test</a>' in handoff
    for expected in ("Singapour", "SaaS et logiciels", "10 à 49", "Occitanie", "20 à 50 k€",
                     app.store.get(None).version):
        assert expected in handoff, expected
    assert "Son plan en bref" in handoff and "Par quoi commencer" in handoff  # the summary
    (document,) = [r for r in client.session.requests[mark:]
                   if isinstance(r, SendDocument) and r.chat_id == ADVISOR]  # and the PDF
    assert isinstance(document.document, BufferedInputFile)
    assert document.document.data.startswith(b"%PDF")
    assert document.document.filename == "plan-export-singapour-2026-12-02.pdf"
    assert "Claire Martin" in text_of(done) and "Retirer mon accord" in str(done[-1].reply_markup)
    # Pressing Yes again sends nothing twice.
    mark = len(client.session.requests)
    assert await client.press("Oui, transmettre", ask_message) == []
    assert to_chat(client, ADVISOR, mark) == []
    assert await advisors.stats(code) == {"started": 1, "completed": 1, "shared": 1,
                                          "followup": 0, "done": 0, "help": 0}
    assert (await advisors.referral(CLIENT) or {})["consent"] is True


async def test_an_english_advisor_gets_the_hand_off_in_english(app: App) -> None:
    advisors, code = await advisor_link(app)
    await app.dispatcher["users"].set_locale(ADVISOR, "en")
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    mark = len(client.session.requests)
    await client.press("Oui, transmettre")
    (handoff,) = to_chat(client, ADVISOR, mark)
    assert "A client passes their export plan on to you" in handoff.text
    assert "Singapore" in handoff.text


async def test_withdraw_tells_the_advisor_without_details(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    await client.press("Oui, transmettre")
    mark = len(client.session.requests)
    confirmation = client.last_keyboard_message()
    withdrawn = await client.press("Retirer mon accord")
    assert "accord est retiré" in text_of(withdrawn)
    (notice,) = to_chat(client, ADVISOR, mark)
    for detail in ("Test", "tg://user", "Singapour", "SaaS", str(CLIENT)):
        assert detail not in notice.text
    assert "retiré son accord" in notice.text
    deleted = [r for r in client.session.requests[mark:] if isinstance(r, DeleteMessage)]
    assert [d.chat_id for d in deleted] == [ADVISOR, ADVISOR]  # the message and its PDF
    assert (await advisors.referral(CLIENT) or {})["consent"] is False
    # Twice: a toast, nothing more to the advisor.
    mark = len(client.session.requests)
    assert await client.press("Retirer mon accord", confirmation) == []
    assert to_chat(client, ADVISOR, mark) == []


async def test_forget_withdraws_and_drops_the_referral(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    await client.press("Oui, transmettre")
    await client.send("/forget")
    mark = len(client.session.requests)
    await client.press("Oui, tout effacer")
    (notice,) = to_chat(client, ADVISOR, mark)
    assert "retiré son accord" in notice.text and "Test" not in notice.text
    assert await advisors.referral(CLIENT) is None


async def test_forget_without_consent_tells_the_advisor_nothing(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    await client.press("Non merci")
    await client.send("/forget")
    await client.press("Oui, tout effacer")
    assert to_chat(client, ADVISOR) == []
    assert await advisors.referral(CLIENT) is None


async def second_advisor(advisors: AdvisorRepository) -> str:
    await advisors.register(ADVISOR2, "Paul Durand", "Business France")
    return await advisors.create_link(ADVISOR2, dict(PREFILL))


def withdrawals(driver: ChatDriver, since: int) -> list[int]:
    """The advisors told, since `since`, that a client withdrew."""
    return [int(m.chat_id) for m in driver.session.requests[since:]
            if isinstance(m, SendMessage) and "retiré son accord" in m.text]


@pytest.mark.parametrize("again", ["same", "other"])
async def test_consent_survives_opening_a_link_again(app: App, again: str) -> None:
    advisors, code = await advisor_link(app)
    other = await second_advisor(advisors)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    await client.press("Oui, transmettre")
    confirmation = client.last_keyboard_message()
    await client.send(f"/start a_{code if again == 'same' else other}")
    referral = await advisors.referral(CLIENT) or {}
    assert [h["advisor_id"] for h in referral["handoffs"]] == [ADVISOR]
    mark = len(client.session.requests)
    withdrawn = await client.press("Retirer mon accord", confirmation)
    assert "accord est retiré" in text_of(withdrawn) and "Claire Martin" in text_of(withdrawn)
    assert withdrawals(client, mark) == [ADVISOR]
    assert [d.chat_id for d in client.session.requests[mark:]
            if isinstance(d, DeleteMessage)] == [ADVISOR, ADVISOR]  # the message, its PDF
    assert (await advisors.referral(CLIENT) or {})["handoffs"] == []


async def test_reopening_the_same_link_does_not_ask_again(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    await client.press("Oui, transmettre")
    mark = len(client.session.requests)
    plan = await finish_referred(client, code)
    assert "transmettre" not in plan[-1].text.lower()
    assert to_chat(client, ADVISOR, mark) == []
    assert (await advisors.referral(CLIENT) or {})["consent"] is True


@pytest.mark.parametrize("how", ["button", "forget"])
async def test_withdrawal_tells_every_advisor_who_received_the_answers(app: App,
                                                                       how: str) -> None:
    advisors, code = await advisor_link(app)
    other = await second_advisor(advisors)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    await client.press("Oui, transmettre")
    first_confirmation = client.last_keyboard_message()
    await finish_referred(client, other)
    mark = len(client.session.requests)
    await client.press("Oui, transmettre")
    assert len(to_chat(client, ADVISOR2, mark)) == 1 and to_chat(client, ADVISOR, mark) == []
    mark = len(client.session.requests)
    if how == "button":  # the button under the first hand-off still withdraws, from both
        withdrawn = await client.press("Retirer mon accord", first_confirmation)
        assert "Claire Martin, Paul Durand ont été prévenus" in text_of(withdrawn)
    else:
        await client.send("/forget")
        await client.press("Oui, tout effacer")
    assert sorted(withdrawals(client, mark)) == sorted([ADVISOR, ADVISOR2])
    assert sorted(d.chat_id for d in client.session.requests[mark:]
                  if isinstance(d, DeleteMessage)) == sorted([ADVISOR, ADVISOR2] * 2)


async def test_an_unanswered_question_goes_stale_when_another_link_is_opened(app: App) -> None:
    advisors, code = await advisor_link(app)
    other = await second_advisor(advisors)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    question = client.last_keyboard_message()  # about Claire Martin, left unanswered
    await client.send(f"/start a_{other}")
    mark = len(client.session.requests)
    assert await client.press("Oui, transmettre", question) == []
    assert to_chat(client, ADVISOR, mark) == [] and to_chat(client, ADVISOR2, mark) == []
    assert (await advisors.referral(CLIENT) or {})["handoffs"] == []


async def test_an_advisor_deactivated_before_yes_receives_nothing(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    await finish_referred(client, code)
    question = client.last_keyboard_message()
    await advisors.set_active(ADVISOR, False)
    mark = len(client.session.requests)
    shown = await client.press("Oui, transmettre", question)
    assert "Claire Martin n'est plus disponible" in text_of(shown)
    assert "Rien ne lui a été transmis" in text_of(shown)
    assert to_chat(client, ADVISOR, mark) == []
    assert await advisors.stats(code) == {"started": 1, "completed": 1, "shared": 0,
                                          "followup": 0, "done": 0, "help": 0}
    assert (await advisors.referral(CLIENT) or {})["handoffs"] == []
    assert await client.press("Oui, transmettre", question) == []  # stale from now on
    await client.send("/forget")
    await client.press("Oui, tout effacer")
    assert to_chat(client, ADVISOR, mark) == []


async def test_the_english_client_is_told_the_advisor_is_gone(app: App) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT, language="en")
    await client.send(f"/start a_{code}")
    for label in ("10 to 49", "€1M to €10M", "Occitanie", "First steps", "No", "€20k to €50k"):
        await client.press(label)
    await client.skip_optional()
    await client.press("See my plan")
    await advisors.set_active(ADVISOR, False)
    shown = await client.press("Yes")
    assert "Claire Martin is no longer available" in text_of(shown)
    assert to_chat(client, ADVISOR) == []


async def test_a_referral_stored_with_one_consent_still_loads(app: App) -> None:
    """Stored before the list of advisors: consent, token and handoff_message on the record."""
    advisors, code = await advisor_link(app)
    await advisors.kv.put("referrals", str(CLIENT), {
        "client_id": CLIENT, "created": "2026-11-01T10:00:00+00:00", "code": code,
        "advisor_id": ADVISOR, "consent": True, "consented": "2026-11-01T10:05:00+00:00",
        "token": "Tk7pQ2xZ", "handoff_message": 4321, "completed_dialog": "d1"})
    referral = await advisors.referral(CLIENT) or {}
    assert referral["handoffs"] == [{"advisor_id": ADVISOR, "token": "Tk7pQ2xZ",
                                     "message": 4321,
                                     "consented": "2026-11-01T10:05:00+00:00"}]
    client = ChatDriver(app, CLIENT)
    await client.send(f"/start a_{code}")  # opening the link again keeps that consent
    await client.send("/forget")
    mark = len(client.session.requests)
    await client.press("Oui, tout effacer")
    assert withdrawals(client, mark) == [ADVISOR]
    [deleted] = [d for d in client.session.requests[mark:] if isinstance(d, DeleteMessage)]
    assert (deleted.chat_id, deleted.message_id) == (ADVISOR, 4321)


async def test_a_deactivated_advisor_link_is_a_normal_start(app: App) -> None:
    advisors, code = await advisor_link(app, active=False)
    client = ChatDriver(app, CLIENT)
    sent = await client.send(f"/start a_{code}")
    plain = await ChatDriver(app, OTHER).send("/start")
    assert [m.text for m in sent] == [m.text for m in plain]
    assert sent[-1].text.startswith("<b>1/8</b>")
    assert await advisors.referral(CLIENT) is None
    assert await advisors.stats(code) == {"started": 0, "completed": 0, "shared": 0,
                                          "followup": 0, "done": 0, "help": 0}


@pytest.mark.parametrize("payload", [
    "a_Zq7Tw3Kp9X",  # forged: well formed, no such link
    "a_unknown",
    "a_" + "k" * 68,  # 70 characters: longer than Telegram allows
    "a_abc$%",
    "a_",
    "a_ab",
    "s_" + "x" * 68,
    "s_bad!code",
    "hello",
])
async def test_bad_payloads_are_a_normal_start(app: App, payload: str) -> None:
    advisors, code = await advisor_link(app)
    client = ChatDriver(app, CLIENT)
    sent = await client.send(f"/start {payload}")
    plain = await ChatDriver(app, OTHER).send("/start")
    assert [m.text for m in sent] == [m.text for m in plain]
    assert "Claire" not in text_of(sent) and "conseiller" not in text_of(sent)
    assert await advisors.referral(CLIENT) is None
    assert [k async for k in advisors.kv.keys("referrals")] == []
    assert await advisors.stats(code) == {"started": 0, "completed": 0, "shared": 0,
                                          "followup": 0, "done": 0, "help": 0}


async def test_the_results_have_a_share_button(app: App) -> None:
    driver = ChatDriver(app, CLIENT)
    await finish_plain(driver)
    markup = driver.last_keyboard_message().reply_markup
    assert markup is not None
    share = [b for row in markup.inline_keyboard for b in row if b.switch_inline_query is not None]
    assert len(share) == 1 and share[0].switch_inline_query == ""


async def test_inline_query_offers_only_the_callers_own_plan(app: App) -> None:
    owner, other = ChatDriver(app, CLIENT), ChatDriver(app, OTHER)
    await finish_plain(owner, "Singapour")
    nothing = await inline(other, "Singapour")
    (article,) = nothing.results
    assert isinstance(article, InlineQueryResultArticle)
    text = article.input_message_content.message_text  # type: ignore[union-attr]
    assert "Singapour" not in text and "SaaS" not in text
    assert "?start=s_" not in text and "https://t.me/export_advisor_bot" in text
    assert nothing.is_personal is True

    answer = await inline(owner, "anything")
    (article,) = answer.results
    assert isinstance(article, InlineQueryResultArticle)
    text = article.input_message_content.message_text  # type: ignore[union-attr]
    assert "Singapour" in text and "SaaS" in text
    assert "https://t.me/export_advisor_bot?start=s_" in text
    assert answer.is_personal is True and len(article.id.encode()) <= 64
    assert_telegram_accepts(SendMessage(chat_id=1, text=text))
    # The same plan keeps the same link.
    again = await inline(owner)
    assert again.results[0].id == article.id


async def test_a_share_link_opens_the_plan_for_anyone(app: App) -> None:
    owner, other = ChatDriver(app, CLIENT), ChatDriver(app, OTHER)
    await finish_plain(owner, "Montréal")
    article = (await inline(owner)).results[0]
    text = article.input_message_content.message_text  # type: ignore[union-attr]
    link = text[text.index("?start=") + len("?start="):].split()[0]
    assert link.startswith("s_")
    shared = await other.send(f"/start {link}")
    body = text_of(shared)
    assert len(shared) == 1  # one card: the summary of that plan
    assert "partagé" in shared[0].text and "Montréal" in body and "Par quoi commencer" in body
    assert "Faire mon propre plan" in str(shared[-1].reply_markup)
    mark = len(other.session.requests)
    assert await other.press("PDF") == []
    (document,) = [r for r in other.session.requests[mark:] if isinstance(r, SendDocument)]
    assert document.chat_id == OTHER and isinstance(document.document, BufferedInputFile)
    assert document.document.filename.startswith("plan-export-montreal-")
    started = await other.press("Faire mon propre plan")
    assert "Bienvenue" in started[0].text and started[-1].text.startswith("<b>1/8</b>")


async def test_a_bad_share_code_is_a_normal_start(app: App) -> None:
    sent = await ChatDriver(app, OTHER).send("/start s_Abcdefgh23")
    assert "Bienvenue" in sent[0].text and sent[-1].text.startswith("<b>1/8</b>")
    assert normalise("partagé") not in normalise(text_of(sent))
