"""Inline keyboards built from the dialog's view of a question; labels come from templates."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.dialog.engine import Option, Question
from bot.dialog.questions import QUESTIONS
from bot.render.callbacks import (
    QUESTION_CODES,
    STEP_CODES,
    AnswerCb,
    ForgetCb,
    LangCb,
    NavCb,
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


def question_keyboard(renderer: Renderer, locale: str, dialog_id: str,
                      question: Question) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for option in question.options:
        kb.button(text=option_label(renderer, locale, option),
                  callback_data=AnswerCb(d=dialog_id, s=STEP_CODES[question.step], o=option.id))
    columns = _COLUMNS.get(question.step, 2)
    rows = [columns] * ((len(question.options) + columns - 1) // columns)
    if question.can_go_back:
        kb.button(text=renderer.label(locale, "btn.back"),
                  callback_data=NavCb(d=dialog_id, a="back"))
        rows.append(1)
    kb.adjust(*rows)
    return kb.as_markup()


def confirm_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.yes"), callback_data=NavCb(d=dialog_id, a="yes"))
    kb.button(text=renderer.label(locale, "btn.no"), callback_data=NavCb(d=dialog_id, a="no"))
    return kb.as_markup()


def recap_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for name in QUESTIONS:
        kb.button(text=renderer.label(locale, "btn.edit", what=renderer.label(locale, f"q.{name}")),
                  callback_data=NavCb(d=dialog_id, a="edit", q=QUESTION_CODES[name]))
    kb.button(text=renderer.label(locale, "btn.back"), callback_data=NavCb(d=dialog_id, a="back"))
    kb.button(text=renderer.label(locale, "btn.plan"), callback_data=NavCb(d=dialog_id, a="plan"))
    kb.adjust(2, 2, 2, 2, 1, 1)
    return kb.as_markup()


def results_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=renderer.label(locale, "btn.change"),
              callback_data=NavCb(d=dialog_id, a="change"))
    kb.button(text=renderer.label(locale, "btn.restart"),
              callback_data=NavCb(d=dialog_id, a="restart"))
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
