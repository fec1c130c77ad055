"""Callback data for buttons: short prefixes, ids only, always under Telegram's 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.dialog.questions import QUESTIONS, STEPS

# Steps and questions travel as two-letter codes to keep callback data short.
STEP_CODES: dict[str, str] = {s: f"s{i}" for i, s in enumerate(STEPS)}
CODE_STEPS: dict[str, str] = {v: k for k, v in STEP_CODES.items()}
QUESTION_CODES: dict[str, str] = {name: f"q{i}" for i, name in enumerate(QUESTIONS)}
CODE_QUESTIONS: dict[str, str] = {v: k for k, v in QUESTION_CODES.items()}


class AnswerCb(CallbackData, prefix="a"):
    """An option pressed: dialog id, step code, option id."""

    d: str
    s: str
    o: str


class NavCb(CallbackData, prefix="n"):
    """Navigation: back, yes/no to a guess, edit a question from the recap, plan, restart."""

    d: str
    a: str
    q: str = ""


class LangCb(CallbackData, prefix="l"):
    code: str


class ForgetCb(CallbackData, prefix="f"):
    """/forget confirmation: a is "yes" or "no", t the token of that one confirmation."""

    a: str
    t: str
