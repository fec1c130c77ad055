"""Aid alerts for users: the 🔔 button under a plan, and /alerts to see or stop them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.dialog.registry import Dialogs
from bot.handlers.commands import begin
from bot.handlers.referral import answer_rows
from bot.handlers.views import Views
from bot.render.callbacks import AlertCb
from bot.render.keyboards import alerts_keyboard
from bot.storage.users import UserRepository

STOP_WORDS = frozenset({"stop", "off", "arret", "arrêt", "arreter", "arrêter", "non"})


async def show(chat_id: int, user_id: int, status: str, users: UserRepository,
               dialogs: Dialogs, views: Views, locale: str) -> None:
    """The subscription (answers it matches) with a Stop button, or how to get one."""
    record = await users.get(user_id) or {}
    subscription = record.get("alerts") or {}
    rows: list[tuple[str, str]] = []
    if subscription:
        dialog = dialogs.get(subscription.get("kb_version") or None)
        rows = answer_rows(views, dialog, locale, subscription.get("answers") or {},
                           only_given=True)
    elif status == "status":
        status = "none"
    has_plan = bool((record.get("last_plan") or {}).get("answers"))
    markup = (alerts_keyboard(views.renderer, locale, bool(subscription))
              if subscription or has_plan else None)
    await views.send(chat_id, views.renderer.render(
        locale, "alerts", status=status, rows=rows, since=subscription.get("since"),
        has_plan=has_plan), markup)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.message(Command("alerts"))
    async def cmd_alerts(message: Message, command: CommandObject, users: UserRepository,
                         dialogs: Dialogs, views: Views, locale: str) -> None:
        if message.from_user is None:
            return
        status = "status"
        if (command.args or "").strip().lower() in STOP_WORDS:
            stopped = await users.stop_alerts(message.from_user.id)
            status = "stopped" if stopped else "none"
        await show(message.chat.id, message.from_user.id, status, users, dialogs, views, locale)

    @router.callback_query(AlertCb.filter())
    async def cb_alerts(query: CallbackQuery, callback_data: AlertCb, state: FSMContext,
                        users: UserRepository, dialogs: Dialogs, views: Views,
                        locale: str) -> None:
        if query.message is None:
            await query.answer()
            return
        user_id = query.from_user.id
        if callback_data.a == "plan":
            record = await users.get(user_id) or {}
            answers = ((record.get("alerts") or record.get("last_plan") or {})
                       .get("answers") or {})
            if answers:
                await query.answer()
                await begin(query.message.chat.id, state, dialogs, views, locale, "alert_plan",
                            prefill=answers)
                return
            status = "no_plan"
        elif callback_data.a == "off":
            status = "stopped" if await users.stop_alerts(user_id) else "none"
        else:
            plan = ((await users.get(user_id)) or {}).get("last_plan") or {}
            if not plan.get("answers"):
                status = "no_plan"
            else:
                await users.subscribe_alerts(user_id, dict(plan["answers"]),
                                             str(plan.get("kb_version") or ""),
                                             views.today.isoformat(), locale)
                status = "on"
        await query.answer(views.renderer.label(locale, f"toast.alerts_{status}"))
        await show(query.message.chat.id, user_id, status, users, dialogs, views, locale)

    return router
