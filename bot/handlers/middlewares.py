"""Middlewares: duplicate updates, updates in flight, floods, and the reader's locale."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User
from redis.exceptions import RedisError

from bot.handlers.session import on_current_question
from bot.kb.reload import Reloader
from bot.render.templates import pick_locale
from bot.storage.keyvalue import KeyValue
from bot.storage.limits import Budget, Limits, MemoryLimits
from bot.storage.users import UserRepository

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
KEEP_UPDATE_IDS = 10_000


class DedupeMiddleware(BaseMiddleware):
    """An update handled before (same update_id for the same bot, re-delivered after a restart
    or a webhook retry) does nothing. It is marked handled only once its handler finished, so an
    update whose processing was cut by a crash is handled when Telegram delivers it again."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        # Update ids are numbered per bot: a console run, or another token on the same data,
        # has ids of its own.
        namespace, key = f"updates:{data['bot'].id}", str(event.update_id)
        if await self.kv.seen(namespace, key):
            return None
        result = await handler(event, data)
        await self.kv.claim(namespace, key, keep=KEEP_UPDATE_IDS)
        return result


class KnowledgeFollowMiddleware(BaseMiddleware):
    """With Redis: before an update, the replica looks at Redis's live knowledge version (one
    GET) and adopts a new one, so a dialog pinned to a version just applied on another replica
    finds it here, without waiting for the once-a-second follow."""

    def __init__(self, reloader: Reloader) -> None:
        self.reloader = reloader

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        # Redis away: the update goes on with the versions this replica holds.
        with contextlib.suppress(RedisError):
            await self.reloader.follow()
        return await handler(event, data)


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled, so a shutdown can wait for them (aiogram does not)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no update is in flight; False when the timeout ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


def fingerprint(message: Message) -> str:
    """What makes two messages the same: their text or caption, or the file they carry."""
    media = (message.sticker or message.animation or message.document or message.video
             or message.voice or message.audio or message.video_note
             or (message.photo[-1] if message.photo else None))
    content = message.text or message.caption or ""
    if media is not None:
        content += "\x00" + media.file_unique_id
    digest = hashlib.blake2b(content.encode("utf-8", "replace"), digest_size=8).hexdigest()
    return f"{message.content_type}:{digest}"


class ThrottlingMiddleware(BaseMiddleware):
    """Flood limits per user, on messages and button presses of private chats.

    Messages: a burst of MESSAGES.burst, then one a second; a flood gets that many answers and
    one "slow down", whatever its length (see bot/storage/limits.py). A message identical to
    the one before (within MESSAGES.repeat_seconds): a command is not handled again, anything
    else is marked `repeat` for the handlers, which answer repeated junk once (an answer typed
    twice still answers two questions). A press on the current question's keyboard is always
    handled and costs nothing, however fast a person taps through the dialog; any other press
    takes from TAPS, and past it gets only a toast. Updates from groups and channels pass
    untouched: no handler answers them in the chat. The state lives in `limits` (in memory,
    or in Redis shared by every replica).
    """

    MESSAGES = Budget(burst=9, per_second=1.0, repeat_seconds=2.0)
    TAPS = Budget(burst=10, per_second=1.0, repeat_seconds=0.0)

    def __init__(self, renderer: Any, limits: Limits | None = None) -> None:
        self.renderer = renderer
        self.limits = limits or MemoryLimits()

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or chat is None or chat.type != "private":
            return await handler(event, data)
        locale = data.get("locale", "fr")
        if isinstance(event, CallbackQuery):
            if (await on_current_question(data.get("state"), event.data)
                    or (await self.limits.take(f"taps:{user.id}", self.TAPS, "")).allowed):
                return await handler(event, data)
            await event.answer(self.renderer.label(locale, "toast.flood"))
            return None
        if not isinstance(event, Message):
            return await handler(event, data)
        took = await self.limits.take(f"messages:{user.id}", self.MESSAGES, fingerprint(event))
        if took.allowed:
            if took.repeat and (event.text or "").startswith("/"):
                return None  # the same command again right away: it was answered once
            data["repeat"] = took.repeat
            return await handler(event, data)
        if took.warn:
            await event.answer(self.renderer.render(locale, "flood"))
        return None


class LocaleMiddleware(BaseMiddleware):
    """The reader's locale: the one they chose, else Telegram's. A user's record is created
    or touched only from their private chat: nothing is stored about members of a group or
    channel, nor about whoever presses a button on a message sent inline."""

    def __init__(self, users: UserRepository, default_locale: str) -> None:
        self.users = users
        self.default_locale = default_locale

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        locale = self.default_locale
        if user is not None:
            if chat is not None and chat.type == "private":
                record = await self.users.touch(user.id)
            else:
                record = await self.users.get(user.id) or {}
            locale = record.get("locale") or pick_locale(user.language_code,
                                                          self.default_locale)
        data["locale"] = locale
        return await handler(event, data)
