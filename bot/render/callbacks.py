"""Callback data for buttons: short prefixes, ids only, always under Telegram's 64 bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from aiogram.filters.callback_data import CallbackData

from bot.dialog.specs import QUESTION_CODES, SPECS, STEP_CODES, UNKNOWN

# Steps and questions travel as short codes, stable across versions (bot/dialog/specs.py).
CODE_STEPS: dict[str, str] = {v: k for k, v in STEP_CODES.items()}
CODE_QUESTIONS: dict[str, str] = {v: k for k, v in QUESTION_CODES.items()}
__all__ = ["CODE_QUESTIONS", "CODE_STEPS", "QUESTION_CODES", "STEP_CODES"]


class AnswerCb(CallbackData, prefix="a"):
    """An option pressed: dialog id, step code, option id."""

    d: str
    s: str
    o: str


def optional_answer(buttons: list[str]) -> str | None:
    """Among a keyboard's callback data, the "I don't know" of a question asked only when it
    can change the plan (for scripts and tests that skip those questions); None otherwise."""
    optional = {s.code for s in SPECS if s.asked is not None and s.question_code}
    for data in buttons:
        try:
            answer = AnswerCb.unpack(data)
        except (TypeError, ValueError):
            continue
        if answer.s in optional and answer.o == UNKNOWN:
            return data
    return None


class NavCb(CallbackData, prefix="n"):
    """Navigation: back, yes/no to a guess, edit a question from the recap, plan, restart."""

    d: str
    a: str
    q: str = ""


class PlanCb(CallbackData, prefix="pl"):
    """A plan's buttons: d the dialog id, t the plan's token (`plan_token`), s what to show:
    a section code (PLAN_CODES), "m" the summary, "f" the PDF, "r" remind me (a follow-up)."""

    d: str
    t: str
    s: str


SUMMARY = "m"
PDF = "f"
FOLLOW_UP = "r"
# Sections travel as one letter (bot/plan/model.py SECTIONS); never reuse a letter.
PLAN_CODES: dict[str, str] = {"landing": "l", "vie": "v", "aid": "a", "sources": "s"}
CODE_SECTIONS: dict[str, str] = {v: k for k, v in PLAN_CODES.items()}


def plan_token(kb_version: str, answers: Mapping[str, str]) -> str:
    """Eight characters naming one plan: the knowledge version and the answers it was made of.
    A button whose token differs from the dialog's current one belongs to an older plan."""
    raw = json.dumps([kb_version, sorted(answers.items())], ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=4).hexdigest()


class CompareCb(CallbackData, prefix="cp"):
    """Under a plan: compare it with another destination; d the dialog id, t the plan's token."""

    d: str
    t: str


COMPARE_MARK = "~"
"""First character of the id of the question asking for the destination to compare with (its
buttons are AnswerCb and NavCb); never that of a dialog id (secrets.token_urlsafe)."""


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
    """Under a shared plan: a is "own" (start my own plan) or "pdf" (that plan as a PDF; c the
    share code)."""

    a: str
    c: str = ""


class FollowCb(CallbackData, prefix="fu"):
    """Under a follow-up's question: a is "done", "later" or "help", t that question's token."""

    a: str
    t: str


class AlertCb(CallbackData, prefix="al"):
    """Aid alerts: a is "on" (subscribe with the answers of my last plan), "off", or "plan"
    (under an alert: a new dialog with the subscription's answers, straight to the recap)."""

    a: str


class KbCb(CallbackData, prefix="k"):
    """/kb, for admins. a: "apply" or "cancel" a pending change (t: its token), "export",
    "versions" (the versions to roll back to), "rollback" (t: the version; shows the diff),
    "stale" (start re-verifying), "s_ok" / "s_edit" / "s_skip" (t: the walk's token)."""

    a: str
    t: str = ""
