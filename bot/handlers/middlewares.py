"""Middlewares: the reader's locale (chosen, else Telegram's language), and the user record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.render.templates import pick_locale
from bot.storage.users import UserRepository


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
            record = await self.users.get(user.id)
            if record is None or not record.get("active", True):
                record = await self.users.update(user.id, active=True)
            locale = record.get("locale") or pick_locale(user.language_code,
                                                          self.default_locale)
        data["locale"] = locale
        return await handler(event, data)
