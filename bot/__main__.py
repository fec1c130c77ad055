"""`python -m bot`: Telegram (webhook with WEBHOOK_URL, else long polling) with BOT_TOKEN, the
console without it.

    python -m bot                 Telegram if BOT_TOKEN is set, else the console
    python -m bot console         the console, whatever the settings
    python -m bot kb check [--json] [--dir PATH] | diff FILE | apply FILE | rollback [VERSION]
                  | export DIR | history
    python -m bot advisor add --id N --name X [--org Y] | invite [--org Y]
                  | deactivate --id N | activate --id N | list
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from redis.exceptions import RedisError

from bot.advisors.links import INVITE_PREFIX, deep_link
from bot.advisors.repository import AdvisorRepository
from bot.app import (
    STATE_DIR,
    App,
    build_app,
    create_bot,
    known_admins,
    register_commands,
)
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import ConfigError, Settings, load_settings
from bot.console import ConsoleSession, run_console
from bot.kb import cli as kb_cli
from bot.kb.loader import KnowledgeError
from bot.storage.journal import JournalStore, StoreBusyError, StoreDamagedError
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue
from bot.webhook import start_webhook_server, stop_webhook_server, webhook_target

log = logging.getLogger("bot")


async def check_storage(app: App) -> None:
    """Fail at start, not at the first update, when Redis cannot be reached."""
    if isinstance(app.kv, RedisKeyValue):
        await app.kv.ping()


async def run_polling(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
    app = build_app(settings, clock=clock)
    try:
        await check_storage(app)
        await register_commands(app.bot, app.renderer, await known_admins(app))
        # A webhook left set would make getUpdates fail with 409 Conflict.
        await app.bot.delete_webhook(drop_pending_updates=False)
        await app.dispatcher.start_polling(
            app.bot, allowed_updates=app.dispatcher.resolve_used_update_types())
    finally:
        await app.close()


async def run_webhook(settings: Settings, session: BaseSession | None = None,
                      stop: asyncio.Event | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
    """Serve Telegram's webhook calls until SIGTERM or SIGINT (or until `stop` is set).

    Every replica behind the load balancer runs this: setWebhook with the same URL and secret is
    idempotent. The webhook is not deleted on exit, so stopping one replica does not stop the bot.
    """
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ConfigError("Configuration error: WEBHOOK_SECRET: required when WEBHOOK_URL is set")
    app = build_app(settings, session=session, clock=clock)
    runner = None
    handled_signals: list[signal.Signals] = []
    try:
        await check_storage(app)
        await register_commands(app.bot, app.renderer, await known_admins(app))
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):  # Windows
                    loop.add_signal_handler(sig, stop.set)
                    handled_signals.append(sig)
        try:
            runner = await start_webhook_server(app, settings.webhook_host,
                                                settings.webhook_port)
        except OSError as exc:
            raise ConfigError(f"Configuration error: WEBHOOK_PORT: cannot listen on "
                              f"{settings.webhook_host}:{settings.webhook_port}: "
                              f"{exc.strerror or exc}") from None
        try:
            await app.bot.set_webhook(
                url=webhook_target(settings.webhook_url),
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=app.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False)
        except TelegramBadRequest as exc:
            raise ConfigError(f"Configuration error: WEBHOOK_URL: Telegram refused it: "
                              f"{exc.message}") from None
        await stop.wait()
    finally:
        loop = asyncio.get_running_loop()
        for sig in handled_signals:
            loop.remove_signal_handler(sig)
        if runner is not None:
            await stop_webhook_server(app, runner)
        await app.close()


async def run_console_app(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
    session = ConsoleSession(sys.stdout, clock)
    app = build_app(settings, session=session, token="42:CONSOLE", clock=clock,
                    flood_limits=False)
    try:
        await run_console(app, session)
    finally:
        await app.close()


BOT_IS_RUNNING = "the bot is running: use /advisor in Telegram, or stop it"


def open_state(settings: Settings) -> KeyValue:
    """The store the bot uses (Redis with REDIS_URL, else DATA_DIR/state): StoreBusyError when
    the bot holds the journal store."""
    if settings.redis_url:
        return RedisKeyValue.from_url(settings.redis_url)
    return JournalStore(settings.data_dir / STATE_DIR)


async def invite_link(settings: Settings, username: str | None, code: str) -> str | None:
    """The invitation's t.me link when the bot username is given or can be asked (BOT_TOKEN)."""
    if not username and settings.bot_token is not None:
        bot = create_bot(settings)
        try:
            username = (await bot.me()).username
        except Exception as exc:  # offline, token revoked...: the payload still works
            log.debug("getMe failed: %s", exc)
        finally:
            await bot.session.close()
    return deep_link(username.lstrip("@"), INVITE_PREFIX, code) if username else None


async def run_advisor_command(args: argparse.Namespace, settings: Settings,
                              clock: Clock = SYSTEM_CLOCK) -> int:
    kv = open_state(settings)
    try:
        if isinstance(kv, RedisKeyValue):
            await kv.ping()
        advisors = AdvisorRepository(kv, clock)
        command = args.advisor_command
        if command == "add":
            if args.id <= 0 or not args.name.strip():
                print("advisor add: --id must be a Telegram user id and --name not empty",
                      file=sys.stderr)
                return 2
            record = await advisors.register(args.id, args.name, args.org)
            print(f"advisor {record['id']} added: {record['name']}"
                  + (f" ({record['organisation']})" if record["organisation"] else ""))
        elif command == "invite":
            code = await advisors.create_invite(None, args.org)
            print(f"invitation code: {code}")
            link = await invite_link(settings, args.bot_username, code)
            if link:
                print(f"link: {link}")
            else:
                print(f"payload: {INVITE_PREFIX}_{code} (https://t.me/<bot username>?start="
                      f"{INVITE_PREFIX}_{code}; give --bot-username to print the link)")
        elif command in ("activate", "deactivate"):
            if not await advisors.set_active(args.id, command == "activate"):
                print(f"no advisor {args.id}", file=sys.stderr)
                return 1
            print(f"advisor {args.id} {command}d")
        else:  # list
            records = await advisors.all_advisors()
            if not records:
                print("no advisors")
            for r in records:
                print("\t".join([str(r["id"]), "active" if r.get("active") else "inactive",
                                 r.get("name", ""), r.get("organisation", ""),
                                 f"{len(r.get('links', []))} links"]))
        return 0
    finally:
        await kv.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Export Advisor bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("console", help="talk to the bot in this terminal")
    sub.add_parser("run", help="Telegram when BOT_TOKEN is set, else the console (default)")
    kb_cli.add_parser(sub)
    advisor = sub.add_parser("advisor", help="export advisors (same store as the bot)")
    adv_sub = advisor.add_subparsers(dest="advisor_command", required=True)
    add = adv_sub.add_parser("add", help="make a Telegram user an advisor (or update one)")
    add.add_argument("--id", type=int, required=True, help="their Telegram user id")
    add.add_argument("--name", required=True)
    add.add_argument("--org", default="", help="organisation")
    invite = adv_sub.add_parser("invite", help="a one-time invitation code (t.me/<bot>?start=i_)")
    invite.add_argument("--org", default="", help="organisation of the invited advisor")
    invite.add_argument("--bot-username", help="print the t.me link (default: asked with "
                                               "BOT_TOKEN if set)")
    for name in ("deactivate", "activate"):
        adv_sub.add_parser(name, help=f"{name} an advisor").add_argument(
            "--id", type=int, required=True, help="their Telegram user id")
    adv_sub.add_parser("list", help="every advisor: id, status, name, organisation, links")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    """The command line; `clock` is fixed by tests (the one source of today and now)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "kb":
            return kb_cli.run(args, settings.knowledge_dir, settings.data_dir, clock)
        if args.command == "advisor":
            try:
                return asyncio.run(run_advisor_command(args, settings, clock))
            except StoreBusyError:  # the journal store is single-process
                print(BOT_IS_RUNNING, file=sys.stderr)
                return 2
        if args.command == "console" or settings.bot_token is None:
            # aiogram logs every handled update at INFO: keep the conversation readable.
            logging.getLogger().setLevel(max(logging.WARNING,
                                             logging.getLevelName(settings.log_level)))
            asyncio.run(run_console_app(settings, clock))
        elif settings.webhook_url:
            asyncio.run(run_webhook(settings, clock=clock))
        else:
            asyncio.run(run_polling(settings, clock))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except StoreDamagedError as exc:
        print(f"Storage error: {exc}", file=sys.stderr)
        return 2
    except RedisError as exc:
        print(f"Storage error: Redis (REDIS_URL): {exc}", file=sys.stderr)
        return 2
    except KnowledgeError as exc:
        print(f"Knowledge base error: {exc}", file=sys.stderr)
        return 2
    except TelegramUnauthorizedError:
        print("Configuration error: BOT_TOKEN: the Bot API server rejected this token",
              file=sys.stderr)
        return 2
    except TelegramNetworkError as exc:
        server = settings.telegram_api_url or "api.telegram.org"
        print(f"Network error: cannot reach the Bot API at {server}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"Storage error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
