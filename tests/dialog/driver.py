"""Drive the real Dispatcher as a Telegram user would: typed messages and button presses."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.app import App
from bot.console import LocalSession
from bot.dialog.engine import DialogState
from bot.dialog.matching import normalise
from bot.handlers.middlewares import ThrottlingMiddleware
from bot.plan.model import SECTIONS
from bot.render.callbacks import CODE_SECTIONS, SUMMARY, PlanCb, optional_answer
from bot.storage.limits import Limits
from tests.e2e.fake_api import parse_html, utf16_len

_ids = itertools.count(1)


class ChatDriver:
    """One user in a private chat; every text the bot sends is checked as Telegram would."""

    def __init__(self, app: App, user_id: int = 1001, language: str = "fr") -> None:
        self.app = app
        self.session: LocalSession = app.bot.session  # type: ignore[assignment]
        self.user = User(id=user_id, is_bot=False, first_name="Test", language_code=language)
        self.chat = Chat(id=user_id, type="private")

    def _mark(self) -> int:
        return len(self.session.requests)

    def _sent_since(self, mark: int) -> list[SendMessage]:
        sent = [r for r in self.session.requests[mark:] if isinstance(r, SendMessage)]
        for message in sent:
            assert_telegram_accepts(message)
        return sent

    def edits_since(self, mark: int) -> list[EditMessageText]:
        edits = [r for r in self.session.requests[mark:] if isinstance(r, EditMessageText)]
        for edit in edits:
            assert_telegram_accepts(edit)
        return edits

    async def send(self, text: str) -> list[SendMessage]:
        mark = self._mark()
        message = Message(message_id=next(_ids), date=dt.datetime.now(dt.UTC), chat=self.chat,
                          from_user=self.user, text=text)
        await self.app.dispatcher.feed_update(self.app.bot,
                                              Update(update_id=next(_ids), message=message))
        return self._sent_since(mark)

    async def send_update(self, **message_fields: object) -> list[SendMessage]:
        """A non-text message (sticker, photo...) given as raw Telegram fields."""
        mark = self._mark()
        raw = {"message_id": next(_ids), "date": 1767225600, "chat": self.chat.model_dump(),
               "from": self.user.model_dump(exclude_none=True), **message_fields}
        update = Update.model_validate({"update_id": next(_ids), "message": raw})
        await self.app.dispatcher.feed_update(self.app.bot, update)
        return self._sent_since(mark)

    def last_keyboard_message(self) -> Message:
        assert self.session.keyboard_message is not None, "no keyboard shown yet"
        return self.session.keyboard_message

    def buttons(self, message: Message | None = None) -> list[tuple[str, str]]:
        message = message or self.last_keyboard_message()
        markup = message.reply_markup
        assert markup is not None
        return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]

    async def press(self, label: str, message: Message | None = None) -> list[SendMessage]:
        """Press the first button whose text contains `label` (case and accents ignored)."""
        message = message or self.last_keyboard_message()
        matches = [data for text, data in self.buttons(message)
                   if normalise(label) in normalise(text)]
        assert matches, f"no button {label!r} in {[t for t, _ in self.buttons(message)]}"
        return await self.press_data(matches[0], message)

    async def skip_optional(self) -> list[SendMessage]:
        """Answer "I don't know" to the questions asked only when they can change this plan
        (company age, large contracts...), if the dialog asks them, up to the recap."""
        shown: list[SendMessage] = []
        while (data := optional_answer([d for _, d in self.buttons()])) is not None:
            shown = await self.press_data(data)
        return shown

    def plan_buttons(self, message: Message | None = None) -> dict[str, str]:
        """The plan buttons under a message: {section key or "summary" or "pdf": data}."""
        found: dict[str, str] = {}
        for _, data in self.buttons(message):
            if data.startswith("pl:"):
                code = PlanCb.unpack(data).s
                found[CODE_SECTIONS.get(code, "summary" if code == SUMMARY else "pdf")] = data
        return found

    async def open_section(self, key: str, message: Message | None = None) -> EditMessageText:
        """Press a plan button (a section, or "summary"): it edits that message in place, and
        sends nothing new."""
        message = message or self.last_keyboard_message()
        mark = self._mark()
        sent = await self.press_data(self.plan_buttons(message)[key], message)
        edits = self.edits_since(mark)
        assert not sent and len(edits) == 1, (sent, edits)
        assert edits[0].message_id == message.message_id
        return edits[0]

    async def see_plan(self, label: str, message: Message | None = None) -> dict[str, str]:
        """Press the recap's plan button: the plan is one message (its summary, with its
        buttons); then read every section (`plan_parts`)."""
        sent = await self.press(label, message)
        assert len(sent) == 1, [m.text[:80] for m in sent]
        assert self.last_keyboard_message().text == sent[0].text
        return await self.plan_parts()

    async def plan_parts(self) -> dict[str, str]:
        """The plan now shown, as the user reads it (plain text): its summary and each of its
        sections, each opened with its button, then back to the summary."""
        message = self.last_keyboard_message()
        assert message.text is not None
        parts = {"summary": plain(message.text)}
        keys = [k for k in self.plan_buttons(message) if k not in ("summary", "pdf")]
        for key in keys:
            parts[key] = plain((await self.open_section(key)).text)
        back = await self.open_section("summary")
        assert plain(back.text) == parts["summary"]
        return parts

    async def complete_plan(self, locale: str | None = None) -> dict[str, str]:
        """The user's current plan in full (plain text), every section as the PDF holds it
        (`PlanText.section(full=True)`): what the plan says beyond one message per section."""
        key = StorageKey(bot_id=self.app.bot.id, chat_id=self.chat.id, user_id=self.user.id)
        data = await self.app.dispatcher.storage.get_data(key=key)
        state = DialogState.from_dict(data["dialog"])
        views = self.app.dispatcher["views"]
        dialog = self.app.dispatcher["dialogs"].get(state.kb_version)
        locale = locale or self.user.language_code or "fr"
        plan = views.plan_of(dialog, state)
        names = views.plan_names(dialog, locale, state.answers)
        return {k: plain(views.plan_text.section(plan, k, dialog.kb, locale, names, full=True))
                for k in SECTIONS}

    async def press_data(self, data: str, message: Message | None = None) -> list[SendMessage]:
        mark = self._mark()
        query = CallbackQuery(id=str(next(_ids)), from_user=self.user, chat_instance="ci",
                              data=data, message=message or self.last_keyboard_message())
        await self.app.dispatcher.feed_update(self.app.bot,
                                              Update(update_id=next(_ids), callback_query=query))
        return self._sent_since(mark)


def plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def limits_of(app: App) -> Limits:
    """The flood limits of the app's Dispatcher (to set their clock)."""
    found = [m for m in app.dispatcher.message.outer_middleware
             if isinstance(m, ThrottlingMiddleware)]
    assert len(found) == 1
    return found[0].limits


def assert_telegram_accepts(message: SendMessage | EditMessageText) -> None:
    """Telegram's own rules: parsable HTML, 1-4096 visible characters, callback data ≤ 64 bytes."""
    parsed = parse_html(message.text)  # raises HtmlParseError on what Telegram rejects
    assert not parsed.warnings, parsed.warnings  # unescaped '>' or '&': the docs forbid them
    assert 0 < utf16_len(parsed.text.strip()) <= 4096, f"bad length {len(parsed.text)}"
    markup = message.reply_markup
    if markup is not None:
        for row in markup.inline_keyboard:  # type: ignore[union-attr]
            assert len(row) <= 8
            for button in row:
                if button.callback_data is not None:
                    assert 1 <= len(button.callback_data.encode()) <= 64, button.callback_data
