"""Last router: unknown commands, messages outside a dialog, unknown buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.handlers.views import Views


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")

    # `repeat`: the same message again right away (see ThrottlingMiddleware), answered once.
    @router.message(F.text.startswith("/"))
    async def on_unknown_command(message: Message, views: Views, locale: str,
                                 repeat: bool = False) -> None:
        if not repeat:
            await views.send(message.chat.id, views.renderer.render(locale, "unknown_command"))

    @router.message()
    async def on_anything(message: Message, views: Views, locale: str,
                          repeat: bool = False) -> None:
        if not repeat:
            await views.send(message.chat.id, views.renderer.render(locale, "no_dialog"))

    @router.callback_query()
    async def on_unknown_button(query: CallbackQuery, views: Views, locale: str) -> None:
        await query.answer(views.renderer.label(locale, "toast.stale"))

    return router
