"""Sharing a plan: the inline mode offers the user's own latest plan as a message with a link
`t.me/<bot>?start=s_<code>`; whoever opens the link sees that plan, and can start their own.

An inline query only ever reads the record of the user who typed it.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
)
from markupsafe import Markup

from bot.advisors.repository import AdvisorRepository, parse_payload
from bot.dialog.engine import DONE, Dialog, DialogState
from bot.dialog.registry import Dialogs
from bot.handlers.commands import begin
from bot.handlers.views import NO_PREVIEW, Views, drop_keyboard
from bot.render.callbacks import SharedCb
from bot.render.keyboards import own_plan_keyboard
from bot.render.templates import pick_locale
from bot.storage.users import UserRepository

INLINE_CACHE_SECONDS = 0  # results are personal and change with each new plan


def shared_dialog(dialogs: Dialogs,
                  share: dict[str, Any] | None) -> tuple[Dialog, DialogState] | None:
    """A shared plan's answers as a finished dialog, on the knowledge version it was made with;
    None for a missing or damaged share."""
    if share is None or not isinstance(share.get("answers"), dict):
        return None
    dialog = dialogs.get(str(share.get("kb_version") or "") or None)
    answers = {str(k): str(v) for k, v in share["answers"].items()}
    return dialog, DialogState(dialog_id="shared", kb_version=dialog.kb.version, step=DONE,
                               answers=answers)


async def share_code(user_id: int, plan: dict[str, Any], users: UserRepository,
                     advisors: AdvisorRepository) -> str:
    """The share code of this plan, made once per plan and remembered in the user's record."""
    if plan.get("share"):
        return str(plan["share"])
    code = await advisors.create_share(user_id, dict(plan.get("answers") or {}),
                                       str(plan.get("kb_version") or ""))
    record = await users.get(user_id) or {}
    await users.update(user_id, last_plan={**plan, "share": code},
                       shares=[*(record.get("shares") or []), code])
    return code


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.inline_query()
    async def on_inline_query(query: InlineQuery, bot: Bot, dialogs: Dialogs, views: Views,
                              users: UserRepository, default_locale: str,
                              advisors: AdvisorRepository | None = None) -> None:
        user_id = query.from_user.id
        record = await users.get(user_id)
        locale = ((record or {}).get("locale")
                  or pick_locale(query.from_user.language_code, default_locale))
        plan = (record or {}).get("last_plan")
        username = (await bot.me()).username
        renderer = views.renderer
        if not isinstance(plan, dict) or not plan.get("answers") or advisors is None:
            result = InlineQueryResultArticle(
                id="start", title=renderer.label(locale, "inline.none_title"),
                description=renderer.label(locale, "inline.none_description"),
                input_message_content=InputTextMessageContent(
                    message_text=renderer.render(locale, "inline_no_plan",
                                                 link=f"https://t.me/{username}"),
                    link_preview_options=NO_PREVIEW))
        else:
            code = await share_code(user_id, plan, users, advisors)
            dialog = dialogs.get(str(plan.get("kb_version") or "") or None)
            answers = {str(k): str(v) for k, v in dict(plan["answers"]).items()}
            names = {name: views.answer_label(dialog, locale, name, answers)
                     for name in ("sector", "target")}
            result = InlineQueryResultArticle(
                id=f"plan_{code}", title=renderer.label(locale, "inline.plan_title"),
                description=renderer.label(locale, "inline.plan_description", **names),
                input_message_content=InputTextMessageContent(
                    message_text=renderer.render(
                        locale, "inline_plan", link=f"https://t.me/{username}?start=s_{code}",
                        **names),
                    link_preview_options=NO_PREVIEW))
        await query.answer([result], cache_time=INLINE_CACHE_SECONDS, is_personal=True)

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith("s_")))
    async def start_shared(message: Message, command: CommandObject, state: FSMContext,
                           dialogs: Dialogs, views: Views, locale: str,
                           advisors: AdvisorRepository | None = None) -> None:
        """A shared plan, on the knowledge version it was made with; a bad code: /start."""
        payload = parse_payload(command.args)
        share = (await advisors.share(payload.code)
                 if advisors is not None and payload is not None and payload.kind == "share"
                 else None)
        found = shared_dialog(dialogs, share)
        if found is None or payload is None:
            await begin(message.chat.id, state, dialogs, views, locale, "welcome")
            return
        dialog, shared = found
        summary = views.summary(locale, dialog, shared, views.plan_of(dialog, shared))
        await views.send(message.chat.id,
                         views.renderer.render(locale, "shared_plan", summary=Markup(summary)),
                         own_plan_keyboard(views.renderer, locale, payload.code))

    @router.callback_query(SharedCb.filter(F.a == "pdf"))
    async def cb_shared_pdf(query: CallbackQuery, callback_data: SharedCb, dialogs: Dialogs,
                            views: Views, locale: str,
                            advisors: AdvisorRepository | None = None) -> None:
        """The shared plan as a PDF; a share deleted since (its author's /forget): stale."""
        share = await advisors.share(callback_data.c) if advisors and callback_data.c else None
        found = shared_dialog(dialogs, share)
        if found is None or query.message is None:
            await query.answer(views.renderer.label(locale, "toast.stale"))
            return
        await query.answer()
        await views.plan_pdf(query.message.chat.id, locale, *found)

    @router.callback_query(SharedCb.filter(F.a == "own"))
    async def cb_own_plan(query: CallbackQuery, state: FSMContext, dialogs: Dialogs,
                          views: Views, locale: str) -> None:
        await query.answer()
        if query.message is None:
            return
        await drop_keyboard(views.bot, query.message.chat.id, query.message.message_id)
        await begin(query.message.chat.id, state, dialogs, views, locale, "welcome")

    return router
