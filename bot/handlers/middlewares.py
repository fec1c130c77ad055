"""Middlewares: duplicate updates, updates in flight, floods, and the reader's locale."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from bot.render.templates import pick_locale
from bot.storage.keyvalue import KeyValue
from bot.storage.users import UserRepository

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
KEEP_UPDATE_IDS = 10_000


class DedupeMiddleware(BaseMiddleware):
    """An update handled before (same update_id for the same bot, re-delivered after a restart
    or a webhook retry) does nothing. It is marked handled only once its handler finished, so an
    update whose processing was cut by a crash is handled when Telegram delivers it again."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        # Update ids are numbered per bot: a console run, or another token on the same data,
        # has ids of its own.
        namespace, key = f"updates:{data['bot'].id}", str(event.update_id)
        if await self.kv.seen(namespace, key):
            return None
        result = await handler(event, data)
        await self.kv.claim(namespace, key, keep=KEEP_UPDATE_IDS)
        return result


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled, so a shutdown can wait for them (aiogram does not)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no update is in flight; False when the timeout ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class ThrottlingMiddleware(BaseMiddleware):
    """At most `limit` updates per user in `period` seconds; a flood gets one polite reply.

    Memory is bounded: only the `max_users` most recently active users are tracked.
    """

    def __init__(self, renderer: Any, limit: int = 20, period: float = 10.0,
                 max_users: int = 10_000) -> None:
        self.renderer = renderer
        self.limit = limit
        self.period = period
        self.max_users = max_users
        self._recent: OrderedDict[int, deque[float]] = OrderedDict()
        self._warned: set[int] = set()

    def _allow(self, user_id: int, now: float) -> bool:
        stamps = self._recent.pop(user_id, None) or deque()
        while stamps and now - stamps[0] > self.period:
            stamps.popleft()
        stamps.append(now)
        self._recent[user_id] = stamps  # most recent last
        while len(self._recent) > self.max_users:
            old, _ = self._recent.popitem(last=False)
            self._warned.discard(old)
        if len(stamps) <= self.limit:
            self._warned.discard(user_id)
            return True
        return False

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or self._allow(user.id, time.monotonic()):
            return await handler(event, data)
        if user.id not in self._warned:
            self._warned.add(user.id)
            locale = data.get("locale", "fr")
            if isinstance(event, CallbackQuery):
                await event.answer(self.renderer.label(locale, "toast.flood"))
            elif isinstance(event, Message):
                await event.answer(self.renderer.render(locale, "flood"))
        elif isinstance(event, CallbackQuery):
            await event.answer()  # every callback query is answered, even dropped ones
        return None


class LocaleMiddleware(BaseMiddleware):
    def __init__(self, users: UserRepository, default_locale: str) -> None:
        self.users = users
        self.default_locale = default_locale

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        locale = self.default_locale
        if user is not None:
            record = await self.users.touch(user.id)
            locale = record.get("locale") or pick_locale(user.language_code,
                                                          self.default_locale)
        data["locale"] = locale
        return await handler(event, data)
