"""Read and write the dialog state in the FSM; one answering state, the rest in the data."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup

from bot.dialog.engine import DialogState


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
