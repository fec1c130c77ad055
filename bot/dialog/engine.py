"""The dialog engine: which question comes next, what an answer means, back, recap and edits.

Pure domain code: states are plain data (JSON-safe through `to_dict`), no aiogram here. What
each step asks, accepts and implies is declared once in bot/dialog/specs.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.clock import SYSTEM_CLOCK, Clock
from bot.dialog import questions as q
from bot.dialog.matching import Matcher, normalise
from bot.dialog.profile import Profile
from bot.dialog.specs import (
    FIRST_STEP,
    FIRST_STEP_OF_QUESTION,
    QUESTIONS,
    SPEC,
    SPECS,
    STEPS,
    Context,
    Fixed,
    Parsed,
    StepSpec,
    amount_text,
    band_for,
    question_of,
)
from bot.dialog.vocabulary import NO_WORDS, UNKNOWN_WORDS, YES_WORDS, option_synonyms
from bot.kb.snapshot import KnowledgeBase

RECAP = "recap"
DONE = "done"
UNKNOWN = q.UNKNOWN
UNKNOWN_PLACE = "unknown_place"  # detail of a typed destination the knowledge base lacks


@dataclass(frozen=True)
class Option:
    """One answer offered as a button: either a knowledge-base record or a fixed label key."""

    id: str
    label: Mapping[str, str] | None = None  # {"fr": ..., "en": ...} from the knowledge base
    label_key: str | None = None  # key in the templates' labels


@dataclass(frozen=True)
class Question:
    step: str
    number: int
    total: int
    options: tuple[Option, ...]
    can_go_back: bool
    columns: int = 2


@dataclass(frozen=True)
class DialogState:
    """Where a user is in the questionnaire; stored in the FSM data as a dict."""

    dialog_id: str
    kb_version: str
    step: str = FIRST_STEP
    answers: dict[str, str] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    editing: bool = False
    pending: dict[str, str] | None = None  # a guess awaiting the user's confirmation
    # Steps answered in advance (an advisor's link) that the flow skips until the user changes them.
    prefilled: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialog_id": self.dialog_id,
            "kb_version": self.kb_version,
            "step": self.step,
            "answers": dict(self.answers),
            "history": list(self.history),
            "editing": self.editing,
            "pending": dict(self.pending) if self.pending else None,
            "prefilled": list(self.prefilled),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DialogState | None:
        """Rebuild a state; None when the stored data is missing or not a dialog."""
        try:
            state = cls(
                dialog_id=str(data["dialog_id"]),
                kb_version=str(data["kb_version"]),
                step=str(data["step"]),
                answers={str(k): str(v) for k, v in dict(data.get("answers") or {}).items()},
                history=tuple(str(s) for s in data.get("history") or ()),
                editing=bool(data.get("editing")),
                pending=dict(data["pending"]) if data.get("pending") else None,
                prefilled=tuple(str(s) for s in data.get("prefilled") or ()),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if state.step not in (*STEPS, RECAP, DONE):
            return None
        return state


Status = Literal["ok", "not_understood", "confirm", "stale", "first", "invalid"]


@dataclass(frozen=True)
class Outcome:
    """What an action did: the new state, and why nothing moved when it did not."""

    state: DialogState
    status: Status = "ok"
    detail: str | None = None  # e.g. the guessed option id to confirm


class Dialog:
    """Drives one questionnaire over one knowledge-base snapshot."""

    def __init__(self, kb: KnowledgeBase, labels: Mapping[str, Mapping[str, str]],
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.kb = kb
        self._labels = labels
        self._clock = clock
        self._target = Matcher(self._target_names())
        self._matchers: dict[str, Matcher] = {}

    # --- questions -------------------------------------------------------------------------

    def new(self, dialog_id: str, prefill: Mapping[str, str] | None = None) -> DialogState:
        """A fresh dialog; prefilled answers (an advisor's link) that the current knowledge base
        accepts are kept and their questions skipped, the rest is dropped silently."""
        state = DialogState(dialog_id=dialog_id, kb_version=self.kb.version)
        answers = self.valid_prefill(prefill or {})
        if not answers:
            return state
        step: str | None = FIRST_STEP
        passed: list[str] = []
        while step is not None and step in answers:
            passed.append(step)
            step = self._next_step(step, answers)
        # The skipped questions stay in the history: Back can still reach and change them.
        return replace(state, step=step or RECAP, answers=answers, history=tuple(passed),
                       prefilled=tuple(s for s in STEPS if s in answers))

    def valid_prefill(self, prefill: Mapping[str, str]) -> dict[str, str]:
        """The prefilled answers that name options of this knowledge base, each consistent with
        the ones before it (the country in the region, the city in the country) and asked for
        them (the territory for an overseas home region). A missing region or country is taken
        from the country or city given; an exact budget gives its band. "I don't know" is not
        an answer to prefill, except to an optional question (restoring an alert's answers)."""
        wanted = {str(k): str(v) for k, v in prefill.items()}
        city = self.kb.cities.get(wanted.get("target_city", ""))
        if city is not None and "target_country" not in wanted:
            wanted["target_country"] = city.country
        country = self.kb.countries.get(wanted.get("target_country", ""))
        if country is not None and "target_region" not in wanted:
            wanted["target_region"] = country.world_region
        amount = _amount(wanted.get("budget_amount"))
        typed = band_for(q.BUDGET, amount) if amount is not None else None
        if typed is not None and "budget" not in wanted:
            wanted["budget"] = typed.id
        answers: dict[str, str] = {}
        for spec in SPECS:
            value = wanted.get(spec.name)
            # "I don't know" is kept only for the optional questions (an alert's answers).
            optional = spec.asked is not None and spec.question_code is not None
            if value is None or (value == UNKNOWN and not optional) \
                    or not self.asked(spec.name, answers):
                continue
            if value in self.values(spec.name, answers):
                answers[spec.name] = value
        if typed is not None and amount is not None and answers.get("budget") == typed.id:
            answers["budget_amount"] = amount_text(amount)
        return answers

    def question(self, state: DialogState) -> Question:
        topics = self.questions(state.answers)
        topic = question_of(state.step)
        number = topics.index(topic) + 1 if topic in topics else len(topics)
        return Question(
            step=state.step,
            number=number,
            total=len(topics),
            options=tuple(self.options(state.step, state.answers)),
            can_go_back=bool(state.history),
            columns=SPEC[state.step].columns,
        )

    def options(self, step: str, answers: Mapping[str, str]) -> list[Option]:
        spec = SPEC.get(step)
        if spec is None:
            return []
        opts: list[Option]
        if isinstance(spec.options, Fixed):
            ids = spec.options.buttons or spec.options.ids
            opts = [Option(i, label_key=f"opt.{step}.{i}") for i in ids]
        else:
            opts = [Option(r.id, r.name.model_dump())
                    for r in spec.options.records(self._context(answers))]
        if spec.unknown_button:
            opts.append(Option(UNKNOWN, label_key=f"opt.{step}.unknown"))
        return opts

    def answer_option(self, step: str, value: str, answers: Mapping[str, str]) -> Option | None:
        """The option a stored answer reads as (a fixed id behind one-tap buttons included)."""
        found = next((o for o in self.options(step, answers) if o.id == value), None)
        if found is None and isinstance(SPEC[step].options, Fixed) \
                and value in self.values(step, answers):
            found = Option(value, label_key=f"opt.{step}.{value}")
        return found

    def values(self, step: str, answers: Mapping[str, str]) -> set[str]:
        """The answers this step may store (its options, or its fixed ids behind buttons)."""
        spec = SPEC.get(step)
        if spec is None:
            return set()
        if isinstance(spec.options, Fixed):
            return {*spec.options.ids, *((UNKNOWN,) if spec.unknown_button else ())}
        return {o.id for o in self.options(step, answers)}

    def asked(self, step: str, answers: Mapping[str, str]) -> bool:
        """Whether this step is asked given the other answers (never its own: an answer does
        not decide whether its own question was worth asking)."""
        spec = SPEC[step]
        if spec.asked is None:
            return True
        return spec.asked(self._context({k: v for k, v in answers.items() if k != step}))

    def path(self, answers: Mapping[str, str]) -> list[str]:
        """The steps this profile is asked, as known so far: a conditional step counts once the
        dialog has reached it (every step before it answered) or when it is answered."""
        steps: list[str] = []
        reached = True
        for spec in SPECS:
            if spec.asked is None or ((reached or spec.name in answers)
                                      and self.asked(spec.name, answers)):
                steps.append(spec.name)
                reached = reached and spec.name in answers
        return steps

    def questions(self, answers: Mapping[str, str]) -> list[str]:
        """The questions (progress "n/N") this profile is asked, as known so far."""
        return list(dict.fromkeys(question_of(s) for s in self.path(answers)))

    def recap_questions(self, answers: Mapping[str, str]) -> list[str]:
        """The recap's rows: the questions asked, and any other one answered (still used)."""
        asked = set(self.questions(answers)) | {question_of(s) for s in answers if s in SPEC}
        return [name for name in QUESTIONS if name in asked]

    # --- actions ---------------------------------------------------------------------------

    def choose(self, state: DialogState, dialog_id: str, step: str, option: str) -> Outcome:
        """A button was pressed; stale when it belongs to another dialog or step."""
        if dialog_id != state.dialog_id or step != state.step or state.pending:
            return Outcome(state, "stale")
        button = _button(step, option)
        if button is not None:
            return Outcome(self._apply(state, step, button))
        if option not in self.values(step, state.answers):
            return Outcome(state, "stale")
        return Outcome(self._answer(state, step, option))

    def type(self, state: DialogState, text: str) -> Outcome:
        """A typed answer to the current question. At a guess to confirm, a typed yes or no
        answers the guess; anything else drops it and answers the question."""
        if state.pending:
            norm = normalise(text)
            if norm in YES_WORDS or norm in NO_WORDS:
                return self.confirm(state, state.dialog_id, norm in YES_WORDS)
        state = replace(state, pending=None)
        if state.step in (RECAP, DONE):
            return Outcome(state, "not_understood")
        spec = SPEC[state.step]
        if spec.place:
            return self._type_target(state, spec, text)
        found = self._parse(spec, state.answers, text)
        if found is None:
            return Outcome(state, "not_understood")
        if not found.sure:
            return Outcome(replace(state, pending={"step": spec.name, "option": found.option}),
                           "confirm", found.option)
        return Outcome(self._apply(state, spec.name, found))

    def confirm(self, state: DialogState, dialog_id: str, yes: bool) -> Outcome:
        """The user accepted or refused a guess; refused, the same question is asked again."""
        pending = state.pending
        if dialog_id != state.dialog_id or not pending:
            return Outcome(state, "stale")
        cleared = replace(state, pending=None)
        if not yes:
            return Outcome(cleared)
        step, option = pending.get("step", ""), pending.get("option", "")
        if step == "target":
            if self._target_key_known(option):
                return Outcome(self._set_target(cleared, option))
        elif step == state.step and option in self.values(step, state.answers):
            return Outcome(self._answer(cleared, step, option))
        return Outcome(cleared, "stale")

    def back(self, state: DialogState, dialog_id: str | None = None) -> Outcome:
        if dialog_id is not None and dialog_id != state.dialog_id:
            return Outcome(state, "stale")
        if state.step == DONE or not state.history:
            return Outcome(replace(state, pending=None), "first")
        *rest, previous = state.history
        return Outcome(replace(state, step=previous, history=tuple(rest), pending=None))

    def edit(self, state: DialogState, dialog_id: str, question: str) -> Outcome:
        """From the recap, go back to one question; answering it returns to the recap."""
        if dialog_id != state.dialog_id or state.step != RECAP \
                or question not in self.recap_questions(state.answers):
            return Outcome(state, "stale")
        step = FIRST_STEP_OF_QUESTION[question]
        return Outcome(replace(state, step=step, history=(*state.history, RECAP), editing=True))

    def finish(self, state: DialogState, dialog_id: str) -> Outcome:
        if dialog_id != state.dialog_id or state.step != RECAP:
            return Outcome(state, "stale")
        return Outcome(replace(state, step=DONE, history=(), editing=False))

    def reopen(self, state: DialogState, dialog_id: str) -> Outcome:
        """From the plan back to the recap, answers kept."""
        if dialog_id != state.dialog_id or state.step != DONE:
            return Outcome(state, "stale")
        return Outcome(replace(state, step=RECAP, history=(), editing=False))

    def profile(self, state: DialogState) -> Profile:
        return Profile.from_answers(state.answers)

    # --- internals -------------------------------------------------------------------------

    def _context(self, answers: Mapping[str, str]) -> Context:
        return Context(self.kb, answers, self._clock.today())

    def _apply(self, state: DialogState, step: str, found: Parsed) -> DialogState:
        """A parsed typed answer, and the answers to the next steps it gives ("oui, deux")."""
        moved = self._answer(state, step, found.option, found.beside)
        given: list[str] = []
        for nxt, option in found.then.items():
            if moved.step == nxt and option in self.values(nxt, moved.answers):
                moved = self._answer(moved, nxt, option)
                given.append(nxt)
        # Steps answered with this one stay out of the history: Back returns to this question.
        return replace(moved, history=tuple(s for s in moved.history if s not in given))

    def _answer(self, state: DialogState, step: str, option: str,
                beside: Mapping[str, str] | None = None) -> DialogState:
        spec = SPEC[step]
        answers = dict(state.answers)
        changed = answers.get(step) != option
        answers[step] = option
        for key in (*spec.keeps, *(spec.clears if changed else ())):
            answers.pop(key, None)
        answers.update(beside or {})
        return self._advance(replace(state, answers=answers), step)

    def _advance(self, state: DialogState, answered: str) -> DialogState:
        # An answer the user gave is theirs now; a cleared one is no longer prefilled.
        prefilled = tuple(s for s in state.prefilled if s != answered and s in state.answers)
        state = replace(state, prefilled=prefilled)
        nxt = self._next_step(answered, state.answers)
        skipped: list[str] = []
        while not state.editing and nxt is not None and nxt in prefilled:
            skipped.append(nxt)
            nxt = self._next_step(nxt, state.answers)
        if state.editing and nxt is not None and question_of(nxt) != question_of(answered):
            # Back to the recap, unless the change made another question relevant.
            nxt = next((s for s in self.path(state.answers) if s not in state.answers), None)
        if nxt is None:
            nxt = RECAP
        history = (*state.history, answered) if answered != nxt else state.history
        history = (*history, *skipped)
        if nxt == RECAP:
            history = tuple(s for s in history if s != RECAP)
        return replace(state, step=nxt, history=history,
                       editing=state.editing and nxt != RECAP)

    def _next_step(self, step: str, answers: Mapping[str, str]) -> str | None:
        index = STEPS.index(step)
        return next((s for s in STEPS[index + 1:] if self.asked(s, answers)), None)

    def _type_target(self, state: DialogState, spec: StepSpec, text: str) -> Outcome:
        if spec.unknown is not None and _is_unknown(text):
            return Outcome(self._answer(state, state.step, spec.unknown))
        found = self._target.match(text)
        if found is None:
            return Outcome(state, "not_understood", UNKNOWN_PLACE)
        if not found.sure:
            return Outcome(replace(state, pending={"step": "target", "option": found.key}),
                           "confirm", found.key)
        return Outcome(self._set_target(state, found.key))

    def _target_key_known(self, key: str) -> bool:
        kind, _, rid = key.partition(":")
        tables: dict[str, Mapping[str, Any]] = {
            "region": self.kb.world_regions, "country": self.kb.countries, "city": self.kb.cities}
        return rid in tables.get(kind, {})

    def _set_target(self, state: DialogState, key: str) -> DialogState:
        """Apply a typed target: a world region, a country or a city, filling what it implies."""
        kind, _, rid = key.partition(":")
        answers = {k: v for k, v in state.answers.items() if not k.startswith("target_")}
        state = replace(state, prefilled=tuple(s for s in state.prefilled
                                               if not s.startswith("target_")))
        if kind == "region":
            answers["target_region"] = rid
            last = "target_region"
        elif kind == "country":
            country = self.kb.countries[rid]
            answers.update(target_region=country.world_region, target_country=rid)
            last = "target_country"
        else:
            city = self.kb.cities[rid]
            country = self.kb.countries[city.country]
            answers.update(target_region=country.world_region, target_country=country.id,
                           target_city=rid)
            last = "target_city"
        # Steps skipped by a typed answer stay out of the history: Back returns where it was typed.
        moved = self._advance(replace(state, answers=answers), last)
        if moved.step == state.step:
            history = state.history
        elif state.step == last:
            history = moved.history
        else:
            history = (*state.history, state.step)
        if moved.step == RECAP:
            history = tuple(s for s in history if s != RECAP)
        return replace(moved, history=tuple(dict.fromkeys(history)))

    def _parse(self, spec: StepSpec, answers: Mapping[str, str], text: str) -> Parsed | None:
        if spec.unknown is not None and _is_unknown(text):
            return Parsed(spec.unknown)
        if spec.parse is not None and (found := spec.parse(text, self._context(answers))):
            return found
        match = self._matcher(spec, answers).match(text)
        if match is None:
            return None
        button = _button(spec.name, match.key)
        if button is not None:
            return replace(button, sure=match.sure)
        return Parsed(match.key, match.sure)

    def _matcher(self, spec: StepSpec, answers: Mapping[str, str]) -> Matcher:
        options = self.options(spec.name, answers)
        if isinstance(spec.options, Fixed) and spec.options.buttons:  # the ids' words too
            options += [Option(i, label_key=f"opt.{spec.name}.{i}") for i in spec.options.ids
                        if i not in spec.options.buttons]
        key = spec.name + ":" + ",".join(o.id for o in options)
        if key not in self._matchers:
            names: list[tuple[str, str]] = []
            for opt in options:
                if opt.label:
                    names += [(opt.id, text) for text in opt.label.values()]
                if opt.label_key:
                    names += [(opt.id, lab[opt.label_key]) for lab in self._labels.values()
                              if opt.label_key in lab]
                names += [(opt.id, syn) for syn in option_synonyms(spec.name, opt.id)]
            if not isinstance(spec.options, Fixed):
                names += [(r.id, alias) for r in spec.options.records(self._context(answers))
                          for alias in spec.options.aliases(r)]
            self._matchers[key] = Matcher(names)
        return self._matchers[key]

    def _target_names(self) -> list[tuple[str, str]]:
        kb = self.kb
        names: list[tuple[str, str]] = []
        for c in kb.cities.values():
            names += [(f"city:{c.id}", n) for n in (c.name.fr, c.name.en, *c.aliases)]
        for land in kb.countries.values():
            names += [(f"country:{land.id}", n)
                      for n in (land.name.fr, land.name.en, land.iso2, *land.aliases)]
        for r in kb.world_regions.values():
            names += [(f"region:{r.id}", n) for n in (r.name.fr, r.name.en)]
        return names


def _button(step: str, option: str) -> Parsed | None:
    """What a one-tap button of this step stands for (None: not such a button)."""
    options = SPEC[step].options if step in SPEC else None
    buttons = options.buttons if isinstance(options, Fixed) else None
    return (buttons or {}).get(option)


def _is_unknown(text: str) -> bool:
    return normalise(text) in UNKNOWN_WORDS


def _amount(text: str | None) -> float | None:
    """A stored exact amount ("30000"); None when absent or not a non-negative number."""
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
