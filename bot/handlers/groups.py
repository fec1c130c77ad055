"""Groups, channels and messages sent inline in other chats: the bot answers nothing there.

A button pressed on a message that is not in the presser's private chat with the bot gets a
toast pointing to the private chat, and nothing else: no dialog, alert or plan is ever posted
where others can read it. (LocaleMiddleware keeps no record of who pressed it.)
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.render.templates import Renderer


def build_router() -> Router:
    router = Router(name=__name__)

    @router.callback_query(~(F.message.chat.type == "private"))
    async def elsewhere(query: CallbackQuery, renderer: Renderer, locale: str) -> None:
        await query.answer(renderer.label(locale, "toast.private_only"))

    return router
