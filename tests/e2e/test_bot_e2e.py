"""End to end: `python -m bot` polls a strict fake Bot API over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.dialog.matching import normalise
from bot.render.callbacks import optional_answer
from tests.conftest import BOT_COMMAND
from tests.e2e.fake_api import DEFAULT_TOKEN, BotMessage, FakeBotAPI
from tests.unit.test_pdf import read as read_pdf

STARTUP_TIMEOUT = 30.0


class User:
    """A simulated Telegram user talking to the bot through the fake server."""

    def __init__(self, fake: FakeBotAPI, user_id: int, language: str) -> None:
        self.fake = fake
        self.id = user_id
        self.language = language

    def _since(self, count: int) -> list[BotMessage]:
        return self.fake.messages(self.id)[count:]

    async def send(self, text: str) -> list[BotMessage]:
        count = len(self.fake.messages(self.id))
        self.fake.send_message(self.id, text, language_code=self.language)
        await self.fake.wait_idle(quiet=0.3, timeout=15)
        return self._since(count)

    async def sticker(self) -> list[BotMessage]:
        count = len(self.fake.messages(self.id))
        self.fake.send_sticker(self.id)
        await self.fake.wait_idle(quiet=0.3, timeout=15)
        return self._since(count)

    def keyboard_message(self) -> BotMessage:
        for message in reversed(self.fake.messages(self.id)):
            if message.inline_markup and any(data for _, data in FakeBotAPI.buttons(message)):
                return message
        raise AssertionError("no message with buttons")

    async def press(self, label: str, message: BotMessage | None = None,
                    until: str | None = None) -> list[BotMessage]:
        """Press a button; with `until`, also wait (15 s at most) for a message holding that
        text: a press whose work runs in a thread (an apply) can be quiet for a while."""
        message = message or self.keyboard_message()
        found = [data for text, data in FakeBotAPI.buttons(message)
                 if data and normalise(label) in normalise(text)]
        assert found, f"no {label!r} in {FakeBotAPI.buttons(message)}"
        count = len(self.fake.messages(self.id))
        self.fake.press_button(self.id, message.message_id, found[0])
        deadline = time.monotonic() + 15
        await self.fake.wait_idle(quiet=0.3, timeout=15)
        while until is not None and time.monotonic() < deadline and not any(
                until in m.plain_text for m in self._since(count)):
            await asyncio.sleep(0.05)
        return self._since(count)

    async def section(self, label: str) -> str:
        """Press a plan button (a section, back to the summary): the plan message is edited in
        place, nothing new is sent; returns the text it shows then."""
        message = self.keyboard_message()
        edited, count = message.edited, len(self.fake.messages(self.id))

        def now() -> BotMessage:
            return next(m for m in self.fake.messages(self.id)
                        if m.message_id == message.message_id)

        await self.press(label, message)
        deadline = time.monotonic() + 15
        while now().edited == edited:
            assert time.monotonic() < deadline, f"{label!r} edited nothing"
            await asyncio.sleep(0.05)
        assert len(self.fake.messages(self.id)) == count  # nothing new sent
        return now().plain_text

    async def pdf_text(self) -> str:
        """Press the plan's PDF button; the document's text (pypdf), spaces normalised."""
        count = len(self.fake.documents(self.id))
        await self.press("PDF")
        deadline = time.monotonic() + 30
        while len(self.fake.documents(self.id)) == count:
            assert time.monotonic() < deadline, "no PDF"
            await asyncio.sleep(0.05)
        data = self.fake.documents(self.id)[-1].document_data
        assert data is not None
        return " ".join(read_pdf(data)[1].split())

    async def skip_optional(self) -> None:
        """Answer "I don't know" to the questions asked only when they can change this plan
        (company age, large contracts...), if the bot asks them, up to the recap."""
        while (data := optional_answer([d or "" for _, d in FakeBotAPI.buttons(
                self.keyboard_message())])) is not None:
            self.fake.press_button(self.id, self.keyboard_message().message_id, data)
            await self.fake.wait_idle(quiet=0.3, timeout=15)


async def start_bot(fake: FakeBotAPI, data_dir: Path,
                    extra_env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Run `python -m bot` against the fake server; return once it polls."""
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_IDS", "DEFAULT_LOCALE")}
    env.update(BOT_TOKEN=DEFAULT_TOKEN, TELEGRAM_API_URL=fake.base_url,
               DATA_DIR=str(data_dir), LOG_LEVEL="WARNING", **(extra_env or {}))
    polls = len(fake.calls("getUpdates"))
    process = await asyncio.create_subprocess_exec(
        *BOT_COMMAND, cwd=data_dir.parent, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(fake.calls("getUpdates")) <= polls:
        if process.returncode is not None or time.monotonic() > deadline:
            _, err = await process.communicate()
            pytest.fail(f"the bot did not start polling: {(err or b'').decode()[-2000:]}")
        await asyncio.sleep(0.05)
    return process


async def stop_bot(process: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> int:
    if process.returncode is None:
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode if process.returncode is not None else -1


@pytest.fixture
async def bot_process(fake: FakeBotAPI,
                      tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await start_bot(fake, tmp_path / "data")
    yield process
    await stop_bot(process, signal.SIGINT)


def text_of(messages: list[BotMessage]) -> str:
    return "\n".join(m.plain_text for m in messages)


@pytest.mark.usefixtures("bot_process")
async def test_the_real_bot_runs_complete_dialogs_over_http(fake: FakeBotAPI) -> None:
    assert PROJECT_ROOT.joinpath("knowledge").is_dir()
    # The command menu in both languages.
    assert {c["command"] for c in fake.commands()} >= {"start", "help", "restart", "language"}
    assert {c["command"] for c in fake.commands("en")} >= {"start", "help", "restart", "language"}

    # A French SaaS company, all by buttons, with junk along the way.
    fr = User(fake, 501, "fr")
    welcome = await fr.send("/start")
    assert "Bienvenue" in welcome[0].plain_text and "1/8" in welcome[-1].plain_text
    first_question = fr.keyboard_message()
    await fr.send("logiciel saas")  # typed: the first question keeps its buttons
    junk = await fr.sticker()
    assert "pas compris" in junk[-1].plain_text and "2/8" in junk[-1].plain_text
    stale = await fr.press("Fintech", message=first_question)
    assert "2/8" in stale[-1].plain_text
    unknown = await fr.send("/nimportequoi")
    assert "Je ne connais pas cette commande" in unknown[-1].plain_text
    for label in ("Amérique du Nord", "Canada", "Montréal", "10 à 49", "1 à 10 M€",
                  "Occitanie", "Premiers pas", "Oui, 2", "20 à 50 k€"):
        await fr.press(label)
    await fr.skip_optional()
    (plan,) = await fr.press("Voir mon plan")  # one message: the summary
    assert "Montréal" in plan.plain_text and "Par quoi commencer" in plan.plain_text
    landing = await fr.section("Où atterrir")
    assert "Où atterrir" in landing and "Montréal" in landing
    assert "VIE" in await fr.section("VIE et coût")
    complete = await fr.pdf_text()  # the complete plan
    assert "Canada : ce qui s'applique" in complete and "jeunes professionnels" in complete.lower()
    aid = await fr.section("Aides")
    assert "Assurance Prospection" in aid and "Chiffre d'affaires ≤ 500 M€" in aid
    assert await fr.section("Résumé") == plan.plain_text

    # An English cybersecurity company, all typed.
    en = User(fake, 502, "en")
    await en.send("/start")
    for answer in ("cybersecurity", "Hong Kong", "8", "€800k", "Ile de France",
                   "first steps", "maybe"):
        await en.send(answer)
    await en.send("I don't know")
    await en.skip_optional()
    recap = en.keyboard_message().plain_text
    assert "Summary" in recap and "Hong Kong" in recap
    (plan_en,) = await en.press("See my plan")
    assert "Hong Kong" in plan_en.plain_text and "Where to start" in plan_en.plain_text
    landing_en = await en.section("Where to land")
    assert "Where to land" in landing_en and "Hong Kong" in landing_en
    aid_en = await en.section("Aid (")
    assert "Public aid" in aid_en and "your answer" in aid_en

    assert fake.errors == [], fake.errors
    assert not [v for v in fake.violations if "disable_web_page_preview" not in v], \
        fake.violations
    assert fake.unanswered_callbacks() == []


@pytest.mark.usefixtures("bot_process")
async def test_users_answering_at_the_same_time_do_not_mix(fake: FakeBotAPI) -> None:
    targets = ["Singapour", "Boston", "Shanghai", "Hong Kong", "Sao Paulo", "Bangalore"]
    users = [User(fake, 600 + i, "fr") for i in range(len(targets))]
    for user in users:
        fake.send_message(user.id, "/start")
    await fake.wait_idle(quiet=0.3, timeout=20)
    for step in (["saas"] * len(users), targets, ["12"] * len(users), ["2M"] * len(users),
                 ["Bretagne"] * len(users), ["premiers pas"] * len(users),
                 ["non"] * len(users), ["je ne sais pas"] * len(users)):
        for user, answer in zip(users, step, strict=True):
            fake.send_message(user.id, answer)
        await fake.wait_idle(quiet=0.3, timeout=20)
    for user in users:
        await user.skip_optional()
    for user in users:
        message = user.keyboard_message()
        plan_button = next(d for t, d in FakeBotAPI.buttons(message) if d and "plan" in t)
        fake.press_button(user.id, message.message_id, plan_button)
    await fake.wait_idle(quiet=0.5, timeout=30)
    deadline = time.monotonic() + 30
    while not all(any("Recommencer" in t for t, _ in FakeBotAPI.buttons(u.keyboard_message()))
                  for u in users):  # each plan ends with its buttons
        assert time.monotonic() < deadline, "not every plan arrived"
        await asyncio.sleep(0.1)
    for user, target in zip(users, targets, strict=True):
        landing = await user.section("Où atterrir")
        assert normalise(target) in normalise(landing), (target, landing[:300])
    assert fake.errors == [], fake.errors


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
async def test_a_dialog_continues_after_the_bot_restarts(fake: FakeBotAPI, tmp_path: Path,
                                                         sig: int) -> None:
    data_dir = tmp_path / "data"
    user = User(fake, 701, "fr")
    process = await start_bot(fake, data_dir)
    await user.send("/start")
    await user.send("saas")
    shown = await user.send("Singapour")
    assert "3/8" in shown[-1].plain_text
    code = await stop_bot(process, sig)
    if sig == signal.SIGTERM:
        assert code == 0  # a clean stop
    # A message sent while the bot is down is not dropped: it is answered after the restart.
    count = len(fake.messages(user.id))
    fake.send_message(user.id, "12 salariés")
    process = await start_bot(fake, data_dir)
    try:
        await fake.wait_idle(quiet=0.5, timeout=20)
        after = fake.messages(user.id)[count:]
        assert after and "4/8" in after[-1].plain_text, [m.plain_text for m in after]
        shown = await user.send("2 M€")
        assert "5/8" in shown[-1].plain_text
    finally:
        await stop_bot(process)
    assert fake.errors == []
