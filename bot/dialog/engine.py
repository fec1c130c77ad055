"""The dialog engine: which question comes next, what an answer means, back, recap and edits.

Pure domain code: states are plain data (JSON-safe through `to_dict`), no aiogram here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.dialog import questions as q
from bot.dialog.matching import Match, Matcher, normalise
from bot.dialog.parsing import parse_amount, parse_count
from bot.dialog.profile import Profile
from bot.dialog.vocabulary import UNKNOWN_WORDS, option_synonyms
from bot.kb.snapshot import KnowledgeBase

RECAP = "recap"
DONE = "done"
UNKNOWN = q.UNKNOWN
UNKNOWN_PLACE = "unknown_place"  # detail of a typed destination the knowledge base lacks
# Question whose answer is a free choice of "I don't know"; the target region must be chosen.
ALLOWS_UNKNOWN = frozenset(
    {"sector", "target_country", "target_city", "headcount", "turnover", "home_region", "stage",
     "budget"}
)


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


@dataclass(frozen=True)
class DialogState:
    """Where a user is in the questionnaire; stored in the FSM data as a dict."""

    dialog_id: str
    kb_version: str
    step: str = q.STEPS[0]
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
        if state.step not in (*q.STEPS, RECAP, DONE):
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

    def __init__(self, kb: KnowledgeBase, labels: Mapping[str, Mapping[str, str]]) -> None:
        self.kb = kb
        self._labels = labels
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
        step: str | None = q.STEPS[0]
        passed: list[str] = []
        while step is not None and step in answers:
            passed.append(step)
            step = self._next_step(step, answers)
        # The skipped questions stay in the history: Back can still reach and change them.
        return replace(state, step=step or RECAP, answers=answers, history=tuple(passed),
                       prefilled=tuple(s for s in q.STEPS if s in answers))

    def valid_prefill(self, prefill: Mapping[str, str]) -> dict[str, str]:
        """The prefilled answers that name options of this knowledge base, each consistent with
        the ones before it (the country in the region, the city in the country). A missing
        region or country is taken from the country or city given."""
        wanted = {str(k): str(v) for k, v in prefill.items()}
        city = self.kb.cities.get(wanted.get("target_city", ""))
        if city is not None and "target_country" not in wanted:
            wanted["target_country"] = city.country
        country = self.kb.countries.get(wanted.get("target_country", ""))
        if country is not None and "target_region" not in wanted:
            wanted["target_region"] = country.world_region
        answers: dict[str, str] = {}
        for step in q.STEPS:
            value = wanted.get(step)
            if value is None or value == UNKNOWN:
                continue
            if step == "vie_count" and answers.get("vie") != "yes":
                continue
            if value in {o.id for o in self.options(step, answers)}:
                answers[step] = value
        return answers

    def question(self, state: DialogState) -> Question:
        number, total = q.progress(state.step)
        return Question(
            step=state.step,
            number=number,
            total=total,
            options=tuple(self.options(state.step, state.answers)),
            can_go_back=bool(state.history),
        )

    def options(self, step: str, answers: Mapping[str, str]) -> list[Option]:
        kb = self.kb
        opts: list[Option]
        if step == "sector":
            opts = [Option(s.id, s.name.model_dump()) for s in kb.sectors.values()]
        elif step == "target_region":
            opts = [Option(r.id, r.name.model_dump()) for r in kb.world_regions.values()]
        elif step == "target_country":
            region = answers.get("target_region", "")
            opts = [Option(c.id, c.name.model_dump()) for c in kb.countries_in(region)]
        elif step == "target_city":
            country = answers.get("target_country", "")
            opts = [Option(c.id, c.name.model_dump()) for c in kb.cities_in(country)]
        elif step == "home_region":
            opts = [Option(r.id, r.name.model_dump()) for r in kb.french_regions.values()]
        elif step in q.BANDS:
            opts = [Option(b.id, label_key=f"opt.{step}.{b.id}") for b in q.BANDS[step]]
        elif step == "stage":
            opts = [Option(s, label_key=f"opt.stage.{s}") for s in q.STAGES]
        elif step == "vie":
            opts = [Option(s, label_key=f"opt.vie.{s}") for s in q.VIE_PLANS]
        elif step == "vie_count":
            opts = [Option(s, label_key=f"opt.vie_count.{s}") for s in q.VIE_COUNTS]
        else:
            opts = []
        if step in ALLOWS_UNKNOWN:
            opts.append(Option(UNKNOWN, label_key=f"opt.{step}.unknown"))
        return opts

    # --- actions ---------------------------------------------------------------------------

    def choose(self, state: DialogState, dialog_id: str, step: str, option: str) -> Outcome:
        """A button was pressed; stale when it belongs to another dialog or step."""
        if dialog_id != state.dialog_id or step != state.step or state.pending:
            return Outcome(state, "stale")
        if option not in {o.id for o in self.options(step, state.answers)}:
            return Outcome(state, "stale")
        return Outcome(self._answer(state, step, option))

    def type(self, state: DialogState, text: str) -> Outcome:
        """A typed answer to the current question; typing instead of confirming drops the guess."""
        state = replace(state, pending=None)
        if state.step in (RECAP, DONE):
            return Outcome(state, "not_understood")
        step = state.step
        if step.startswith("target_"):
            return self._type_target(state, text)
        if step == "vie" and (count := _vie_count(text)):
            # "2 VIE", "oui, 2": yes, and how many, in one answer.
            return Outcome(self._answer(self._answer(state, "vie", "yes"), "vie_count", count))
        option = self._parse(step, state.answers, text)
        if option is None:
            return Outcome(state, "not_understood")
        if not option.sure:
            return Outcome(replace(state, pending={"step": step, "option": option.key}), "confirm",
                           option.key)
        return Outcome(self._answer(state, step, option.key))

    def confirm(self, state: DialogState, dialog_id: str, yes: bool) -> Outcome:
        """The user accepted or refused a guess."""
        pending = state.pending
        if dialog_id != state.dialog_id or not pending:
            return Outcome(state, "stale")
        cleared = replace(state, pending=None)
        if not yes:
            return Outcome(cleared)
        step, option = pending["step"], pending["option"]
        if step == "target":
            return Outcome(self._set_target(cleared, option))
        return Outcome(self._answer(cleared, step, option))

    def back(self, state: DialogState, dialog_id: str | None = None) -> Outcome:
        if dialog_id is not None and dialog_id != state.dialog_id:
            return Outcome(state, "stale")
        if state.step == DONE or not state.history:
            return Outcome(replace(state, pending=None), "first")
        *rest, previous = state.history
        return Outcome(replace(state, step=previous, history=tuple(rest), pending=None))

    def edit(self, state: DialogState, dialog_id: str, question: str) -> Outcome:
        """From the recap, go back to one question; answering it returns to the recap."""
        if dialog_id != state.dialog_id or state.step != RECAP or question not in q.QUESTIONS:
            return Outcome(state, "stale")
        step = q.FIRST_STEP_OF_QUESTION.get(question, question)
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

    def _answer(self, state: DialogState, step: str, option: str) -> DialogState:
        answers = dict(state.answers)
        answers[step] = option
        for dependant in _DEPENDANTS.get(step, ()):
            answers.pop(dependant, None)
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
        if nxt is None or (state.editing and q.question_of(nxt) != q.question_of(answered)):
            nxt = RECAP
        history = (*state.history, answered) if answered != nxt else state.history
        history = (*history, *skipped)
        if nxt == RECAP:
            history = tuple(s for s in history if s != RECAP)
        return replace(state, step=nxt, history=history,
                       editing=state.editing and nxt != RECAP)

    def _next_step(self, step: str, answers: Mapping[str, str]) -> str | None:
        if step == "target_country":
            country = answers.get("target_country", UNKNOWN)
            return "target_city" if self.kb.cities_in(country) else "headcount"
        if step == "vie":
            return "vie_count" if answers.get("vie") == "yes" else "budget"
        if step == "vie_count":
            return "budget"
        index = q.STEPS.index(step)
        return q.STEPS[index + 1] if index + 1 < len(q.STEPS) else None

    def _type_target(self, state: DialogState, text: str) -> Outcome:
        if state.step != "target_region" and _is_unknown(text):
            return Outcome(self._answer(state, state.step, UNKNOWN))
        found = self._target.match(text)
        if found is None:
            return Outcome(state, "not_understood", UNKNOWN_PLACE)
        if not found.sure:
            return Outcome(replace(state, pending={"step": "target", "option": found.key}),
                           "confirm", found.key)
        return Outcome(self._set_target(state, found.key))

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

    def _parse(self, step: str, answers: Mapping[str, str], text: str) -> Match | None:
        if step in ALLOWS_UNKNOWN and _is_unknown(text):
            return Match(UNKNOWN, 100.0, True)
        if step == "vie" and _is_unknown(text):
            return Match("maybe", 100.0, True)
        if step in ("headcount",):
            count = parse_count(text)
            if count is not None:
                return _band_match(step, count)
        if step in ("turnover", "budget"):
            amount = parse_amount(text)
            if amount is not None:
                return _band_match(step, amount)
        if step == "vie_count":
            count = parse_count(text)
            if count is not None and count >= 1:
                return Match(str(min(count, 4)), 100.0, True)
        return self._matcher(step, answers).match(text)

    def _matcher(self, step: str, answers: Mapping[str, str]) -> Matcher:
        key = step + ":" + answers.get("target_region", "") + answers.get("target_country", "")
        if key not in self._matchers:
            names: list[tuple[str, str]] = []
            for opt in self.options(step, answers):
                if opt.label:
                    names += [(opt.id, text) for text in opt.label.values()]
                if opt.label_key:
                    names += [(opt.id, lab[opt.label_key]) for lab in self._labels.values()
                              if opt.label_key in lab]
                names += [(opt.id, syn) for syn in option_synonyms(step, opt.id)]
            if step == "sector":
                names += [(s.id, syn) for s in self.kb.sectors.values() for syn in s.synonyms]
            if step == "home_region":
                names += [(r.id, a) for r in self.kb.french_regions.values() for a in r.aliases]
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


_DEPENDANTS: dict[str, tuple[str, ...]] = {
    "target_region": ("target_country", "target_city"),
    "target_country": ("target_city",),
    "vie": ("vie_count",),
}


def _is_unknown(text: str) -> bool:
    return normalise(text) in UNKNOWN_WORDS


def _vie_count(text: str) -> str | None:
    """The number of volunteers in a typed yes ("2 VIE", "oui 3"); None for a plain answer."""
    norm = normalise(text)
    found = re.fullmatch(r"(?:(?:oui|yes|yep)(?: |, ?)?)?(\d{1,3})(?: (?:vie|volontaires?|"
                         r"volunteers?))?", norm)
    if not found or int(found.group(1)) < 1:
        return None
    return str(min(int(found.group(1)), 4))


def _band_match(step: str, value: float) -> Match | None:
    for b in q.BANDS[step]:
        if b.contains(value):
            return Match(b.id, 100.0, True)
    return None
