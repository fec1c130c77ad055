"""Terminal front end: the same Dispatcher and handlers, with a session that prints instead of
calling Telegram. Buttons are numbered; typing a number presses one; EOF ends the conversation."""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, TextIO

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Chat,
    Document,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
    User,
)

from bot.app import App
from bot.clock import SYSTEM_CLOCK, Clock

CONSOLE_USER_ID = 1
CONSOLE_BOT = User(id=42, is_bot=True, first_name="Export Advisor", username="export_advisor_bot")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(text: str) -> str:
    """Telegram HTML to terminal text: links as 'text (url)', other tags dropped."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", text)
    return html.unescape(_TAG.sub("", text))


class LocalSession(BaseSession):
    """Answers the bot's API calls in-process, as Telegram would, and records them.

    The console prints them; tests read `requests`."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__()
        self.clock = clock
        self.requests: list[TelegramMethod[Any]] = []
        self.messages: list[Message] = []
        self.keyboard_message: Message | None = None
        self._next_id = 0

    def _message(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                 message_id: int | None = None) -> Message:
        """A message the bot sent, or (message_id given) the new state of one it edited."""
        if message_id is None:
            self._next_id += 1
            message_id = self._next_id
        return Message(message_id=message_id, date=self.clock.now(),
                       chat=Chat(id=chat_id, type="private"), from_user=CONSOLE_BOT,
                       text=text, reply_markup=markup)

    def on_request(self, method: TelegramMethod[Any]) -> None:
        """Hook for what a user would see."""

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType],
                           timeout: int | None = None) -> TelegramType:
        self.requests.append(method)
        self.on_request(method)
        result: Any = True
        if isinstance(method, GetMe):
            result = CONSOLE_BOT
        elif isinstance(method, SendMessage | EditMessageText):
            markup = method.reply_markup
            keyboard = markup if isinstance(markup, InlineKeyboardMarkup) else None
            edited = method.message_id if isinstance(method, EditMessageText) else None
            result = self._message(int(method.chat_id or CONSOLE_USER_ID), method.text or "",
                                   keyboard, edited)
            self.messages.append(result)
            if keyboard is not None:
                self.keyboard_message = result
        elif isinstance(method, SendPhoto):
            self._next_id += 1
            result = Message(message_id=self._next_id, date=self.clock.now(),
                             chat=Chat(id=int(method.chat_id or CONSOLE_USER_ID), type="private"),
                             from_user=CONSOLE_BOT, caption=method.caption,
                             photo=[PhotoSize(file_id=f"local-photo-{self._next_id}",
                                              file_unique_id=f"lp{self._next_id}",
                                              width=320, height=320)])
            self.messages.append(result)
        elif isinstance(method, SendDocument):
            self._next_id += 1
            upload = method.document
            name = (upload.filename if isinstance(upload, BufferedInputFile) else None) or "file"
            result = Message(message_id=self._next_id, date=self.clock.now(),
                             chat=Chat(id=int(method.chat_id or CONSOLE_USER_ID), type="private"),
                             from_user=CONSOLE_BOT, caption=method.caption,
                             document=Document(file_id=f"local-doc-{self._next_id}",
                                               file_unique_id=f"ld{self._next_id}",
                                               file_name=name))
            self.messages.append(result)
        return result  # type: ignore[no-any-return]

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None,
                             timeout: int = 30, chunk_size: int = 65536,
                             raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("no files here")
        yield b""  # pragma: no cover

    async def close(self) -> None:
        return None


class ConsoleSession(LocalSession):
    """Prints messages as text and buttons as numbered choices; a document the bot sends (the
    plan's PDF) or an image it uploads (a comparison's chart) is written to a file in
    `documents` (default: the current directory) and its path printed."""

    def __init__(self, out: TextIO, clock: Clock = SYSTEM_CLOCK,
                 documents: Path | None = None) -> None:
        super().__init__(clock)
        self.out = out
        self.documents = documents
        self.buttons: list[str] = []

    def on_request(self, method: TelegramMethod[Any]) -> None:
        if isinstance(method, SendMessage | EditMessageText):
            self._print_message(method.text or "", method.reply_markup)
        elif isinstance(method, SendPhoto) and isinstance(method.photo, BufferedInputFile):
            path = self._save(method.photo)  # a comparison's chart
            self._print_message(f"[image] {path}\n" + (method.caption or ""),
                                method.reply_markup)
        elif isinstance(method, SendPhoto):
            self._print_message("[image] " + (method.caption or ""), method.reply_markup)
        elif isinstance(method, SendDocument) and isinstance(method.document,
                                                             BufferedInputFile):
            path = self._save(method.document)
            self._print_message(f"[document] {path}\n" + (method.caption or ""),
                                method.reply_markup)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            self.out.write(f"\n({method.text})\n")
            self.out.flush()

    def _save(self, upload: BufferedInputFile) -> Path:
        """Write a sent file; a different file of the same name already there is kept (the new
        one gets a number)."""
        folder = (self.documents or Path.cwd()).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(upload.filename or "document").name
        path = folder / name
        number = 1
        while path.exists() and path.read_bytes() != upload.data:
            number += 1
            path = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
        path.write_bytes(upload.data)
        return path

    def _print_message(self, text: str, markup: Any) -> None:
        self.out.write("\n" + html_to_text(text) + "\n")
        if isinstance(markup, InlineKeyboardMarkup):
            self.buttons = []
            for row in markup.inline_keyboard:
                cells = []
                for button in row:
                    if button.callback_data:
                        self.buttons.append(button.callback_data)
                        cells.append(f"[{len(self.buttons)}] {button.text}")
                    elif button.url:
                        cells.append(f"{button.text} ({button.url})")
                    elif button.switch_inline_query is not None:
                        cells.append(f"{button.text} (Telegram: inline mode)")
                if cells:
                    self.out.write("   ".join(cells) + "\n")
        self.out.flush()


class Console:
    """Feeds typed lines to the Dispatcher as Telegram updates from one user."""

    def __init__(self, app: App, session: ConsoleSession, language: str) -> None:
        self.app = app
        self.session = session
        self.user = User(id=CONSOLE_USER_ID, is_bot=False, first_name="Console",
                         language_code=language)
        self.chat = Chat(id=CONSOLE_USER_ID, type="private")
        # Update ids must not repeat across runs on the same DATA_DIR (the store remembers the
        # ids it handled, as Telegram's re-deliveries require): each run starts at a random
        # point of a 2**52 range, so two runs of a few thousand updates do not meet.
        self._update_id = secrets.randbelow(2**52)
        self._message_id = 1000

    def _next_update(self) -> int:
        self._update_id += 1
        return self._update_id

    async def say(self, text: str) -> None:
        """A line typed by the user: a button number presses it, anything else is a message."""
        text = text.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.session.buttons):
            await self.press(self.session.buttons[int(text) - 1])
            return
        self._message_id += 1
        message = Message(message_id=self._message_id, date=self.session.clock.now(),
                          chat=self.chat, from_user=self.user, text=text)
        await self.app.dispatcher.feed_update(
            self.app.bot, Update(update_id=self._next_update(), message=message))

    async def press(self, data: str) -> None:
        query = CallbackQuery(id=str(self._next_update()), from_user=self.user,
                              chat_instance="console", data=data,
                              message=self.session.keyboard_message)
        await self.app.dispatcher.feed_update(
            self.app.bot, Update(update_id=self._update_id, callback_query=query))


async def run_console(app: App, session: ConsoleSession, stdin: TextIO = sys.stdin) -> None:
    """Start with /start, then read lines until EOF."""
    console = Console(app, session, app.settings.default_locale)
    out = session.out
    out.write(app.renderer.render(app.settings.default_locale, "console_intro") + "\n")
    await console.say("/start")
    while True:
        if stdin.isatty():
            out.write("> ")
            out.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        if line.strip():
            await console.say(line)
    out.write("\n" + app.renderer.render(app.settings.default_locale, "console_bye") + "\n")
    out.flush()
