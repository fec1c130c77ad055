"""Drive the real Dispatcher as a Telegram user would: typed messages and button presses."""

from __future__ import annotations

import datetime as dt
import itertools

from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.app import App
from bot.console import LocalSession
from bot.dialog.matching import normalise
from bot.handlers.middlewares import ThrottlingMiddleware
from bot.render.callbacks import optional_answer
from bot.storage.limits import Limits
from tests.e2e.fake_api import parse_html

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

    async def press_data(self, data: str, message: Message | None = None) -> list[SendMessage]:
        mark = self._mark()
        query = CallbackQuery(id=str(next(_ids)), from_user=self.user, chat_instance="ci",
                              data=data, message=message or self.last_keyboard_message())
        await self.app.dispatcher.feed_update(self.app.bot,
                                              Update(update_id=next(_ids), callback_query=query))
        return self._sent_since(mark)


def limits_of(app: App) -> Limits:
    """The flood limits of the app's Dispatcher (to set their clock)."""
    found = [m for m in app.dispatcher.message.outer_middleware
             if isinstance(m, ThrottlingMiddleware)]
    assert len(found) == 1
    return found[0].limits


def assert_telegram_accepts(message: SendMessage) -> None:
    """Telegram's own rules: parsable HTML, 1-4096 visible characters, callback data ≤ 64 bytes."""
    parsed = parse_html(message.text)  # raises HtmlParseError on what Telegram rejects
    assert not parsed.warnings, parsed.warnings  # unescaped '>' or '&': the docs forbid them
    assert 0 < len(parsed.text.strip()) <= 4096, f"bad length {len(parsed.text)}"
    markup = message.reply_markup
    if markup is not None:
        for row in markup.inline_keyboard:  # type: ignore[union-attr]
            assert len(row) <= 8
            for button in row:
                if button.callback_data is not None:
                    assert 1 <= len(button.callback_data.encode()) <= 64, button.callback_data
