"""Composition root: settings -> storage, knowledge base, renderer -> Bot and Dispatcher."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand, BotCommandScopeDefault
from tinydb import TinyDB

from bot.advisors.repository import AdvisorRepository
from bot.config import Settings
from bot.dialog.registry import Dialogs
from bot.handlers import build_routers
from bot.handlers.middlewares import (
    DedupeMiddleware,
    InFlightMiddleware,
    LocaleMiddleware,
    ThrottlingMiddleware,
)
from bot.handlers.views import Views
from bot.kb.store import KnowledgeStore
from bot.render.templates import LOCALES, Renderer
from bot.retry import RetryAfterMiddleware
from bot.storage.database import open_knowledge_database
from bot.storage.fsm import KeyValueStorage
from bot.storage.isolation import BoundedEventIsolation
from bot.storage.journal import JournalStore
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue, redis_fsm_storage
from bot.storage.users import UserRepository

PUBLIC_COMMANDS = ("start", "help", "restart", "language", "privacy", "mydata", "forget")
STATE_DIR = "state"
SHUTDOWN_DRAIN_SECONDS = 5.0  # the journal store: users and dialogs in progress


@dataclass
class App:
    """Everything the bot runs on; tests build it with a temp data dir and a fake session."""

    settings: Settings
    kv: KeyValue
    kb_db: TinyDB
    store: KnowledgeStore
    renderer: Renderer
    bot: Bot
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.dispatcher.fsm.events_isolation.close()
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.kv.close()
        self.kb_db.close()


def create_bot(settings: Settings, session: BaseSession | None = None,
               token: str | None = None) -> Bot:
    if session is None:
        session = AiohttpSession()
        if settings.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram_api_url)
    secret = token or (settings.bot_token.get_secret_value() if settings.bot_token else "")
    session.middleware(RetryAfterMiddleware())
    return Bot(secret, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(*, storage: BaseStorage, store: KnowledgeStore, renderer: Renderer,
                      users: UserRepository, views: Views, default_locale: str,
                      kv: KeyValue | None = None,
                      events_isolation: BaseEventIsolation | None = None,
                      admin_ids: frozenset[int] = frozenset()) -> Dispatcher:
    dp = Dispatcher(storage=storage,
                    events_isolation=events_isolation or BoundedEventIsolation())
    in_flight = InFlightMiddleware()
    dp["in_flight"] = in_flight
    dp.update.outer_middleware(in_flight)

    async def drain_in_flight() -> None:
        # aiogram stops polling on SIGTERM/SIGINT without awaiting handlers still running.
        if not await in_flight.drain(SHUTDOWN_DRAIN_SECONDS):
            logging.getLogger(__name__).warning("%d update(s) still running at shutdown",
                                                in_flight.count)

    dp.shutdown.register(drain_in_flight)
    if kv is not None:
        dp.update.outer_middleware(DedupeMiddleware(kv))
    dp["dialogs"] = Dialogs(store, renderer.labels)
    dp["admin_ids"] = admin_ids
    if kv is not None:
        dp["advisors"] = AdvisorRepository(kv)
    dp["store"] = store
    dp["renderer"] = renderer
    dp["users"] = users
    dp["views"] = views
    dp["default_locale"] = default_locale
    locale_mw = LocaleMiddleware(users, default_locale)
    throttle = ThrottlingMiddleware(renderer)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(locale_mw)
        observer.outer_middleware(throttle)
    dp.include_routers(*build_routers())
    return dp


def build_app(settings: Settings, session: BaseSession | None = None, token: str | None = None,
              today: dt.date | None = None) -> App:
    kb_db = open_knowledge_database(settings.data_dir)
    store = KnowledgeStore.from_directory(settings.knowledge_dir, kb_db)
    kv: KeyValue
    storage: BaseStorage
    isolation: BaseEventIsolation | None
    if settings.redis_url:
        # Scale-out: every replica shares users, dialog state, update claims and per-user locks.
        kv = RedisKeyValue.from_url(settings.redis_url)
        redis_storage = redis_fsm_storage(settings.redis_url)
        storage, isolation = redis_storage, redis_storage.create_isolation()
    else:
        kv = JournalStore(settings.data_dir / STATE_DIR)
        storage, isolation = KeyValueStorage(kv), None
    renderer = Renderer()
    bot = create_bot(settings, session, token)
    dp = create_dispatcher(storage=storage, store=store, renderer=renderer,
                           users=UserRepository(kv), views=Views(bot, renderer, today),
                           default_locale=settings.default_locale, kv=kv,
                           events_isolation=isolation, admin_ids=settings.admin_ids)
    # The knowledge base and templates live as long as the process: keep them out of the
    # garbage collector's generations so its pauses do not grow with the knowledge base.
    gc.collect()
    gc.freeze()
    return App(settings, kv, kb_db, store, renderer, bot, dp)


async def register_commands(bot: Bot, renderer: Renderer) -> None:
    """The command menu, in French (default) and English."""
    for locale in LOCALES:
        commands = [BotCommand(command=c, description=renderer.label(locale, f"cmd.{c}"))
                    for c in PUBLIC_COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(),
                                  language_code=None if locale == "fr" else locale)
