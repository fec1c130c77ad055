"""⚖️ Compare the plan with another destination: the dialog's own destination question (its
options, typed places, guesses to confirm, back), then one screen side by side and the chart of
the two first-year costs as a photo.

The question runs on a copy of the dialog's state (its id marked COMPARE_MARK), stored beside
the dialog in the FSM data with the token of the plan it compares; any change to the dialog
(save_dialog replaces the data) ends it, and its buttons then get the stale reply. The
destination chosen is kept ("compared") so that plan's PDF holds the comparison as an annex."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatAction
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.dialog.engine import DONE, Dialog, DialogState, Outcome
from bot.dialog.registry import Dialogs
from bot.handlers.commands import new_dialog_id
from bot.handlers.questionnaire import MAX_TEXT
from bot.handlers.session import Questionnaire, load_dialog
from bot.handlers.views import Views, drop_keyboard
from bot.plan.compare import Comparison, compare
from bot.render.callbacks import (
    CODE_STEPS,
    COMPARE_MARK,
    AnswerCb,
    CompareCb,
    NavCb,
    plan_token,
)
from bot.render.compare_chart import comparison_png
from bot.render.pdf import slug
from bot.render.split import first_message

TARGET_STEPS = ("target_region", "target_country", "target_city")


def start_state(current: DialogState) -> DialogState:
    """The destination question on a copy of the dialog: the other answers kept (the plan to
    compare with differs only by its destination), back to the other steps once it is given."""
    answers = {k: v for k, v in current.answers.items() if k not in TARGET_STEPS}
    return replace(current, dialog_id=COMPARE_MARK + new_dialog_id()[:7], step=TARGET_STEPS[0],
                   answers=answers, history=(), editing=True, pending=None, prefilled=())


def chosen(state: DialogState) -> bool:
    """The destination is given: the copy has left the destination's steps."""
    return state.pending is None and state.step not in TARGET_STEPS


def target_of(answers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in answers.items() if k in TARGET_STEPS}


def compared_answers(current: DialogState, token: str,
                     data: Mapping[str, Any]) -> dict[str, str] | None:
    """The answers of the destination compared with this plan (`token`), None when it was not
    compared (or the comparison belongs to an older plan)."""
    found = data.get("compared") or {}
    if not found or found.get("of") != token:
        return None
    others = {k: v for k, v in current.answers.items() if k not in TARGET_STEPS}
    return {**others, **{str(k): str(v) for k, v in dict(found.get("target") or {}).items()}}


def comparison_of(views: Views, dialog: Dialog, current: DialogState,
                  other_answers: Mapping[str, str],
                  locale: str) -> tuple[Comparison, tuple[str, str]]:
    """The two plans compared, and their destinations as the user saw them."""
    other = replace(current, answers=dict(other_answers))
    comparison = compare(views.plan_of(dialog, current), views.plan_of(dialog, other), dialog.kb)
    where = (views.plan_names(dialog, locale, current.answers)["target"],
             views.plan_names(dialog, locale, other.answers)["target"])
    return comparison, where


def comparison_annex(views: Views, dialog: Dialog, current: DialogState,
                     data: Mapping[str, Any], locale: str) -> str | None:
    """The comparison for the plan's PDF (every source, every scheme), when this plan was
    compared with another destination."""
    other = compared_answers(current, plan_token(dialog.kb.version, current.answers), data)
    if other is None:
        return None
    comparison, where = comparison_of(views, dialog, current, other, locale)
    return views.plan_text.comparison(comparison, dialog.kb, locale, where, full=True)


async def send_comparison(views: Views, chat_id: int, locale: str, dialog: Dialog,
                          current: DialogState, other_answers: Mapping[str, str]) -> None:
    """The chart as a photo, then the screen side by side with the plan's buttons under it."""
    comparison, where = comparison_of(views, dialog, current, other_answers, locale)
    renderer = views.renderer
    await views.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    png = await asyncio.to_thread(comparison_png, renderer, locale, comparison, where)
    name = renderer.text(locale, "cmp.filename", left=slug(where[0]), right=slug(where[1]))
    await views.bot.send_photo(
        chat_id, BufferedInputFile(png, filename=f"{slug(str(name))}.png"),
        caption=renderer.text(locale, "cmp.chart.caption", left=where[0], right=where[1]))
    text = views.plan_text.comparison(comparison, dialog.kb, locale, where)
    await views.send(chat_id, first_message(text, renderer.text(locale, "plan.cut")),
                     views.plan_keyboard(locale, dialog, current, comparison.left.plan))


async def _load(state: FSMContext, dialogs: Dialogs, dialog_id: str | None = None
                ) -> tuple[DialogState, DialogState, str, Dialog] | None:
    """The dialog, the destination question under way (with that id, when given), the token
    of the plan it compares and the dialog's engine; None when there is none (or it belongs to
    an older plan)."""
    current = await load_dialog(state)
    if current is None or current.step != DONE:
        return None
    found = (await state.get_data()).get("compare") or {}
    sub = DialogState.from_dict(found.get("state") or {})
    dialog = dialogs.get(current.kb_version)
    token = plan_token(dialog.kb.version, current.answers)
    if sub is None or found.get("of") != token or (dialog_id and sub.dialog_id != dialog_id):
        return None
    return current, sub, token, dialog


async def comparing(message: Message, state: FSMContext, dialogs: Dialogs) -> bool:
    """Filter: a destination to compare with is being asked."""
    return await _load(state, dialogs) is not None


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.callback_query(CompareCb.filter())
    async def cb_compare(query: CallbackQuery, callback_data: CompareCb, state: FSMContext,
                         dialogs: Dialogs, views: Views, locale: str) -> None:
        """The plan's ⚖️ button: ask for the other destination."""
        message = query.message
        current = await load_dialog(state)
        if message is None or current is None:
            await _stale(query, state, dialogs, views, locale)
            return
        dialog = dialogs.get(current.kb_version)
        token = plan_token(dialog.kb.version, current.answers)
        if (callback_data.d != current.dialog_id or current.step != DONE
                or callback_data.t != token):
            await _stale(query, state, dialogs, views, locale)
            return
        await query.answer()
        sub = start_state(current)
        await state.update_data(compare={"state": sub.to_dict(), "of": token})
        target = views.plan_names(dialog, locale, current.answers)["target"]
        await views.send(message.chat.id, views.renderer.text(locale, "cmp.ask", target=target))
        await views.show(message.chat.id, locale, dialog, Outcome(sub), compare=True)

    @router.callback_query(AnswerCb.filter(F.d.startswith(COMPARE_MARK)))
    async def cb_answer(query: CallbackQuery, callback_data: AnswerCb, state: FSMContext,
                        dialogs: Dialogs, views: Views, locale: str) -> None:
        """An option of the destination question."""
        found = await _load(state, dialogs, callback_data.d)
        if found is None or query.message is None:
            await _stale(query, state, dialogs, views, locale)
            return
        current, sub, token, dialog = found
        outcome = dialog.choose(sub, callback_data.d, CODE_STEPS.get(callback_data.s, ""),
                                callback_data.o)
        await _settle(query, outcome, current, token, state, dialog, views, locale)

    @router.callback_query(NavCb.filter(F.d.startswith(COMPARE_MARK)))
    async def cb_nav(query: CallbackQuery, callback_data: NavCb, state: FSMContext,
                     dialogs: Dialogs, views: Views, locale: str) -> None:
        """Back, or yes / no to a guessed place."""
        found = await _load(state, dialogs, callback_data.d)
        if found is None or query.message is None:
            await _stale(query, state, dialogs, views, locale)
            return
        current, sub, token, dialog = found
        if callback_data.a == "back":
            outcome = dialog.back(sub, callback_data.d)
        elif callback_data.a in ("yes", "no"):
            outcome = dialog.confirm(sub, callback_data.d, callback_data.a == "yes")
        else:
            outcome = Outcome(sub, "stale")
        await _settle(query, outcome, current, token, state, dialog, views, locale)

    @router.message(StateFilter(Questionnaire.active), F.text, ~F.text.startswith("/"),
                    comparing)
    async def on_text(message: Message, state: FSMContext, dialogs: Dialogs, views: Views,
                      locale: str, repeat: bool = False) -> None:
        """A destination typed ("Londres", "Tokyo"), matched as the dialog matches it; junk
        gets the dialog's reply (once for the same junk sent again right away)."""
        found = await _load(state, dialogs)
        if found is None:
            return
        current, sub, token, dialog = found
        text = message.text or ""
        outcome = (dialog.type(sub, text) if len(text) <= MAX_TEXT
                   else Outcome(sub, "not_understood"))
        if repeat and outcome.status == "not_understood":
            return
        await _advance(message.chat.id, outcome, current, token, state, dialog, views, locale)

    return router


async def _stale(query: CallbackQuery, state: FSMContext, dialogs: Dialogs, views: Views,
                 locale: str) -> None:
    """A button of an older plan or question: the toast, then where the user is."""
    await query.answer(views.renderer.label(locale, "toast.stale"))
    current = await load_dialog(state)
    if query.message is None:
        return
    if current is None:
        await views.send(query.message.chat.id, views.renderer.render(locale, "no_dialog"))
        return
    await views.show(query.message.chat.id, locale, dialogs.get(current.kb_version),
                     Outcome(current, "stale"))


async def _settle(query: CallbackQuery, outcome: Outcome, current: DialogState, token: str,
                  state: FSMContext, dialog: Dialog, views: Views, locale: str) -> None:
    message = query.message
    assert message is not None
    if outcome.status == "stale":
        await query.answer(views.renderer.label(locale, "toast.stale"))
        await views.show(message.chat.id, locale, dialog, outcome, compare=True)
        return
    await query.answer()
    await drop_keyboard(views.bot, message.chat.id, message.message_id)
    await _advance(message.chat.id, outcome, current, token, state, dialog, views, locale)


async def _advance(chat_id: int, outcome: Outcome, current: DialogState, token: str,
                   state: FSMContext, dialog: Dialog, views: Views, locale: str) -> None:
    """Ask on, or (the destination given) compare; the plan's own destination is asked again."""
    sub = outcome.state
    if not chosen(sub):
        await state.update_data(compare={"state": sub.to_dict(), "of": token})
        await views.show(chat_id, locale, dialog, outcome, compare=True)
        return
    if target_of(sub.answers) == target_of(current.answers):
        again = start_state(current)
        await state.update_data(compare={"state": again.to_dict(), "of": token})
        await views.send(chat_id, views.renderer.text(locale, "cmp.same_place"))
        await views.show(chat_id, locale, dialog, Outcome(again), compare=True)
        return
    await state.update_data(compare=None,
                            compared={"target": target_of(sub.answers), "of": token})
    await send_comparison(views, chat_id, locale, dialog, current, sub.answers)
