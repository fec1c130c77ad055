"""Self-test of the fake Bot API's inline mode: inline queries and answerInlineQuery's checks."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from tests.e2e.fake_api import QUERY_TOO_OLD, FakeBotAPI

USER = 100200301


def article(result_id: str = "r1", text: str = "<b>plan</b>",
            title: str = "Title") -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id, title=title, input_message_content=InputTextMessageContent(message_text=text))


async def test_an_inline_query_is_answered_once(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_inline_query(USER, "plan")
    query_id, record = next(iter(fake.inline_queries.items()))
    assert fake.injected[-1]["inline_query"]["query"] == "plan"
    assert await bot.answer_inline_query(query_id, [article()], cache_time=0, is_personal=True)
    assert record.answered and record.results and record.results[0]["id"] == "r1"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query(query_id, [article()])
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query("12345", [article()])
    assert fake.errors[-1].description == QUERY_TOO_OLD


@pytest.mark.parametrize(("results", "error"), [
    ([article(f"r{i}") for i in range(51)], "RESULTS_TOO_MUCH"),
    ([article("x" * 65)], "RESULT_ID_INVALID"),
    ([article("r1"), article("r1")], "RESULT_ID_DUPLICATE"),
    ([article(title=" ")], "RESULT_TITLE_EMPTY"),
    ([article(text="<b> </b>")], "MESSAGE_EMPTY"),
    ([article(text="x" * 4097)], "MESSAGE_TOO_LONG"),
    ([article(text="<u>open")], "can't parse entities"),
])
async def test_answer_inline_query_rejects_what_telegram_rejects(
        bot: Bot, fake: FakeBotAPI, results: list[InlineQueryResultArticle], error: str) -> None:
    fake.send_inline_query(USER)
    query_id = next(iter(fake.inline_queries))
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.answer_inline_query(query_id, results)  # type: ignore[arg-type]
    assert not fake.inline_queries[query_id].answered  # a rejected answer can be retried
    assert await bot.answer_inline_query(query_id, [article()])


async def test_switch_inline_query_may_be_empty(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Share", switch_inline_query="")]])
    await bot.send_message(USER, "plan", reply_markup=markup)
    assert fake.errors == [] and fake.violations == []
