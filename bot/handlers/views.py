"""What the bot shows for each dialog outcome: render templates, build keyboards, send."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, LinkPreviewOptions

from bot.advice.engine import advise
from bot.clock import SYSTEM_CLOCK, Clock
from bot.dialog.engine import (
    DONE,
    RECAP,
    UNKNOWN,
    UNKNOWN_PLACE,
    Dialog,
    DialogState,
    Outcome,
)
from bot.dialog.profile import Profile
from bot.plan.build import build_plan
from bot.plan.model import Plan
from bot.render import keyboards
from bot.render.callbacks import plan_token
from bot.render.pdf import pdf_filename, render_pdf
from bot.render.plan_text import PlanText
from bot.render.split import first_message
from bot.render.templates import Renderer, format_eur

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
PLAN_NAMES = ("sector", "headcount", "home_region", "stage", "vie", "budget")
_NOTICES = {"not_understood": "notice_not_understood", "stale": "notice_stale",
            "first": "notice_first"}


class Views:
    """Sends the question, recap, confirmation and plan messages for one chat."""

    def __init__(self, bot: Bot, renderer: Renderer, clock: Clock = SYSTEM_CLOCK) -> None:
        self.bot = bot
        self.renderer = renderer
        self.clock = clock
        self.plan_text = PlanText(renderer)

    @property
    def today(self) -> dt.date:
        return self.clock.today()

    async def send(self, chat_id: int, text: str,
                   markup: InlineKeyboardMarkup | None = None) -> None:
        await self.bot.send_message(chat_id, text, reply_markup=markup,
                                    link_preview_options=NO_PREVIEW)

    async def edit(self, chat_id: int, message_id: int, text: str,
                   markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace a message's text and buttons; if Telegram no longer lets it be edited, send
        it as a new message instead."""
        try:
            await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
                                             reply_markup=markup,
                                             link_preview_options=NO_PREVIEW)
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:  # pressed twice: it already shows this
                return
            # "message can't be edited" / "message to edit not found"
            # (https://core.telegram.org/bots/api#editmessagetext): a new message then.
            log.debug("plan message not edited: %s", exc.message)
            await self.send(chat_id, text, markup)

    async def send_parts(self, chat_id: int, texts: list[str],
                         markup: InlineKeyboardMarkup | None = None) -> None:
        """Several messages in order; the buttons go under the last one."""
        for index, text in enumerate(texts):
            await self.send(chat_id, text, markup if index == len(texts) - 1 else None)

    async def show(self, chat_id: int, locale: str, dialog: Dialog, outcome: Outcome,
                   compare: bool = False) -> None:
        """Show what follows an action: a guess to confirm, the next question, recap or plan;
        `compare`: the question asks for a destination to compare with (no progress shown)."""
        state = outcome.state
        notice = ("notice_unknown_place" if outcome.detail == UNKNOWN_PLACE
                  else _NOTICES.get(outcome.status))
        guess = outcome.detail if outcome.status == "confirm" else (state.pending or {}).get(
            "option")
        if guess:
            await self.confirm(chat_id, locale, dialog, state, guess, notice)
        elif state.step == RECAP:
            await self.recap(chat_id, locale, dialog, state, notice)
        elif state.step == DONE:
            await self.done(chat_id, locale, dialog, state, notice)
        else:
            await self.question(chat_id, locale, dialog, state, notice, compare)

    async def question(self, chat_id: int, locale: str, dialog: Dialog, state: DialogState,
                       notice: str | None = None, compare: bool = False) -> None:
        question = dialog.question(state)
        kb = dialog.kb
        answers = state.answers
        region = kb.world_regions.get(answers.get("target_region", ""))
        country = kb.countries.get(answers.get("target_country", ""))
        text = self.renderer.render(
            locale, "question", q=question, notice=notice, compare=compare,
            region=region.name if region else None,
            country=country.name if country else None,
        )
        markup = keyboards.question_keyboard(self.renderer, locale, state.dialog_id, question)
        await self.send(chat_id, text, markup)

    async def confirm(self, chat_id: int, locale: str, dialog: Dialog, state: DialogState,
                      guess: str, notice: str | None = None) -> None:
        text = self.renderer.render(locale, "confirm", notice=notice,
                                    guess=self.guess_label(dialog, locale, state, guess))
        await self.send(chat_id, text, keyboards.confirm_keyboard(self.renderer, locale,
                                                                  state.dialog_id))

    async def recap(self, chat_id: int, locale: str, dialog: Dialog, state: DialogState,
                    notice: str | None = None) -> None:
        questions = dialog.recap_questions(state.answers)
        rows = [(self.renderer.label(locale, f"q.{name}"),
                 self.answer_label(dialog, locale, name, state.answers)) for name in questions]
        text = self.renderer.render(locale, "recap", rows=rows, notice=notice)
        await self.send(chat_id, text, keyboards.recap_keyboard(self.renderer, locale,
                                                                state.dialog_id, questions))

    async def done(self, chat_id: int, locale: str, dialog: Dialog, state: DialogState,
                   notice: str | None = None) -> None:
        text = self.renderer.render(locale, "done", notice=notice)
        await self.send(chat_id, text, keyboards.results_keyboard(self.renderer, locale,
                                                                  state.dialog_id))

    # --- the plan ----------------------------------------------------------------------------

    def plan_of(self, dialog: Dialog, state: DialogState) -> Plan:
        """The plan of a dialog's answers, on its knowledge version: the advice computed once."""
        return build_plan(advise(dialog.profile(state), dialog.kb, self.today), dialog.kb,
                          self.today)

    def summary(self, locale: str, dialog: Dialog, state: DialogState, plan: Plan) -> str:
        return self.plan_text.summary(plan, dialog.kb, locale,
                                      self.plan_names(dialog, locale, state.answers))

    def plan_keyboard(self, locale: str, dialog: Dialog, state: DialogState,
                      plan: Plan) -> InlineKeyboardMarkup:
        return keyboards.plan_keyboard(self.renderer, locale, state.dialog_id,
                                       plan_token(dialog.kb.version, state.answers),
                                       plan.summary.aid_count)

    def section_text(self, locale: str, dialog: Dialog, state: DialogState, plan: Plan,
                     section: str) -> str:
        """A section as one message: one longer than Telegram allows is cut between items,
        with a pointer to the PDF (which holds all of it)."""
        return first_message(self.plan_text.section(plan, section, dialog.kb, locale,
                                                    self.plan_names(dialog, locale,
                                                                    state.answers)),
                             self.renderer.text(locale, "plan.cut"))

    async def plan(self, chat_id: int, locale: str, dialog: Dialog, state: DialogState) -> Plan:
        """The plan as one message, its summary, with a button per section and the PDF."""
        plan = self.plan_of(dialog, state)
        await self.send(chat_id, self.summary(locale, dialog, state, plan),
                        self.plan_keyboard(locale, dialog, state, plan))
        return plan

    async def plan_part(self, chat_id: int, message_id: int, locale: str, dialog: Dialog,
                        state: DialogState, section: str | None) -> None:
        """Turn the plan message into one of its sections, or (None) back into the summary."""
        plan = self.plan_of(dialog, state)
        if section is None:
            await self.edit(chat_id, message_id, self.summary(locale, dialog, state, plan),
                            self.plan_keyboard(locale, dialog, state, plan))
            return
        text = self.section_text(locale, dialog, state, plan, section)
        await self.edit(chat_id, message_id, text, keyboards.section_keyboard(
            self.renderer, locale, state.dialog_id, plan_token(dialog.kb.version, state.answers),
            plan.summary.aid_count, section))

    async def plan_pdf(self, chat_id: int, locale: str, dialog: Dialog, state: DialogState,
                       plan: Plan | None = None, annex: str | None = None) -> int:
        """The complete plan as a PDF document, rendered off the event loop while the chat shows
        "sending a file"; `annex`: a comparison to add at the end; returns the document's
        message id."""
        plan = plan or self.plan_of(dialog, state)
        names = self.plan_names(dialog, locale, state.answers)
        await self.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        data = await asyncio.to_thread(render_pdf, plan, dialog.kb, locale, names,
                                       self.plan_text, annex)
        sent = await self.bot.send_document(
            chat_id, BufferedInputFile(data, filename=pdf_filename(plan, dialog.kb, locale,
                                                                   names)),
            caption=self.renderer.render(locale, "plan_pdf", target=names["target"],
                                         day=plan.today))
        return sent.message_id

    # --- labels ----------------------------------------------------------------------------

    def plan_names(self, dialog: Dialog, locale: str,
                   answers: Mapping[str, str]) -> dict[str, str]:
        """The answers a plan names, as the user saw them; unanswered and "I don't know" left
        out (the target is always named: the most precise place given)."""
        names = {"target": self.answer_label(dialog, locale, "target", answers)}
        for step in PLAN_NAMES:
            if answers.get(step) not in (None, UNKNOWN):
                names[step] = self.answer_label(dialog, locale, step, answers)
        return names

    def answer_label(self, dialog: Dialog, locale: str, question: str,
                     answers: Mapping[str, str]) -> str:
        kb = dialog.kb
        label = self.renderer.label
        if question == "target":
            # The most precise place given: the city, else the country, else the world region.
            for step, table in (("target_city", kb.cities), ("target_country", kb.countries),
                                ("target_region", kb.world_regions)):
                name = _name(table, answers.get(step), locale)
                if name:
                    return name
            return label(locale, "answer.none")
        step = question
        value = answers.get(step)
        if value is None:
            return label(locale, "answer.none")
        if value == UNKNOWN:
            return label(locale, f"opt.{step}.unknown")
        typed = Profile.from_answers(answers).budget_eur if step == "budget" else None
        if typed is not None:
            return format_eur(typed, locale)  # the amount typed, rather than its band
        option = dialog.answer_option(step, value, answers)
        if option is None:
            return value
        text = (option.label.get(locale) or option.label.get("fr") or value if option.label
                else label(locale, option.label_key or value))
        if step == "vie" and value == "yes" and answers.get("vie_count"):
            text += " · " + label(locale, f"opt.vie_count.{answers['vie_count']}")
        return text

    def guess_label(self, dialog: Dialog, locale: str, state: DialogState, guess: str) -> str:
        kind, _, rid = guess.partition(":")
        kb = dialog.kb
        if kind == "city" and rid in kb.cities:
            city = kb.cities[rid]
            return f"{city.name.get(locale)} ({kb.countries[city.country].name.get(locale)})"
        if kind == "country" and rid in kb.countries:
            return kb.countries[rid].name.get(locale)
        if kind == "region" and rid in kb.world_regions:
            return kb.world_regions[rid].name.get(locale)
        step = (state.pending or {}).get("step", state.step)
        return self.answer_label(dialog, locale, step, {step: guess})


def _name(table: Mapping[str, Any], rid: str | None, locale: str) -> str | None:
    """A knowledge-base record's name in the reader's language, None when there is no record."""
    record = table.get(rid or "")
    return record.name.get(locale) if record is not None else None


async def drop_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Remove the buttons of an answered question; harmless if already gone."""
    try:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id,
                                            reply_markup=None)
    except TelegramBadRequest as exc:
        # "message is not modified" / "message can't be edited" / "message to edit not found":
        # https://core.telegram.org/bots/api#editmessagereplymarkup, none of them matter here.
        log.debug("keyboard not removed: %s", exc.message)
