"""Read and write the dialog state in the FSM; one answering state, the rest in the data."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup

from bot.dialog.engine import DialogState
from bot.render.callbacks import CODE_STEPS, PDF, AnswerCb, NavCb, PlanCb


class Questionnaire(StatesGroup):
    # Persisted as "Questionnaire:active": never rename without migrating stored states.
    active = State()


async def load_dialog(state: FSMContext) -> DialogState | None:
    if await state.get_state() != Questionnaire.active.state:
        return None
    return DialogState.from_dict((await state.get_data()).get("dialog") or {})


async def save_dialog(state: FSMContext, dialog_state: DialogState) -> None:
    await state.set_state(Questionnaire.active)
    await state.set_data({"dialog": dialog_state.to_dict()})


async def on_current_question(state: FSMContext | None, data: str | None) -> bool:
    """Whether a button belongs to the keyboard of the question the dialog is on: an option
    of the current step, or navigation (back, yes/no, recap, plan, the plan's sections) in
    the current dialog."""
    if state is None or not data:
        return False
    current = await load_dialog(state)
    if current is None:
        return False
    try:
        if data.startswith(f"{AnswerCb.__prefix__}{AnswerCb.__separator__}"):
            option = AnswerCb.unpack(data)
            return option.d == current.dialog_id and CODE_STEPS.get(option.s) == current.step
        if data.startswith(f"{NavCb.__prefix__}{NavCb.__separator__}"):
            return NavCb.unpack(data).d == current.dialog_id
        if data.startswith(f"{PlanCb.__prefix__}{PlanCb.__separator__}"):
            pressed = PlanCb.unpack(data)  # the PDF, heavier, stays within the tap limits
            return pressed.d == current.dialog_id and pressed.s != PDF
    except (TypeError, ValueError):  # forged or malformed data
        return False
    return False
