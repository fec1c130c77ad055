"""Inline keyboards built from the dialog's view of a question; labels come from templates."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.dialog.engine import Option, Question
from bot.plan.model import SECTIONS
from bot.render.callbacks import (
    FOLLOW_UP,
    PDF,
    PLAN_CODES,
    QUESTION_CODES,
    STEP_CODES,
    SUMMARY,
    AdvisorCb,
    AlertCb,
    AnswerCb,
    CompareCb,
    FollowCb,
    ForgetCb,
    HandoffCb,
    KbCb,
    LangCb,
    NavCb,
    PlanCb,
    SharedCb,
)
from bot.render.templates import LOCALES, Renderer

_BUTTON_MAX = 60  # keep buttons readable; Telegram truncates long ones on phones anyway


def option_label(renderer: Renderer, locale: str, option: Option) -> str:
    if option.label is not None:
        text = option.label.get(locale) or option.label.get("fr") or option.id
    else:
        text = renderer.label(locale, option.label_key or option.id)
    return _fit(text)


def _fit(text: str) -> str:
    """Button texts stay readable: Telegram truncates long ones on phones anyway."""
    return text if len(text) <= _BUTTON_MAX else text[: _BUTTON_MAX - 1] + "…"


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _markup(buttons: list[InlineKeyboardButton], widths: list[int]) -> InlineKeyboardMarkup:
    """Rows of the given widths (the last width repeats). Every keyboard is built this way:
    aiogram's keyboard builder deep-copies every button on export (the main cost of a question
    update when profiled)."""
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
    columns = question.columns
    widths = [columns] * ((len(question.options) + columns - 1) // columns)
    if question.can_go_back:
        buttons.append(_button(renderer.label(locale, "btn.back"), NavCb(d=dialog_id, a="back")))
        widths.append(1)
    return _markup(buttons, widths)


def confirm_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    return _markup([_button(renderer.label(locale, "btn.yes"), NavCb(d=dialog_id, a="yes")),
                    _button(renderer.label(locale, "btn.no"), NavCb(d=dialog_id, a="no"))], [2])


def recap_keyboard(renderer: Renderer, locale: str, dialog_id: str,
                   questions: list[str]) -> InlineKeyboardMarkup:
    """An edit button per question of the recap, two a row; then back, and the plan."""
    buttons = [_button(renderer.label(locale, "btn.edit", what=renderer.label(locale, f"q.{name}")),
                       NavCb(d=dialog_id, a="edit", q=QUESTION_CODES[name]))
               for name in questions]
    buttons.append(_button(renderer.label(locale, "btn.back"), NavCb(d=dialog_id, a="back")))
    buttons.append(_button(renderer.label(locale, "btn.plan"), NavCb(d=dialog_id, a="plan")))
    return _markup(buttons, [2] * ((len(questions) + 1) // 2) + [1, 1])


def _results(renderer: Renderer, locale: str, dialog_id: str) -> list[InlineKeyboardButton]:
    return [
        _button(renderer.label(locale, "btn.change"), NavCb(d=dialog_id, a="change")),
        _button(renderer.label(locale, "btn.restart"), NavCb(d=dialog_id, a="restart")),
        # Opens the inline mode in a chat of the user's choice: the bot answers with their plan.
        InlineKeyboardButton(text=renderer.label(locale, "btn.share"), switch_inline_query=""),
        _button(renderer.label(locale, "btn.alerts_on"), AlertCb(a="on")),
    ]


def results_keyboard(renderer: Renderer, locale: str, dialog_id: str) -> InlineKeyboardMarkup:
    return _markup(_results(renderer, locale, dialog_id), [1])


def _section_button(renderer: Renderer, locale: str, key: str, data: PlanCb,
                    aid_count: int) -> InlineKeyboardButton:
    return _button(renderer.label(locale, f"btn.plan_{key}", count=aid_count),
                   data.model_copy(update={"s": PLAN_CODES[key]}))


def plan_keyboard(renderer: Renderer, locale: str, dialog_id: str, token: str,
                  aid_count: int) -> InlineKeyboardMarkup:
    """Under the summary: the four sections two a row, the PDF, compare with another
    destination, then change, restart, share, alerts and the follow-up."""
    data = PlanCb(d=dialog_id, t=token, s=SUMMARY)
    buttons = [_section_button(renderer, locale, key, data, aid_count) for key in SECTIONS]
    buttons.append(_button(renderer.label(locale, "btn.plan_pdf"),
                           data.model_copy(update={"s": PDF})))
    buttons.append(_button(renderer.label(locale, "btn.compare"), CompareCb(d=dialog_id, t=token)))
    follow_up = _button(renderer.label(locale, "btn.follow_up"),
                        data.model_copy(update={"s": FOLLOW_UP}))
    return _markup([*buttons, *_results(renderer, locale, dialog_id), follow_up], [2, 2, 1])


def section_keyboard(renderer: Renderer, locale: str, dialog_id: str, token: str,
                     aid_count: int, current: str) -> InlineKeyboardMarkup:
    """Under a section: the other sections, back to the summary, the PDF."""
    data = PlanCb(d=dialog_id, t=token, s=SUMMARY)
    buttons = [_section_button(renderer, locale, key, data, aid_count)
               for key in SECTIONS if key != current]
    buttons.append(_button(renderer.label(locale, "btn.plan_summary"), data))
    buttons.append(_button(renderer.label(locale, "btn.plan_pdf"),
                           data.model_copy(update={"s": PDF})))
    return _markup(buttons, [len(buttons) - 2, 2])


def language_keyboard(renderer: Renderer) -> InlineKeyboardMarkup:
    return _markup([_button(renderer.label(code, "lang.name"), LangCb(code=code))
                    for code in LOCALES], [len(LOCALES)])


def forget_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """/forget: delete everything, or keep it; the token ties both buttons to this request."""
    return _markup([_button(renderer.label(locale, "btn.forget_yes"), ForgetCb(a="yes", t=token)),
                    _button(renderer.label(locale, "btn.forget_no"), ForgetCb(a="no", t=token))],
                   [1])


def advisor_menu_keyboard(renderer: Renderer, locale: str) -> InlineKeyboardMarkup:
    """Under the advisor's personal link: build a targeted link, see the statistics."""
    return _markup([_button(renderer.label(locale, "btn.adv_build"), AdvisorCb(a="b")),
                    _button(renderer.label(locale, "btn.adv_stats"), AdvisorCb(a="st"))], [1])


def advisor_builder_keyboard(renderer: Renderer, locale: str, choices: list[tuple[str, str]],
                             any_label: str, any_data: AdvisorCb, pick: AdvisorCb,
                             field: str, back: AdvisorCb | None) -> InlineKeyboardMarkup:
    """One step of the link builder: a button per (id, name) in `choices`, each one `pick` with
    `field` set to its id; then "any" and "back"."""
    buttons = [_button(_fit(name), pick.model_copy(update={field: rid})) for rid, name in choices]
    widths = [2] * ((len(choices) + 1) // 2) + [1]
    buttons.append(_button(renderer.label(locale, any_label), any_data))
    if back is not None:
        buttons.append(_button(renderer.label(locale, "btn.back"), back))
        widths.append(1)
    return _markup(buttons, widths)


def handoff_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """Share my profile and plan with the advisor who sent me, or not."""
    return _markup([
        _button(renderer.label(locale, "btn.handoff_yes"), HandoffCb(a="yes", t=token)),
        _button(renderer.label(locale, "btn.handoff_no"), HandoffCb(a="no", t=token))], [1])


def withdraw_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    return _markup([_button(renderer.label(locale, "btn.handoff_withdraw"),
                            HandoffCb(a="withdraw", t=token))], [1])


def own_plan_keyboard(renderer: Renderer, locale: str, code: str = "") -> InlineKeyboardMarkup:
    """Under a plan someone shared: that plan as a PDF (when its share code is known), start
    my own."""
    buttons = [_button(renderer.label(locale, "btn.plan_pdf"), SharedCb(a="pdf", c=code))
               ] if code else []
    buttons.append(_button(renderer.label(locale, "btn.own_plan"), SharedCb(a="own")))
    return _markup(buttons, [1])


def alerts_keyboard(renderer: Renderer, locale: str, subscribed: bool) -> InlineKeyboardMarkup:
    """/alerts: stop them, or turn them on with the answers of the last plan."""
    action = "off" if subscribed else "on"
    return _markup([_button(renderer.label(locale, f"btn.alerts_{action}"), AlertCb(a=action))],
                   [1])


def followup_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """Under a follow-up's question: done, not yet, I need help."""
    return _markup([_button(renderer.label(locale, f"btn.followup_{a}"), FollowCb(a=a, t=token))
                    for a in ("done", "later", "help")], [2, 1])


def alert_keyboard(renderer: Renderer, locale: str) -> InlineKeyboardMarkup:
    """Under an alert: my plan again with today's knowledge base, or stop the alerts."""
    return _markup([_button(renderer.label(locale, "btn.alert_plan"), AlertCb(a="plan")),
                    _button(renderer.label(locale, "btn.alerts_off"), AlertCb(a="off"))], [1])


def kb_home_keyboard(renderer: Renderer, locale: str, stale: int = 0) -> InlineKeyboardMarkup:
    """/kb: export the live files, roll back to an earlier version, re-verify what is due."""
    buttons = [_button(renderer.label(locale, "btn.kb_export"), KbCb(a="export")),
               _button(renderer.label(locale, "btn.kb_versions"), KbCb(a="versions"))]
    if stale:
        buttons.append(_button(renderer.label(locale, "btn.kb_stale", n=stale), KbCb(a="stale")))
    return _markup(buttons, [2, 1] if stale else [2])


def kb_stale_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """Under a record due for re-verification: still true, needs a change, skip."""
    return _markup([_button(renderer.label(locale, f"btn.kb_stale_{a}"), KbCb(a=f"s_{a}", t=token))
                    for a in ("ok", "edit", "skip")], [1, 2])


def kb_confirm_keyboard(renderer: Renderer, locale: str, token: str) -> InlineKeyboardMarkup:
    """Under a diff: apply it or not; the token names that one pending change."""
    return _markup([_button(renderer.label(locale, "btn.kb_apply"), KbCb(a="apply", t=token)),
                    _button(renderer.label(locale, "btn.kb_cancel"), KbCb(a="cancel", t=token))],
                   [2])


def kb_versions_keyboard(renderer: Renderer, locale: str,
                         versions: list[str]) -> InlineKeyboardMarkup:
    """One button per backed-up version, newest first: pressing shows the rollback's diff."""
    return _markup([_button(renderer.label(locale, "btn.kb_rollback", version=v),
                            KbCb(a="rollback", t=v)) for v in versions], [1])
