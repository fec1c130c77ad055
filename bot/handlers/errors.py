"""Unexpected errors: log them with the update id, tell the user kindly, keep their data."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.handlers.views import Views
from bot.render.templates import pick_locale
from bot.storage.users import UserRepository

log = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name=__name__)

    @router.error()
    async def on_error(event: ErrorEvent, views: Views, users: UserRepository,
                       default_locale: str) -> None:
        log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
        chat = None
        user = None
        if event.update.message:
            chat, user = event.update.message.chat, event.update.message.from_user
        elif event.update.callback_query and event.update.callback_query.message:
            chat = event.update.callback_query.message.chat
            user = event.update.callback_query.from_user
        if chat is None:
            return
        chosen = await users.locale(user.id) if user else None
        locale = chosen or pick_locale(user.language_code if user else None, default_locale)
        try:
            await views.send(chat.id, views.renderer.render(locale, "error"))
        except Exception:  # noqa: BLE001 - the error reply itself failed; logged above already
            log.warning("could not send the error reply to chat %s", chat.id)

    return router
