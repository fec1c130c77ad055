"""The plan's buttons: a section, back to the summary (the same message edited in place), the PDF.

The plan is rebuilt from the stored dialog at each press (deterministic, so a press after a
restart shows the same plan); a button of an older plan (answers changed, a new dialog, /forget)
gets the stale reply. "Remind me" opts in to the follow-up (bot/handlers/followup.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.advisors.repository import AdvisorRepository
from bot.dialog.engine import DONE, Outcome
from bot.dialog.registry import Dialogs
from bot.followup import FollowUps
from bot.handlers.compare import comparison_annex
from bot.handlers.followup import opt_in
from bot.handlers.questionnaire import stale
from bot.handlers.session import load_dialog
from bot.handlers.views import Views
from bot.render.callbacks import CODE_SECTIONS, FOLLOW_UP, PDF, SUMMARY, PlanCb, plan_token


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(F.message.chat.type == "private")

    @router.callback_query(PlanCb.filter())
    async def cb_plan(query: CallbackQuery, callback_data: PlanCb, state: FSMContext,
                      dialogs: Dialogs, views: Views, locale: str,
                      followups: FollowUps | None = None,
                      advisors: AdvisorRepository | None = None) -> None:
        message = query.message
        current = await load_dialog(state)
        if message is None:
            await query.answer()
            return
        if current is None:
            await stale(query, views, locale)
            return
        dialog = dialogs.get(current.kb_version)
        code = callback_data.s
        if (callback_data.d != current.dialog_id or current.step != DONE
                or callback_data.t != plan_token(dialog.kb.version, current.answers)
                or code not in (SUMMARY, PDF, FOLLOW_UP, *CODE_SECTIONS)):
            await query.answer(views.renderer.label(locale, "toast.stale"))
            await views.show(message.chat.id, locale, dialog, Outcome(current, "stale"))
            return
        if code == FOLLOW_UP:
            await opt_in(query, dialog, current, views, locale, followups, advisors)
            return
        await query.answer()
        if code == PDF:
            annex = comparison_annex(views, dialog, current, await state.get_data(), locale)
            await views.plan_pdf(message.chat.id, locale, dialog, current, annex=annex)
        else:
            await views.plan_part(message.chat.id, message.message_id, locale, dialog, current,
                                  CODE_SECTIONS.get(code))

    return router
