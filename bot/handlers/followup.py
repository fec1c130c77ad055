"""The follow-up at the plan: opting in (the plan's "remind me" button, see bot/handlers/plan.py)
and the answers to the question it asks later (bot/followup.py sends it)."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.advice.steps import next_steps
from bot.advisors.repository import AdvisorRepository
from bot.dialog.engine import Dialog, DialogState
from bot.dialog.profile import Profile
from bot.dialog.registry import Dialogs
from bot.followup import LAST_ROUND, FollowUps, new_token
from bot.handlers.views import Views, drop_keyboard
from bot.render.callbacks import FollowCb, plan_token
from bot.render.keyboards import handoff_keyboard

ANSWERS = ("done", "later", "help")


async def opt_in(query: CallbackQuery, dialog: Dialog, state: DialogState, views: Views,
                 locale: str, followups: FollowUps | None,
                 advisors: AdvisorRepository | None) -> None:
    """Remember to ask about this plan's first action; counted once per plan for the advisor
    whose link the user came through."""
    label = views.renderer.label
    if followups is None or query.message is None:
        await query.answer(label(locale, "toast.stale"))
        return
    user_id = query.from_user.id
    actions = views.plan_of(dialog, state).summary.actions
    first = actions[0] if actions else None
    who = (first.title.get(locale) if first.title else first.who) if first else None
    referral = await advisors.referral(user_id) if advisors is not None else None
    code = str(referral["code"]) if referral and referral.get("code") else None
    fresh = await followups.schedule(user_id, plan=plan_token(dialog.kb.version, state.answers),
                                     who=who, locale=locale,
                                     home_region=state.answers.get("home_region"), code=code)
    await query.answer(label(locale, "toast.followup_on" if fresh else "toast.followup_already"))
    if not fresh:
        return
    if code and advisors is not None:
        await advisors.count(code, "followup")
    await views.send(query.message.chat.id,
                     views.renderer.render(locale, "followup_set", who=who))


async def offer_help(chat_id: int, user_id: int, record: dict[str, Any], dialogs: Dialogs,
                     views: Views, locale: str, advisors: AdvisorRepository | None) -> None:
    """The advisor who referred the user (the hand-off, with the consent question), else the
    Team France Export contact of the home region (the national one when the base has none)."""
    referral = await advisors.referral(user_id) if advisors is not None else None
    advisor = None
    if advisors is not None and referral and referral.get("advisor_id") is not None:
        advisor = await advisors.active_advisor(int(referral["advisor_id"]))
    if advisors is not None and referral is not None and advisor is not None:
        context = {"advisor": str(advisor.get("name") or ""),
                   "organisation": str(advisor.get("organisation") or "")}
        if referral.get("consent") is True:
            await views.send(chat_id, views.renderer.render(locale, "followup_help_shared",
                                                            **context))
            return
        token = new_token()  # the same question as after the plan: a new one, its own buttons
        await advisors.set_referral(user_id, token=token, consent=None)
        await views.send(chat_id, views.renderer.render(locale, "handoff_ask", **context),
                         handoff_keyboard(views.renderer, locale, token))
        return
    region = record.get("home_region")
    kb = dialogs.get().kb
    steps = next_steps(Profile.from_answers({"home_region": region} if region else {}), kb,
                       (), [])
    step = steps[0] if steps else None
    region_record = kb.french_regions.get(str(region)) if region else None
    await views.send(chat_id, views.renderer.render(
        locale, "followup_help_contact", step=step,
        region=region_record.name.get(locale) if region_record else None))


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(F.message.chat.type == "private")

    @router.callback_query(FollowCb.filter())
    async def cb_followup(query: CallbackQuery, callback_data: FollowCb, dialogs: Dialogs,
                          views: Views, locale: str, followups: FollowUps | None = None,
                          advisors: AdvisorRepository | None = None) -> None:
        message = query.message
        user_id = query.from_user.id
        action = callback_data.a
        record = (await followups.answer(user_id, callback_data.t)
                  if followups is not None and message is not None and action in ANSWERS
                  else None)
        if record is None or followups is None or message is None:
            # Answered already (a second tap), asked again since, or forgotten: nothing
            # happens twice.
            await query.answer(views.renderer.label(locale, "toast.stale"))
            return
        await query.answer()
        await drop_keyboard(views.bot, message.chat.id, message.message_id)
        code = record.get("code")
        if action == "later" and int(record.get("round", 1)) < LAST_ROUND:
            await followups.again(user_id, record)
            await views.send(message.chat.id, views.renderer.render(locale, "followup_later"))
            return
        await followups.drop(user_id)
        if code and advisors is not None and action != "later":
            await advisors.count(str(code), action)
        if action == "help":
            await offer_help(message.chat.id, user_id, record, dialogs, views, locale, advisors)
        else:
            template = "followup_done" if action == "done" else "followup_later_last"
            await views.send(message.chat.id, views.renderer.render(locale, template))

    return router
