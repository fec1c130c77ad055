"""Commands for everyone: /start, /restart, /help, /language."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.dialog.engine import Outcome
from bot.dialog.registry import Dialogs
from bot.handlers.session import save_dialog
from bot.handlers.views import Views
from bot.render.callbacks import LangCb
from bot.render.keyboards import language_keyboard
from bot.render.templates import Renderer
from bot.storage.users import UserRepository


def new_dialog_id() -> str:
    return secrets.token_urlsafe(6)[:8]


async def begin(chat_id: int, state: FSMContext, dialogs: Dialogs, views: Views,
                locale: str, template: str, *, prefill: Mapping[str, str] | None = None,
                context: Mapping[str, Any] | None = None) -> None:
    """Start a fresh dialog on the current knowledge base and ask the first question not
    answered; `prefill` (an advisor's link) answers some in advance, `context` goes to the
    welcome template."""
    dialog = dialogs.get()
    dialog_state = dialog.new(new_dialog_id(), prefill)
    await save_dialog(state, dialog_state)
    await views.send(chat_id, views.renderer.render(locale, template, **(context or {})))
    await views.show(chat_id, locale, dialog, Outcome(dialog_state))


def build_router() -> Router:
    router = Router(name=__name__)

    @router.message(CommandStart())
    async def cmd_start(message: Message, state: FSMContext, dialogs: Dialogs, views: Views,
                        locale: str) -> None:
        """Welcome, then the first question (a payload, valid or not, changes nothing yet)."""
        await begin(message.chat.id, state, dialogs, views, locale, "welcome")

    @router.message(Command("restart"))
    async def cmd_restart(message: Message, state: FSMContext, dialogs: Dialogs, views: Views,
                          locale: str) -> None:
        await begin(message.chat.id, state, dialogs, views, locale, "restarted")

    @router.message(Command("help"))
    async def cmd_help(message: Message, views: Views, locale: str) -> None:
        await views.send(message.chat.id, views.renderer.render(locale, "help"))

    @router.message(Command("language"))
    async def cmd_language(message: Message, renderer: Renderer, views: Views,
                           locale: str) -> None:
        await views.send(message.chat.id, renderer.render(locale, "language"),
                         language_keyboard(renderer))

    @router.callback_query(LangCb.filter())
    async def cb_language(query: CallbackQuery, callback_data: LangCb, users: UserRepository,
                          renderer: Renderer, views: Views) -> None:
        code = callback_data.code if callback_data.code in renderer.labels else "fr"
        await users.set_locale(query.from_user.id, code)
        await query.answer(renderer.label(code, "lang.done"))
        if query.message is not None:
            await views.send(query.message.chat.id, renderer.render(code, "language_set"))

    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    return router
