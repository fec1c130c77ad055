"""Bot API client middleware: wait and retry on 'Too Many Requests' and on network errors;
a button's answer that comes too late is not an error.

aiogram raises TelegramRetryAfter on a 429 and has no retry of its own
(https://github.com/aiogram/aiogram/issues/1875). A plan is several messages in a row to one
chat, which Telegram may throttle (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-
how-do-i-avoid-this); waiting the time it asks for keeps the plan whole. A network error is retried
with a growing pause. Other errors (a 403 from a user who blocked the bot, a 400) are never retried.
getUpdates is left alone: aiogram's polling loop has its own backoff.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, GetUpdates
from aiogram.methods.base import Response

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retry a throttled or failed call up to `attempts` times; never wait over `max_wait`."""

    def __init__(self, attempts: int = 3, max_wait: float = 30.0,
                 network_pause: float = 0.5) -> None:
        self.attempts = attempts
        self.max_wait = max_wait
        self.network_pause = network_pause

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning("%s throttled, retrying in %s s", method.__api_method__,
                            exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramNetworkError as exc:
                if attempt == self.attempts:
                    raise
                pause = self.network_pause * 2 ** (attempt - 1)
                log.warning("%s failed (%s), retrying in %s s", method.__api_method__, exc,
                            pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover


# Telegram's words when a callback query is answered too late (about 15 s after the tap) or
# twice: https://core.telegram.org/bots/api#answercallbackquery
_LATE_ANSWER = ("query is too old", "query ID is invalid")


class LateAnswerMiddleware(BaseRequestMiddleware):
    """answerCallbackQuery refused as too late: the answer only stops the button's spinner, so
    it counts as done and the handler goes on to send the reply (under load, or after a
    replica died, a tap's update may wait longer than Telegram keeps the query)."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        if not isinstance(method, AnswerCallbackQuery):
            return await make_request(bot, method)
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not any(words in exc.message for words in _LATE_ANSWER):
                raise
            log.info("callback query answered too late (%s); going on", exc.message)
            return Response[bool](ok=True, result=True)
