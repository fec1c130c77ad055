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


class AdvisorCb(CallbackData, prefix="v"):
    """The advisor's link builder and menu, stateless: every button carries the choices so far.

    a: "b" begin (sectors), "s" sector chosen (regions), "r" region chosen (countries),
    "c" country chosen (cities), "f" finish (make the link), "st" statistics.
    s, r, c, t: sector, world region, country, city ids; empty: any."""

    a: str
    s: str = ""
    r: str = ""
    c: str = ""
    t: str = ""


class HandoffCb(CallbackData, prefix="h"):
    """A referred client's hand-off: a is "yes", "no" or "withdraw", t the token of that request."""

    a: str
    t: str


class SharedCb(CallbackData, prefix="p"):
    """Under a shared plan: a is "own" (start my own plan)."""

    a: str


class AlertCb(CallbackData, prefix="al"):
    """Aid alerts: a is "on" (subscribe with the answers of my last plan), "off", or "plan"
    (under an alert: a new dialog with the subscription's answers, straight to the recap)."""

    a: str


class KbCb(CallbackData, prefix="k"):
    """/kb, for admins. a: "apply" or "cancel" a pending change (t: its token), "export",
    "versions" (the versions to roll back to), "rollback" (t: the version; shows the diff)."""

    a: str
    t: str = ""
