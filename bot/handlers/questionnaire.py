"""The questionnaire: buttons, typed answers, back, guesses to confirm, recap, plan."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.advisors.repository import AdvisorRepository
from bot.dialog.engine import Dialog, Outcome
from bot.dialog.registry import Dialogs
from bot.handlers.commands import begin
from bot.handlers.referral import after_plan
from bot.handlers.session import Questionnaire, load_dialog, save_dialog
from bot.handlers.views import Views, drop_keyboard
from bot.render.callbacks import CODE_QUESTIONS, CODE_STEPS, AnswerCb, NavCb
from bot.storage.users import UserRepository

MAX_TEXT = 200  # longer text cannot be an answer to any question


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.callback_query(AnswerCb.filter())
    async def cb_answer(query: CallbackQuery, callback_data: AnswerCb, state: FSMContext,
                        dialogs: Dialogs, views: Views, locale: str) -> None:
        """An option button."""
        current = await load_dialog(state)
        if current is None or query.message is None:
            await stale(query, views, locale)
            return
        dialog = dialogs.get(current.kb_version)
        step = CODE_STEPS.get(callback_data.s, "")
        outcome = dialog.choose(current, callback_data.d, step, callback_data.o)
        await settle(query, outcome, state, dialog, views, locale)

    @router.callback_query(NavCb.filter())
    async def cb_nav(query: CallbackQuery, callback_data: NavCb, state: FSMContext,
                     dialogs: Dialogs, views: Views, users: UserRepository,
                     locale: str, advisors: AdvisorRepository | None = None) -> None:
        """Back, yes/no, edit from the recap, see the plan, change answers, restart."""
        current = await load_dialog(state)
        if query.message is None:
            await query.answer()
            return
        if callback_data.a == "restart":
            await query.answer()
            await drop_keyboard(views.bot, query.message.chat.id, query.message.message_id)
            await begin(query.message.chat.id, state, dialogs, views, locale, "restarted")
            return
        if current is None:
            await stale(query, views, locale)
            return
        dialog = dialogs.get(current.kb_version)
        d, action = callback_data.d, callback_data.a
        if action == "back":
            outcome = dialog.back(current, d)
        elif action in ("yes", "no"):
            outcome = dialog.confirm(current, d, action == "yes")
        elif action == "edit":
            outcome = dialog.edit(current, d, CODE_QUESTIONS.get(callback_data.q, ""))
        elif action == "change":
            outcome = dialog.reopen(current, d)
        elif action == "plan":
            outcome = dialog.finish(current, d)
            if outcome.status == "ok":
                await query.answer()
                await drop_keyboard(views.bot, query.message.chat.id, query.message.message_id)
                await views.plan(query.message.chat.id, locale, dialog, outcome.state)
                await save_dialog(state, outcome.state)  # after the plan: a failure can retry
                await users.update(query.from_user.id, last_plan={
                    "answers": outcome.state.answers, "kb_version": dialog.kb.version,
                    "date": views.today.isoformat()})
                await after_plan(query.from_user, query.message.chat.id, d, advisors, views,
                                 locale)
                return
        else:
            outcome = Outcome(current, "stale")
        await settle(query, outcome, state, dialog, views, locale)

    @router.message(StateFilter(Questionnaire.active), F.text, ~F.text.startswith("/"))
    async def on_text(message: Message, state: FSMContext, dialogs: Dialogs, views: Views,
                      locale: str, repeat: bool = False) -> None:
        """A typed answer. Junk sent again right away (`repeat`, see ThrottlingMiddleware)
        was answered the first time: not again."""
        current = await load_dialog(state)
        if current is None:
            if not repeat:
                await views.send(message.chat.id, views.renderer.render(locale, "no_dialog"))
            return
        dialog = dialogs.get(current.kb_version)
        text = message.text or ""
        outcome = (dialog.type(current, text) if len(text) <= MAX_TEXT
                   else Outcome(current, "not_understood"))
        if repeat and outcome.status == "not_understood":
            return
        if outcome.state != current:
            await save_dialog(state, outcome.state)
        await views.show(message.chat.id, locale, dialog, outcome)

    @router.message(StateFilter(Questionnaire.active), ~F.text)
    async def on_other(message: Message, state: FSMContext, dialogs: Dialogs, views: Views,
                       locale: str, repeat: bool = False) -> None:
        """Stickers, photos, voice... mid-dialog: say what is expected, ask again (once for
        the same one sent again right away)."""
        if repeat:
            return
        current = await load_dialog(state)
        if current is None:
            await views.send(message.chat.id, views.renderer.render(locale, "no_dialog"))
            return
        dialog = dialogs.get(current.kb_version)
        await views.show(message.chat.id, locale, dialog, Outcome(current, "not_understood"))

    return router


async def settle(query: CallbackQuery, outcome: Outcome, state: FSMContext, dialog: Dialog,
                 views: Views, locale: str) -> None:
    """Answer the button, save, remove the old buttons when it moved, show what comes next."""
    message = query.message
    assert message is not None
    if outcome.status == "stale":
        await query.answer(views.renderer.label(locale, "toast.stale"))
    else:
        await query.answer()
        await drop_keyboard(views.bot, message.chat.id, message.message_id)
        await save_dialog(state, outcome.state)
    await views.show(message.chat.id, locale, dialog, outcome)


async def stale(query: CallbackQuery, views: Views, locale: str) -> None:
    """A button from a dialog that no longer exists."""
    await query.answer(views.renderer.label(locale, "toast.stale"))
    if query.message is not None:
        await views.send(query.message.chat.id, views.renderer.render(locale, "no_dialog"))
