"""Inline keyboards built from the dialog's view of a question; labels come from templates."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.dialog.engine import Option, Question
from bot.dialog.questions import QUESTIONS
from bot.render.callbacks import (
    QUESTION_CODES,
    STEP_CODES,
    AdvisorCb,
    AnswerCb,
    ForgetCb,
    HandoffCb,
    LangCb,
    NavCb,
    SharedCb,
)
from bot.render.templates import LOCALES, Renderer

_COLUMNS = {"vie_count": 4, "vie": 3}
_BUTTON_MAX = 60  # keep buttons readable; Telegram truncates long ones on phones anyway


def option_label(renderer: Renderer, locale: str, option: Option) -> str:
    if option.label is not None:
        text = option.label.get(locale) or option.label.get("fr") or option.id
    else:
        text = renderer.label(locale, option.label_key or option.id)
    return text if len(text) <= _BUTTON_MAX else text[: _BUTTON_MAX - 1] + "…"


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _markup(buttons: list[InlineKeyboardButton], widths: list[int]) -> InlineKeyboardMarkup:
    """Rows of the given widths (the last width repeats). Built directly: aiogram's keyboard
    builder deep-copies every button on export, the main cost of a question update."""
    rows: list[list[InlineKeyboardButton]] = []
    index = 0
    while index < len(buttons):
        width = widths[min(len(rows), len(widths) - 1)]
        rows.append(buttons[index:index + width])
        index += width
    return InlineKeyboardMarkup(inline_keyboard=rows)


def question_keyboard(renderer: Renderer, locale: str, dialog_id: str,
                      question: Question) -> InlineKeyboardMarkup:
    step = STEP_CODES[question.step]
    buttons = [_button(option_label(renderer, locale, option),
                       AnswerCb(d=dialog_id, s=step, o=option.id))
               for option in question.options]
    columns = _COLUMNS.get(question.step, 2)
    widths = [columns] * ((len(question.options) + columns - 1) // columns)
    if question.can_go_back:
        buttons.append(_button(renderer.label(locale, "btn.back"), NavCb(d=dialog_id, a="back")))
        widths.append(1)
    return _markup(buttons, widths)


def confirm_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    return _markup([_button(renderer.label(locale, "btn.yes"), NavCb(d=dialog_id, a="yes")),
                    _button(renderer.label(locale, "btn.no"), NavCb(d=dialog_id, a="no"))], [2])


def recap_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    buttons = [_button(renderer.label(locale, "btn.edit", what=renderer.label(locale, f"q.{name}")),
                       NavCb(d=dialog_id, a="edit", q=QUESTION_CODES[name]))
               for name in QUESTIONS]
    buttons.append(_button(renderer.label(locale, "btn.back"), NavCb(d=dialog_id, a="back")))
    buttons.append(_button(renderer.label(locale, "btn.plan"), NavCb(d=dialog_id, a="plan")))
    return _markup(buttons, [2, 2, 2, 2, 1, 1])


def results_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.change"),
              callback_data=NavCb(d=dialog_id, a="change"))
    kb.button(text=renderer.label(locale, "btn.restart"),
              callback_data=NavCb(d=dialog_id, a="restart"))
    # Opens the inline mode in a chat of the user's choice: the bot answers with their plan.
    kb.button(text=renderer.label(locale, "btn.share"), switch_inline_query="")
    kb.adjust(1)
    return kb.as_markup()


def language_keyboard(renderer: Renderer) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in LOCALES:
        kb.button(text=renderer.label(code, "lang.name"), callback_data=LangCb(code=code))
    return kb.as_markup()


def forget_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """/forget: delete everything, or keep it; the token ties both buttons to this request."""
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.forget_yes"),
              callback_data=ForgetCb(a="yes", t=token))
    kb.button(text=renderer.label(locale, "btn.forget_no"),
              callback_data=ForgetCb(a="no", t=token))
    kb.adjust(1)
    return kb.as_markup()


def advisor_menu_keyboard(renderer: Renderer, locale: str) -> InlineKeyboardMarkup:
    """Under the advisor's personal link: build a targeted link, see the statistics."""
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.adv_build"), callback_data=AdvisorCb(a="b"))
    kb.button(text=renderer.label(locale, "btn.adv_stats"), callback_data=AdvisorCb(a="st"))
    kb.adjust(1)
    return kb.as_markup()


def advisor_builder_keyboard(renderer: Renderer, locale: str, choices: list[tuple[str, str]],
                             any_label: str, any_data: AdvisorCb, pick: AdvisorCb,
                             field: str, back: AdvisorCb | None) -> InlineKeyboardMarkup:
    """One step of the link builder: a button per (id, name) in `choices`, each one `pick` with
    `field` set to its id; then "any" and "back"."""
    kb = InlineKeyboardBuilder()
    for rid, name in choices:
        text = name if len(name) <= _BUTTON_MAX else name[: _BUTTON_MAX - 1] + "…"
        kb.button(text=text, callback_data=pick.model_copy(update={field: rid}))
    rows = [2] * ((len(choices) + 1) // 2)
    kb.button(text=renderer.label(locale, any_label), callback_data=any_data)
    rows.append(1)
    if back is not None:
        kb.button(text=renderer.label(locale, "btn.back"), callback_data=back)
        rows.append(1)
    kb.adjust(*rows)
    return kb.as_markup()


def handoff_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """Share my profile and plan with the advisor who sent me, or not."""
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.handoff_yes"),
              callback_data=HandoffCb(a="yes", t=token))
    kb.button(text=renderer.label(locale, "btn.handoff_no"),
              callback_data=HandoffCb(a="no", t=token))
    kb.adjust(1)
    return kb.as_markup()


def withdraw_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.handoff_withdraw"),
              callback_data=HandoffCb(a="withdraw", t=token))
    return kb.as_markup()


def own_plan_keyboard(renderer: Renderer, locale: str) -> InlineKeyboardMarkup:
    """Under a plan someone shared: start my own."""
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.own_plan"), callback_data=SharedCb(a="own"))
    return kb.as_markup()
