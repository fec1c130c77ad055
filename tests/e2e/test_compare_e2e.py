"""End to end over HTTP: a plan compared with another destination (picked with the dialog's
own buttons or typed), one screen side by side within Telegram's limit, the chart as a photo,
the comparison in the PDF; junk and stale buttons get the dialog's usual replies."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from bot.kb.loader import load_directory
from bot.render.callbacks import COMPARE_MARK, PDF, AnswerCb, CompareCb
from bot.render.templates import format_date, format_eur
from tests.conftest import KNOWLEDGE_DIR
from tests.e2e.fake_api import BotMessage, FakeBotAPI, utf16_len
from tests.e2e.test_bot_e2e import User, start_bot, stop_bot
from tests.e2e.test_plan_e2e import expected_plan, plan_button, reach_plan, until
from tests.unit.test_expert_cases import BASE

KB = load_directory(KNOWLEDGE_DIR)


def at(city: str) -> dict[str, str]:
    """The expert base profile, for this city of the knowledge base."""
    country = KB.countries[KB.cities[city].country]
    return {**BASE, "target_region": country.world_region, "target_country": country.id,
            "target_city": city}


def compare_button(message: BotMessage) -> str:
    found = [d for _, d in FakeBotAPI.buttons(message) if d and d.startswith("cp:")]
    assert len(found) == 1, FakeBotAPI.buttons(message)
    return found[0]


async def press(fake: FakeBotAPI, user: User, message: BotMessage, data: str,
                wanted: int = 1) -> list[BotMessage]:
    """Press a button; wait for `wanted` new messages; return what came."""
    count = len(fake.messages(user.id))
    fake.press_button(user.id, message.message_id, data)
    await until(lambda: len(fake.messages(user.id)) >= count + wanted)
    await fake.wait_idle(quiet=0.3, timeout=30)
    return fake.messages(user.id)[count:]


async def typed(fake: FakeBotAPI, user: User, text: str, wanted: int = 1) -> list[BotMessage]:
    count = len(fake.messages(user.id))
    fake.send_message(user.id, text, language_code=user.language)
    await until(lambda: len(fake.messages(user.id)) >= count + wanted)
    await fake.wait_idle(quiet=0.3, timeout=30)
    return fake.messages(user.id)[count:]


def check_screen(screen: BotMessage, names: tuple[str, str]) -> None:
    """One message within Telegram's limit, both destinations named on each item, sourced."""
    text = screen.plain_text
    assert 0 < utf16_len(text) <= 4096, utf16_len(text)
    for name in names:
        assert text.count(name) >= 6, (name, text)  # the title and a line per item
    assert text.count("Source") >= 6, text
    assert screen.inline_markup is not None  # the plan's buttons again, under it


async def test_singapore_against_tokyo_with_both_allowances(fake: FakeBotAPI,
                                                            tmp_path: Path) -> None:
    process = await start_bot(fake, tmp_path / "data")
    user = User(fake, 1600, "fr")
    try:
        plan = await reach_plan(fake, user, at("singapore"))
        asked = await press(fake, user, plan, compare_button(plan), wanted=2)
        intro, question = asked
        assert "Singapour" in intro.plain_text
        assert "⚖️" in question.plain_text and "/8" not in question.plain_text
        assert all(d.startswith(f"a:{COMPARE_MARK}") or d.startswith(f"n:{COMPARE_MARK}")
                   for _, d in FakeBotAPI.buttons(question) if d)
        # Junk: the dialog's reply to an unknown place, the same question again.
        (junk,) = await typed(fake, user, "zzqx atlantide")
        assert "Je ne connais pas encore cette destination" in junk.plain_text
        assert "⚖️" in junk.plain_text
        # Typed as in the dialog: the city, matched with its country.
        photo, screen = await typed(fake, user, "Tokyo", wanted=2)
        assert photo.photo is not None and photo.photo_data is not None
        assert photo.photo_data.startswith(b"\x89PNG")
        assert "Singapour" in photo.plain_text and "Tokyo" in photo.plain_text  # the caption
        check_screen(screen, ("Singapour", "Tokyo"))
        text = screen.plain_text
        # Each side's allowance (with its scale dates) and first-year cost: each plan's own.
        for city in ("singapore", "tokyo"):
            own = expected_plan(at(city))
            monthly, total = own.advice.vie.monthly, own.summary.budget.total
            assert monthly is not None and total is not None
            assert format_eur(monthly.total, "fr") in text
            assert format_date(monthly.geographic_date, "fr") in text
            assert format_eur(total.low, "fr") in text and format_eur(total.high, "fr") in text
        assert "non connu" not in text
        assert len(fake.photos(user.id)) == 1

        # A button of the comparison's question, now answered: the stale reply.
        option = next(d for _, d in FakeBotAPI.buttons(question) if d and d.startswith("a:"))
        stale = await press(fake, user, question, option)
        query = list(fake.callbacks.values())[-1]
        assert query.answer is not None and "ancien message" in query.answer.get("text", "")
        assert stale and AnswerCb.unpack(option).d.startswith(COMPARE_MARK)

        # The PDF of that plan holds the comparison as an annex.
        count = len(fake.documents(user.id))
        fake.press_button(user.id, screen.message_id, plan_button(screen, PDF))
        await until(lambda: len(fake.documents(user.id)) > count)
        data = fake.documents(user.id)[-1].document_data
        assert data is not None
        whole = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        annex = whole[whole.index("Annexe : comparaison"):]
        assert "Singapour ou Tokyo" in annex and annex.count("Source") >= 6, annex[:300]
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []


async def test_montreal_against_london_without_allowances(fake: FakeBotAPI,
                                                           tmp_path: Path) -> None:
    process = await start_bot(fake, tmp_path / "data")
    user = User(fake, 1601, "en")
    try:
        plan = await reach_plan(fake, user, at("montreal"))
        # The plan's own destination is not a comparison: asked again.
        await press(fake, user, plan, compare_button(plan), wanted=2)
        again = await typed(fake, user, "Montréal", wanted=2)
        assert "already your plan's destination" in again[0].plain_text
        # Buttons, as in the dialog: a world region, then a country, then a city.
        question = again[-1]
        europe = next(d for t, d in FakeBotAPI.buttons(question) if d and "Europe" in t)
        (countries,) = await press(fake, user, question, europe)
        # Back, as in the dialog: the world regions again, still for the comparison.
        back = next(d for _, d in FakeBotAPI.buttons(countries) if d and d.startswith("n:"))
        (regions,) = await press(fake, user, countries, back)
        assert "⚖️" in regions.plain_text and "/8" not in regions.plain_text
        europe = next(d for t, d in FakeBotAPI.buttons(regions) if d and "Europe" in t)
        (countries,) = await press(fake, user, regions, europe)
        uk = next(d for t, d in FakeBotAPI.buttons(countries)
                  if d and ("United Kingdom" in t or "UK" in t))
        (cities,) = await press(fake, user, countries, uk)
        london = next(d for t, d in FakeBotAPI.buttons(cities) if d and "London" in t)
        photo, screen = await press(fake, user, cities, london, wanted=2)
        assert photo.photo is not None
        check_screen(screen, ("Montreal", "London"))
        assert screen.plain_text.count("not known") >= 4, screen.plain_text  # no allowance, no cost

        # A compare button of an older plan (answers changed since): the stale reply.
        await user.send("hello")
        await user.press("Change my answers")
        await user.press("Destination")
        await user.send("Toronto")
        await user.skip_optional()
        await user.press("See my plan")
        before = len(fake.messages(user.id))
        fake.press_button(user.id, plan.message_id, compare_button(plan))
        await until(lambda: len(fake.messages(user.id)) > before)
        query = list(fake.callbacks.values())[-1]
        assert query.answer is not None and "old message" in query.answer.get("text", "")
        assert CompareCb.unpack(compare_button(plan)).d
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []
