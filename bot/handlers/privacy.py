"""Privacy: /privacy (what is kept, why, how long, where), /mydata (a copy), /forget (erase).

Tried before the questionnaire, so these commands work mid-dialog and leave the dialog as it was.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.advisors.repository import AdvisorRepository
from bot.handlers import referral
from bot.handlers.kb_admin import PENDING as KB_PENDING
from bot.handlers.views import Views, drop_keyboard
from bot.render.callbacks import ForgetCb
from bot.render.keyboards import forget_keyboard
from bot.render.split import LIMIT, pack, visible_length
from bot.render.templates import Renderer
from bot.storage.users import FOLLOWUPS_NAMESPACE, UserRepository

# The pending /forget confirmation lives beside the dialog, in its own FSM destiny: it never
# touches the dialog's data, and forgetting the user removes it with everything else.
PENDING_DESTINY = "privacy"
_MAX_PARTS_SHOWN = 99  # the "n/m" counter is measured with two digits


def pending_context(state: FSMContext) -> FSMContext:
    """The FSM context of the /forget confirmation for the same chat and user."""
    return FSMContext(state.storage, replace(state.key, destiny=PENDING_DESTINY))


def data_document(record: dict[str, Any] | None, fsm_state: str | None,
                  fsm_data: dict[str, Any],
                  extra: dict[str, Any] | None = None) -> str | None:
    """What is stored about the user, as pretty JSON; None when nothing is."""
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    if record is None and fsm_state is None and not fsm_data and not extra:
        return None
    document = {"user": record, "dialog": {"state": fsm_state, "data": fsm_data}, **extra}
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)


def json_chunks(text: str, size: int) -> list[str]:
    """Cut at line ends into pieces of at most `size` characters (a longer line is cut)."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend([line[i:i + size] for i in range(0, len(line), size)] or [""])
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for line in lines:
        extra = len(line) + (1 if current else 0)
        if current and length + extra > size:
            chunks.append("\n".join(current))
            current, length = [], 0
            extra = len(line)
        current.append(line)
        length += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


def mydata_messages(renderer: Renderer, locale: str, document: str) -> list[str]:
    """The JSON in <pre> blocks, one message per part, each within Telegram's limit."""
    overhead = visible_length(renderer.render(locale, "mydata", json="", part=1,
                                              parts=_MAX_PARTS_SHOWN))
    chunks = json_chunks(document, max(LIMIT - overhead - 2, 100))
    sections = [renderer.render(locale, "mydata", json=chunk, part=index, parts=len(chunks))
                for index, chunk in enumerate(chunks, start=1)]
    # pack section by section: a part is never merged with the next one, only cut if too long.
    return [message for section in sections for message in pack([section])]


async def forget_everything(state: FSMContext, users: UserRepository, user_id: int,
                            before: Callable[[int], Awaitable[None]] | None = None) -> bool:
    """The user record, an admin's knowledge change waiting for Apply, and the FSM state and
    data of this user in every chat; `before` runs first, while the user record is still there
    (e.g. withdraw a hand-off to an advisor). True once it is all gone from disk too; False when
    the store has recorded the deletions but is still making them final there."""
    if before is not None:
        await before(user_id)
    await users.kv.delete(KB_PENDING, str(user_id))
    await users.delete(user_id)
    forget_user = getattr(state.storage, "forget_user", None)
    if callable(forget_user):
        await forget_user(state.key.bot_id, user_id)
    else:
        await state.clear()
        await pending_context(state).clear()
    return await users.kv.purge()


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.message(Command("privacy"))
    async def cmd_privacy(message: Message, views: Views, locale: str) -> None:
        await views.send(message.chat.id, views.renderer.render(locale, "privacy"))

    @router.message(Command("mydata"))
    async def cmd_mydata(message: Message, state: FSMContext, users: UserRepository,
                         views: Views, locale: str,
                         advisors: AdvisorRepository | None = None) -> None:
        user_id = message.from_user.id if message.from_user else None
        record = await users.get(user_id) if user_id else None
        extra: dict[str, Any] = {}
        if user_id:  # which alerts were sent (or claimed for sending), when, by which process
            extra["alerts_sent"] = await users.alert_claims(user_id)
            extra["follow_up"] = await users.kv.get(FOLLOWUPS_NAMESPACE, str(user_id))
        if advisors is not None and user_id:
            extra["referral"] = await advisors.referral(user_id)
            extra["advisor_account"] = await advisors.advisor(user_id)
        document = data_document(record, await state.get_state(), await state.get_data(), extra)
        if document is None:
            await views.send(message.chat.id, views.renderer.render(locale, "mydata_empty"))
            return
        await views.send_parts(message.chat.id, mydata_messages(views.renderer, locale, document))

    @router.message(Command("forget"))
    async def cmd_forget(message: Message, state: FSMContext, views: Views,
                         locale: str) -> None:
        """Ask first; a new request makes the buttons of any earlier one stale."""
        token = secrets.token_urlsafe(6)[:8]
        await pending_context(state).set_data({"forget": token})
        await views.send(message.chat.id, views.renderer.render(locale, "forget_confirm"),
                         forget_keyboard(views.renderer, locale, token))

    @router.callback_query(ForgetCb.filter())
    async def cb_forget(query: CallbackQuery, callback_data: ForgetCb, state: FSMContext,
                        users: UserRepository, views: Views, locale: str,
                        advisors: AdvisorRepository | None = None) -> None:
        message = query.message
        pending = pending_context(state)
        token = (await pending.get_data()).get("forget")
        if message is None or not token or token != callback_data.t:
            # Already answered, superseded by a later /forget, or from before a /forget.
            await query.answer(views.renderer.label(locale, "toast.forget_stale"))
            if message is not None:
                await drop_keyboard(views.bot, message.chat.id, message.message_id)
            return
        if callback_data.a == "yes":
            final = await forget_everything(
                state, users, query.from_user.id,
                functools.partial(referral.forget_client, advisors=advisors, users=users,
                                  views=views))
            # Said deleted only once it is off the disk; else recorded, finished by the store.
            template = "forget_done" if final else "forget_recorded"
            await query.answer(views.renderer.label(
                locale, "toast.forgotten" if final else "toast.forget_recorded"))
        else:
            await pending.clear()
            await query.answer()
            template = "forget_kept"
        await drop_keyboard(views.bot, message.chat.id, message.message_id)
        await views.send(message.chat.id, views.renderer.render(locale, template))

    return router
