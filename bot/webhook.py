"""Webhook mode: the aiohttp application Telegram posts updates to.

Telegram sends every update as a POST to WEBHOOK_URL with the header
`X-Telegram-Bot-Api-Secret-Token: <WEBHOOK_SECRET>`; aiogram's SimpleRequestHandler answers 401 to
a request without it or with another value, before reading the body, so nothing is processed.

Updates are handled before the response (`handle_in_background=False`): Telegram sees 200 only
once the dialog state is saved, and it never has more than its `max_connections` requests in
flight per bot, which bounds the work a replica takes on. A handler slower than 55 s is moved to
the background by aiogram (Telegram would re-send the update after 60 s).

`GET /healthz` answers 200 while the server accepts requests: what a container health check or
a load balancer probes. It reads nothing and needs no secret (do not route it to the Internet).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App

log = logging.getLogger(__name__)

DEFAULT_PATH = "/webhook"
HEALTH_PATH = "/healthz"
SHUTDOWN_GRACE = 30.0  # seconds to let updates in flight finish on SIGTERM


def webhook_path(url: str) -> str:
    """The local route: the URL's path, or /webhook when the URL has none."""
    path = urlsplit(url).path
    return path if path not in ("", "/") else DEFAULT_PATH


def webhook_target(url: str) -> str:
    """The URL given to setWebhook: WEBHOOK_URL, with /webhook appended when it has no path, so
    Telegram posts exactly where `create_web_app` listens."""
    parts = urlsplit(url)
    if parts.path not in ("", "/"):
        return url
    return urlunsplit(parts._replace(path=DEFAULT_PATH))


async def _healthz(request: web.Request) -> web.Response:
    """200 "ok": this process is up and its event loop answers."""
    return web.Response(text="ok")


def create_web_app(app: App) -> web.Application:
    """The aiohttp application for `app`; WEBHOOK_URL and WEBHOOK_SECRET come from its settings."""
    settings = app.settings
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    web_app = web.Application()
    handler = SimpleRequestHandler(app.dispatcher, app.bot, handle_in_background=False,
                                   secret_token=settings.webhook_secret.get_secret_value())
    handler.register(web_app, path=webhook_path(settings.webhook_url))
    web_app.router.add_get(HEALTH_PATH, _healthz)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    return web_app


async def start_webhook_server(app: App, host: str, port: int) -> web.AppRunner:
    """Listen on host:port; returns the runner to give to `stop_webhook_server`."""
    runner = web.AppRunner(create_web_app(app))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("webhook: listening on %s:%s%s", host, port,
             webhook_path(app.settings.webhook_url or ""))
    return runner


async def stop_webhook_server(app: App, runner: web.AppRunner,
                              grace: float = SHUTDOWN_GRACE) -> None:
    """Stop accepting connections, let the updates in flight finish, then shut down.

    aiohttp's own cleanup runs the shutdown hooks (which close the bot's session) before it waits
    for the requests in flight, so those are drained first."""
    for site in list(runner.sites):
        await site.stop()
    in_flight = app.dispatcher.workflow_data.get("in_flight")
    if in_flight is not None and not await in_flight.drain(grace):
        log.warning("webhook: updates still in flight after %.0f s; stopping anyway", grace)
    await runner.cleanup()
