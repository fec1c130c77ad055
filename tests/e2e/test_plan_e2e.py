"""End to end over HTTP: the plan is one message (its summary), each section opens in that same
message and leads back, old plan buttons get the stale reply, the PDF arrives as a document."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.advice.engine import advise
from bot.dialog.engine import Dialog, DialogState
from bot.dialog.specs import UNKNOWN
from bot.kb.loader import load_directory
from bot.plan.build import build_plan
from bot.plan.model import Plan
from bot.render.callbacks import CODE_SECTIONS, CODE_STEPS, PDF, SUMMARY, AnswerCb, NavCb, PlanCb
from bot.render.plan_text import SUMMARY_MAX_CHARS
from bot.render.templates import Renderer
from tests.conftest import KNOWLEDGE_DIR, TODAY
from tests.e2e.fake_api import BotMessage, FakeBotAPI, utf16_len
from tests.e2e.test_bot_e2e import User, start_bot, stop_bot
from tests.unit.test_expert_cases import BASE, CASES

SECTION_KEYS = ("landing", "vie", "aid", "sources")
PROFILES = {name: {**BASE, **answers} for name, (answers, _) in CASES.items()}


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for the bot: a reply can come after a quiet moment (a plan is computed first)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the bot did not answer in time"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)


def edits(fake: FakeBotAPI, user: User, message_id: int) -> int:
    return next(m.edited for m in fake.messages(user.id) if m.message_id == message_id)


def answer_data(message: BotMessage, answers: dict[str, str]) -> tuple[str | None, str | None]:
    """(callback data to press, or text to type) that gives this question the profile's answer;
    "I don't know" for a question the profile leaves open."""
    options: dict[str, str] = {}
    step = ""
    for _, data in FakeBotAPI.buttons(message):
        if data and data.startswith("a:"):
            pressed = AnswerCb.unpack(data)
            step, options[pressed.o] = CODE_STEPS[pressed.s], data
        elif data and data.startswith("n:") and NavCb.unpack(data).a == "plan":
            return data, None
    if step == "budget" and "budget_amount" in answers:
        return None, f"{answers['budget_amount']} €"
    wanted = answers.get(step, UNKNOWN)
    if step == "vie" and wanted == "yes":
        wanted = f"yes{answers.get('vie_count', '1')}"
    assert wanted in options, (step, wanted, list(options))
    return options[wanted], None


async def reach_plans(fake: FakeBotAPI, users: dict[str, User],
                      profiles: dict[str, dict[str, str]]) -> dict[str, BotMessage]:
    """/start, then each question answered as its profile says, then the recap's plan button,
    for every user at once (one round of answers, then one wait); returns each plan message."""
    for user in users.values():
        fake.send_message(user.id, "/start", language_code=user.language)
    await fake.wait_idle(quiet=0.3, timeout=30)
    plans: dict[str, BotMessage] = {}
    pressed_plan: dict[str, int] = {}
    for _ in range(30):
        if len(plans) == len(users):
            return plans
        for name, user in users.items():
            if name in plans:
                continue
            message = user.keyboard_message()
            data, typed = answer_data(message, profiles[name])
            if typed is not None:
                fake.send_message(user.id, typed, language_code=user.language)
                continue
            assert data is not None
            if data.startswith("n:"):
                pressed_plan[name] = len(fake.messages(user.id))
            fake.press_button(user.id, message.message_id, data)
        await fake.wait_idle(quiet=0.3, timeout=30)
        await until(lambda: all(len(fake.messages(users[n].id)) > b
                                for n, b in pressed_plan.items()))
        for name, before in pressed_plan.items():
            if name not in plans:
                (plans[name],) = fake.messages(users[name].id)[before:]  # one message
    raise AssertionError(f"no plan for {set(users) - set(plans)}")


async def reach_plan(fake: FakeBotAPI, user: User, answers: dict[str, str]) -> BotMessage:
    return (await reach_plans(fake, {"one": user}, {"one": answers}))["one"]


def plan_button(message: BotMessage, code: str) -> str:
    found = [d for _, d in FakeBotAPI.buttons(message) if d and d.startswith("pl:")
             and PlanCb.unpack(d).s == code]
    assert found, FakeBotAPI.buttons(message)
    return found[0]


def expected_plan(answers: dict[str, str]) -> Plan:
    """The plan the bot (its clock on TODAY, the shipped knowledge) builds for these answers."""
    kb = load_directory(KNOWLEDGE_DIR)
    dialog = Dialog(kb, Renderer().labels)
    state = DialogState("x", kb.version, step="done", answers=answers)
    return build_plan(advise(dialog.profile(state), kb, TODAY), kb, TODAY)


def numbered(message: BotMessage) -> list[str]:
    return [line for line in message.plain_text.splitlines() if re.match(r"\d\. ", line)]


def linked_lines(message: BotMessage) -> list[str]:
    """The numbered lines (the actions) of a message that hold an http(s) link."""
    starts = [e["offset"] for e in message.entities
              if e["type"] == "text_link" and e["url"].startswith(("https://", "http://"))]
    found, offset = [], 0
    for line in message.plain_text.split("\n"):
        end = offset + utf16_len(line)
        if re.match(r"\d\. ", line) and any(offset <= s < end for s in starts):
            found.append(line)
        offset = end + 1
    return found


async def open_all(fake: FakeBotAPI, user: User, plan: BotMessage) -> dict[str, str]:
    """Every section, each pressed under the same message (edited in place, nothing sent),
    then back to the summary."""
    seen: dict[str, str] = {}
    count = len(fake.messages(user.id))
    for key in SECTION_KEYS:
        current = fake.messages(user.id)[count - 1]
        assert current.message_id == plan.message_id
        edited = current.edited
        fake.press_button(user.id, plan.message_id, plan_button(current, CODE_SECTIONS_BY[key]))
        await until(lambda edited=edited: edits(fake, user, plan.message_id) > edited)
        shown = fake.messages(user.id)
        assert len(shown) == count, "a section is an edit, not a new message"
        seen[key] = shown[-1].plain_text
        assert 0 < utf16_len(seen[key]) <= 4096, (key, utf16_len(seen[key]))
        codes = {PlanCb.unpack(d).s for _, d in FakeBotAPI.buttons(shown[-1])
                 if d and d.startswith("pl:")}
        assert codes == {*CODE_SECTIONS_BY.values(), SUMMARY, PDF} - {CODE_SECTIONS_BY[key]}, (
            key, fake.errors[-2:], list(fake.callbacks.values())[-1], shown[-1].plain_text[:80])
    edited = fake.messages(user.id)[-1].edited
    fake.press_button(user.id, plan.message_id, plan_button(fake.messages(user.id)[-1],
                                                            SUMMARY))
    await until(lambda: edits(fake, user, plan.message_id) > edited)
    back = fake.messages(user.id)[-1]
    assert len(fake.messages(user.id)) == count and back.message_id == plan.message_id
    assert back.plain_text == plan.plain_text and back.inline_markup == plan.inline_markup
    return seen


CODE_SECTIONS_BY = {key: code for code, key in CODE_SECTIONS.items()}


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_every_expert_profile_gets_a_one_screen_plan_with_sections(
        fake: FakeBotAPI, tmp_path: Path, language: str) -> None:
    process = await start_bot(fake, tmp_path / "data")
    try:
        users = {name: User(fake, 1100 + i, language) for i, name in enumerate(PROFILES)}
        plans = await reach_plans(fake, users, PROFILES)
        for name, user in users.items():
            plan = plans[name]
            assert len(plan.plain_text) <= SUMMARY_MAX_CHARS, (name, len(plan.plain_text))
            # Three actions, each a link to the organisation's page when the plan knows one.
            actions = expected_plan(PROFILES[name]).summary.actions
            assert len(actions) == 3 and len(numbered(plan)) == 3, (name, plan.plain_text)
            urls = {e["url"] for e in plan.entities if e["type"] == "text_link"}
            assert {a.url for a in actions if a.url} <= urls, name
            assert len(linked_lines(plan)) == len([a for a in actions if a.url]), name
            labels = [text for text, _ in FakeBotAPI.buttons(plan)]
            assert [label[0] for label in labels[:5]] == ["🛬", "🧑", "💶", "📚", "📄"], labels
            sections = await open_all(fake, user, plan)
            assert all(sections.values()), name
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []


async def test_old_plan_buttons_are_stale_and_the_pdf_arrives(fake: FakeBotAPI,
                                                               tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = await start_bot(fake, data_dir)
    user = User(fake, 1200, "fr")
    answers = {**BASE, "target_city": "boston"}
    try:
        plan = await reach_plan(fake, user, answers)
        assert "Boston" in plan.plain_text

        # The PDF: "sending a file" while it renders, then a document pypdf opens.
        fake.press_button(user.id, plan.message_id, plan_button(plan, PDF))
        await until(lambda: bool(fake.documents(user.id)))
        (document,) = fake.documents(user.id)
        assert (user.id, "upload_document") in fake.chat_actions
        assert document.document is not None and document.document_data is not None
        assert re.fullmatch(r"plan-export-boston-\d{4}-\d\d-\d\d\.pdf",
                            document.document["file_name"])
        reader = PdfReader(io.BytesIO(document.document_data))
        text = "".join(page.extract_text() for page in reader.pages)
        assert "Boston" in text and "Assurance Prospection" in text
        assert fake.messages(user.id)[-2].message_id == plan.message_id  # the plan stays

        # After a restart the plan's buttons still work: the plan is rebuilt from the dialog.
        await stop_bot(process)
        process = await start_bot(fake, data_dir)
        fake.press_button(user.id, plan.message_id, plan_button(plan, CODE_SECTIONS_BY["vie"]))
        await until(lambda: edits(fake, user, plan.message_id) == 1)
        vie = next(m for m in fake.messages(user.id) if m.message_id == plan.message_id)
        assert vie.edited == 1 and "VIE" in vie.plain_text

        # Answers changed: a new plan; a button of the first one is stale and edits nothing.
        await user.send("bonjour")  # after the plan: "your plan is above", with its buttons
        await user.press("Modifier mes réponses")
        await user.press("Destination")
        await user.send("Montréal")
        await user.skip_optional()
        second = (await user.press("Voir mon plan"))[0]
        assert "Montréal" in second.plain_text and second.message_id != plan.message_id
        before = len(fake.messages(user.id))
        fake.press_button(user.id, plan.message_id, plan_button(vie, CODE_SECTIONS_BY["aid"]))
        await until(lambda: len(fake.messages(user.id)) > before)
        query = list(fake.callbacks.values())[-1]
        assert query.answer is not None and "ancien message" in query.answer.get("text", "")
        old = next(m for m in fake.messages(user.id) if m.message_id == plan.message_id)
        assert old.edited == 1  # untouched
        (reply,) = fake.messages(user.id)[before:]
        assert "ancien message" in reply.plain_text or "ci-dessus" in reply.plain_text

        # A new dialog (/restart): the second plan's buttons are stale too.
        await user.send("/restart")
        before = len(fake.messages(user.id))
        fake.press_button(user.id, second.message_id,
                          plan_button(second, CODE_SECTIONS_BY["landing"]))
        await until(lambda: len(fake.messages(user.id)) > before)
        query = list(fake.callbacks.values())[-1]
        assert query.answer is not None and "ancien message" in query.answer.get("text", "")
        assert "1/8" in fake.messages(user.id)[before:][-1].plain_text  # the current question
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []
