"""Typed answers through the real Dispatcher: confirmations, numbers in words, amounts, and the
questions asked only when they can change the plan (territory, company age, large contracts)."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import SendMessage

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.console import LocalSession
from tests.conftest import KNOWLEDGE_DIR, TODAY, make_settings
from tests.dialog.driver import ChatDriver


def progress(messages: list[SendMessage]) -> str | None:
    found = re.search(r"<b>(\d+/\d+)</b>", messages[-1].text) if messages else None
    return found.group(1) if found else None


def plain(messages: list[SendMessage]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", "\n".join(m.text for m in messages)))


async def answers(app: App, chat: ChatDriver) -> dict[str, str]:
    key = StorageKey(bot_id=app.bot.id, chat_id=chat.user.id, user_id=chat.user.id)
    data = await app.dispatcher.storage.get_data(key=key)
    return dict(data["dialog"]["answers"])


def with_large_contracts(directory: Path, without_age: bool = False,
                         keep_age: str | None = None) -> Path:
    """A copy of the shipped knowledge base where the buyer credit needs large contracts (the
    shipped data may not have such a criterion yet); `without_age`: no scheme but `keep_age`
    depends on the company's age."""
    target = directory / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    path = target / "aid.json"
    records = json.loads(path.read_text(encoding="utf-8"))
    for record in records:
        if record["id"] == "credit-export":
            record["criteria"] = [{"field": "large_contracts", "op": "in", "value": ["yes"],
                                   "text": {"fr": "Contrats export de plusieurs millions d'euros",
                                            "en": "Export contracts of several million euros"}}]
        if without_age and record["id"] != keep_age:
            record["criteria"] = [c for c in record.get("criteria", [])
                                  if c["field"] != "company_age_years"]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.fixture
async def big_app(tmp_path: Path) -> AsyncIterator[App]:
    settings = make_settings(tmp_path / "data", knowledge_dir=with_large_contracts(tmp_path))
    built = build_app(settings, session=LocalSession(), token="42:TEST",
                      clock=FixedClock.on(TODAY))
    try:
        yield built
    finally:
        await built.close()


async def at_target(chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.press("SaaS")


# --- confirmations ---------------------------------------------------------------------------


async def test_typed_yes_confirms_a_destination_and_the_dialog_goes_on(app: App) -> None:
    chat = ChatDriver(app, user_id=3101)
    await at_target(chat)
    shown = await chat.send("chin")
    assert "Vouliez-vous dire" in shown[-1].text and "Chine" in shown[-1].text
    shown = await chat.send("oui")
    assert progress(shown) == "2/8" and "ville" in shown[-1].text
    assert (await answers(app, chat))["target_country"] == "cn"
    shown = await chat.send("Shanghai")
    assert progress(shown) == "3/8" and "salariés" in shown[-1].text
    shown = await chat.send("12")
    assert progress(shown) == "4/8"


@pytest.mark.parametrize("yes", ["ok", "ouais", "yes", "d'accord", "exact", "c'est ça", "yep"])
async def test_other_typed_yes_words_confirm(app: App, yes: str) -> None:
    chat = ChatDriver(app, user_id=3102)
    await at_target(chat)
    await chat.send("chin")
    shown = await chat.send(yes)
    assert "ville" in shown[-1].text and (await answers(app, chat))["target_country"] == "cn"


@pytest.mark.parametrize("no", ["non", "nope", "no"])
async def test_typed_no_asks_the_same_question_again(app: App, no: str) -> None:
    chat = ChatDriver(app, user_id=3103)
    await at_target(chat)
    await chat.send("chin")
    shown = await chat.send(no)
    assert progress(shown) == "2/8" and "région du monde" in shown[-1].text
    assert "target_country" not in await answers(app, chat)
    shown = await chat.send("Singapour")  # the next typed answer is understood
    assert progress(shown) == "3/8"


async def test_a_failed_confirmation_asks_the_same_question_and_the_next_answer_works(
        app: App) -> None:
    chat = ChatDriver(app, user_id=3104)
    await at_target(chat)
    await chat.send("chin")
    shown = await chat.send("qsdfgh")
    assert progress(shown) == "2/8" and "région du monde" in shown[-1].text
    shown = await chat.send("USA")  # another answer at a confirmation answers the question
    assert progress(shown) == "2/8" and "ville" in shown[-1].text
    assert (await answers(app, chat))["target_country"] == "us"


# --- a whole dialog typed -------------------------------------------------------------------


async def test_a_dialog_typed_from_start_to_recap(app: App) -> None:
    chat = ChatDriver(app, user_id=3105)
    await chat.send("/start")
    for text, expected in (("saas", "2/8"), ("Singapour", "3/8"), ("cinq salariés", "4/8"),
                           ("2 M€", "5/8"), ("Outre-mer", "6/9"), ("La Réunion", "7/9"),
                           ("premiers pas", "8/9"), ("oui, deux", "9/9")):
        assert progress(await chat.send(text)) == expected, text
    shown = await chat.send("30k")
    if "Récapitulatif" not in shown[-1].text:  # company age, when a scheme depends on it
        assert "existe" in shown[-1].text and progress(shown) == "10/10"
        shown = await chat.send("3 ans")
    recap = plain(shown)
    assert "Récapitulatif" in recap and "30\u202f000\u00a0€" in recap and "La Réunion" in recap
    got = await answers(app, chat)
    assert got["headcount"] == "h0_9" and got["turnover"] == "t1_10m"
    assert got["territory"] == "reunion" and got["vie"] == "yes" and got["vie_count"] == "2"
    assert got["budget"] == "b20_50k" and got["budget_amount"] == "30000"
    assert got.get("company_age", "a3") == "a3"


async def test_large_contracts_are_asked_only_above_a_small_turnover(big_app: App) -> None:
    big = ChatDriver(big_app, user_id=3106)
    await big.send("/start")
    for text in ("saas", "Singapour", "douze", "20 M€", "Bretagne", "j'exporte déjà", "non",
                 "45 000 €", "je ne sais pas"):
        shown = await big.send(text)
    assert "plusieurs millions" in shown[-1].text
    recap = plain(await big.send("oui"))
    assert "Récapitulatif" in recap and "Grands contrats : Oui" in recap
    assert "45\u202f000\u00a0€" in recap
    got = await answers(big_app, big)
    assert got["large_contracts"] == "yes" and got["budget_amount"] == "45000"
    assert got["company_age"] == "unknown"

    small = ChatDriver(big_app, user_id=3107)
    await small.send("/start")
    for text in ("saas", "Singapour", "5 salariés", "500k", "Île-de-France", "premiers pas",
                 "Peut-être", "moins de 20k"):
        shown = await small.send(text)
    shown = await small.skip_optional() or shown
    recap = plain(shown)
    assert "Récapitulatif" in recap and "Grands contrats" not in recap
    assert "Territoire" not in recap
    got = await answers(big_app, small)
    assert "large_contracts" not in got and "territory" not in got
    assert got["vie"] == "maybe" and "budget_amount" not in got  # a bound, not an amount


async def test_tapping_a_band_drops_the_typed_amount(app: App) -> None:
    chat = ChatDriver(app, user_id=3108)
    await chat.send("/start")
    for text in ("saas", "Singapour", "12 salariés", "2 M€", "Bretagne", "premiers pas",
                 "2 VIE", "30 000 €"):
        await chat.send(text)
    assert (await answers(app, chat))["budget_amount"] == "30000"
    await chat.skip_optional()
    await chat.press("Budget")
    recap = plain(await chat.press("50 à 150 k€"))
    assert "Récapitulatif" in recap and "50 à 150 k€" in recap
    got = await answers(app, chat)
    assert got["budget"] == "b50_150k" and "budget_amount" not in got
