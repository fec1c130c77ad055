"""Composition root: settings -> storage, knowledge base, renderer -> Bot and Dispatcher."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from tinydb import TinyDB

from bot.advisors.repository import AdvisorRepository
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.dialog.registry import Dialogs
from bot.followup import FollowUpRunner, FollowUps
from bot.handlers import build_routers
from bot.handlers.middlewares import (
    DedupeMiddleware,
    InFlightMiddleware,
    KnowledgeFollowMiddleware,
    LocaleMiddleware,
    ThrottlingMiddleware,
)
from bot.handlers.views import Views
from bot.kb.admin import KnowledgeAdmin
from bot.kb.reload import Reloader
from bot.kb.shared import SharedKnowledge
from bot.kb.store import KnowledgeStore
from bot.notifier import AlertNotifier
from bot.pacing import pacer_for
from bot.render.templates import LOCALES, Renderer
from bot.retry import LateAnswerMiddleware, RetryAfterMiddleware
from bot.storage.database import open_knowledge_database
from bot.storage.fsm import KeyValueStorage
from bot.storage.isolation import BoundedEventIsolation
from bot.storage.journal import JournalStore
from bot.storage.keyvalue import KeyValue
from bot.storage.limits import limits_for
from bot.storage.redis import RedisKeyValue, redis_fsm_storage
from bot.storage.users import UserRepository

PUBLIC_COMMANDS = ("start", "help", "restart", "language", "alerts", "privacy", "mydata",
                   "forget")
ADMIN_COMMANDS = (*PUBLIC_COMMANDS, "kb", "advisor")
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
    kb_admin: KnowledgeAdmin
    reloader: Reloader
    notifier: AlertNotifier
    follow_ups: FollowUpRunner | None = None

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
    session.middleware(LateAnswerMiddleware())
    return Bot(secret, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(*, storage: BaseStorage, store: KnowledgeStore, renderer: Renderer,
                      users: UserRepository, views: Views, default_locale: str,
                      kv: KeyValue | None = None,
                      events_isolation: BaseEventIsolation | None = None,
                      admin_ids: frozenset[int] = frozenset(),
                      kb_admin: KnowledgeAdmin | None = None,
                      reloader: Reloader | None = None,
                      clock: Clock = SYSTEM_CLOCK, flood_limits: bool = True) -> Dispatcher:
    """`flood_limits` False: no per-user flood limits (the console: one person at a terminal,
    who may paste a whole conversation at once)."""
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
    dp["dialogs"] = Dialogs(store, renderer.labels, clock)
    dp["admin_ids"] = admin_ids
    if kv is not None:
        dp["advisors"] = AdvisorRepository(kv, clock)
        dp["kv"] = kv
    if kb_admin is not None:
        dp["kb_admin"] = kb_admin
    if reloader is not None:
        if reloader.shared is not None:
            dp.update.outer_middleware(KnowledgeFollowMiddleware(reloader))
        dp["reloader"] = reloader
        dp.startup.register(reloader.start)
        dp.shutdown.register(reloader.stop)
    dp["clock"] = clock
    dp["store"] = store
    dp["renderer"] = renderer
    dp["users"] = users
    dp["views"] = views
    dp["default_locale"] = default_locale
    locale_mw = LocaleMiddleware(users, default_locale)
    throttle = ThrottlingMiddleware(renderer, limits_for(kv, clock)) if flood_limits else None
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(locale_mw)
        if throttle is not None:
            observer.outer_middleware(throttle)
    dp.include_routers(*build_routers())
    return dp


def build_app(settings: Settings, session: BaseSession | None = None, token: str | None = None,
              clock: Clock = SYSTEM_CLOCK, flood_limits: bool = True) -> App:
    """`clock` is the one source of "today" and "now" for everything built here."""
    kb_db = open_knowledge_database(settings.data_dir)
    kb_admin = KnowledgeAdmin(settings.knowledge_dir, settings.data_dir, clock)
    kb, raw = kb_admin.load()  # finishes or drops an apply a crash interrupted
    store = KnowledgeStore(kb, kb_db, raw, clock)
    kv: KeyValue
    storage: BaseStorage
    isolation: BaseEventIsolation | None
    shared: SharedKnowledge | None = None
    if settings.redis_url:
        # Scale-out: every replica shares users, dialog state, update claims, per-user locks
        # and the knowledge base's versions.
        redis_kv = RedisKeyValue.from_url(settings.redis_url)
        kv, shared = redis_kv, SharedKnowledge(redis_kv.redis, redis_kv.prefix)
        redis_storage = redis_fsm_storage(settings.redis_url)
        storage, isolation = redis_storage, redis_storage.create_isolation()
    else:
        kv = JournalStore(settings.data_dir / STATE_DIR)
        storage, isolation = KeyValueStorage(kv), None
    reloader = Reloader(store, kb_admin, shared=shared)
    renderer = Renderer()
    bot = create_bot(settings, session, token)
    users = UserRepository(kv, clock)
    pacer = pacer_for(kv)  # Redis: one pace for all replicas
    notifier = AlertNotifier(bot, renderer, users, settings.default_locale, clock, pacer=pacer)
    followups = FollowUps(kv, clock, settings.follow_up_after)
    follow_ups = FollowUpRunner(bot, renderer, users, followups, pacer)
    reloader.listeners.append(notifier)
    dp = create_dispatcher(storage=storage, store=store, renderer=renderer,
                           users=users, views=Views(bot, renderer, clock), clock=clock,
                           default_locale=settings.default_locale, kv=kv,
                           events_isolation=isolation, admin_ids=settings.admin_ids,
                           kb_admin=kb_admin, reloader=reloader, flood_limits=flood_limits)
    dp.shutdown.register(notifier.drain)
    dp["followups"] = followups
    dp.startup.register(follow_ups.start)
    dp.shutdown.register(follow_ups.stop)
    # The knowledge base and templates live as long as the process: keep them out of the
    # garbage collector's generations so its pauses do not grow with the knowledge base.
    gc.collect()
    gc.freeze()
    return App(settings, kv, kb_db, store, renderer, bot, dp, kb_admin, reloader, notifier,
               follow_ups)


async def register_commands(bot: Bot, renderer: Renderer,
                            admin_chats: tuple[int, ...] = ()) -> None:
    """The command menu, in French (default) and English; admins' chats also list /kb and
    /advisor. Only chats that exist: Telegram answers "chat not found" for a user who never
    opened the bot."""
    for locale in LOCALES:
        language = None if locale == "fr" else locale

        def menu(names: tuple[str, ...], loc: str = locale) -> list[BotCommand]:
            return [BotCommand(command=c, description=renderer.label(loc, f"cmd.{c}"))
                    for c in names]

        await bot.set_my_commands(menu(PUBLIC_COMMANDS), scope=BotCommandScopeDefault(),
                                  language_code=language)
        for chat_id in admin_chats:
            try:
                await bot.set_my_commands(menu(ADMIN_COMMANDS),
                                          scope=BotCommandScopeChat(chat_id=chat_id),
                                          language_code=language)
            except TelegramBadRequest as exc:
                logging.getLogger(__name__).warning("admin menu for %s not set: %s", chat_id,
                                                    exc.message)


async def known_admins(app: App) -> tuple[int, ...]:
    """Admins who have opened the bot (their chat exists)."""
    users = app.dispatcher["users"]
    return tuple([a for a in sorted(app.settings.admin_ids) if await users.get(a) is not None])
