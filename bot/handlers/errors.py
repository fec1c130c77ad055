"""Errors: a user who blocked the bot is marked inactive; anything else is logged with the update
id and the user gets a kind reply; their data is kept."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import Chat, ChatMemberUpdated, ErrorEvent, Update

from bot.handlers.views import Views
from bot.render.templates import pick_locale
from bot.storage.users import UserRepository

log = logging.getLogger(__name__)


def private_chat(update: Update) -> Chat | None:
    """The chat of a message or of a button's message, when it is a private chat: the only
    place the bot answers, and the only one whose users it keeps a record of."""
    chat = None
    if update.message:
        chat = update.message.chat
    elif update.callback_query and update.callback_query.message:
        chat = update.callback_query.message.chat
    return chat if chat is not None and chat.type == "private" else None


def build_router() -> Router:
    router = Router(name=__name__)

    @router.error(ExceptionTypeFilter(TelegramForbiddenError))
    async def on_blocked(event: ErrorEvent, users: UserRepository) -> None:
        """403 'bot was blocked by the user': never retried, the user is marked inactive
        (a user of the bot: not a member of a group the bot was removed from)."""
        user = event.update.event.from_user if hasattr(event.update.event, "from_user") else None
        log.info("update %s: %s", event.update.update_id, event.exception)
        if user is not None and private_chat(event.update) is not None:
            await users.set_active(user.id, False)

    @router.my_chat_member(F.chat.type == "private")
    async def on_membership(update: ChatMemberUpdated, users: UserRepository) -> None:
        """Telegram tells us when a user blocks (kicked) or unblocks (member) the bot."""
        await users.set_active(update.from_user.id, update.new_chat_member.status == "member")

    @router.error()
    async def on_error(event: ErrorEvent, views: Views, users: UserRepository,
                       default_locale: str) -> None:
        log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
        chat = private_chat(event.update)
        if chat is None:  # nothing is posted to a group or channel, not even this
            return
        user = (event.update.message.from_user if event.update.message
                else event.update.callback_query.from_user if event.update.callback_query
                else None)
        chosen = await users.locale(user.id) if user else None
        locale = chosen or pick_locale(user.language_code if user else None, default_locale)
        try:
            await views.send(chat.id, views.renderer.render(locale, "error"))
        except Exception:  # noqa: BLE001 - the error reply itself failed; logged above already
            log.warning("could not send the error reply to chat %s", chat.id)

    return router
