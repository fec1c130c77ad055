"""Webhook mode: the aiohttp app over HTTP on 127.0.0.1, on the journal store and on Redis."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.methods import SendMessage, SetMyCommands, SetWebhook
from aiohttp.test_utils import TestClient, TestServer

from bot.__main__ import run_webhook
from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import ConfigError, Settings, load_settings
from bot.console import LocalSession
from bot.webhook import create_web_app, webhook_path, webhook_target
from tests.conftest import BOT_COMMAND, TODAY, make_settings
from tests.storage.conftest import free_port

SECRET = "s3cr3t_Token-42"
URL = "https://bot.example.com/tg/hook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
_ids = itertools.count(1)


def update(text: str, user_id: int = 1001, update_id: int | None = None) -> dict[str, Any]:
    """A private-chat text message as Telegram posts it."""
    message: dict[str, Any] = {
        "message_id": next(_ids), "date": 1767225600, "text": text,
        "chat": {"id": user_id, "type": "private", "first_name": "Test"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "fr"},
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    return {"update_id": next(_ids) if update_id is None else update_id, "message": message}


def sent(app: App) -> list[SendMessage]:
    session: LocalSession = app.bot.session  # type: ignore[assignment]
    return [r for r in session.requests if isinstance(r, SendMessage)]


def webhook_settings(data_dir: Path, backend: str, request: pytest.FixtureRequest,
                     **extra: object) -> Settings:
    redis = {"redis_url": request.getfixturevalue("redis_url")} if backend == "redis" else {}
    return make_settings(data_dir, webhook_url=URL, webhook_secret=SECRET, **redis, **extra)


@pytest.fixture
async def served(backend: str, request: pytest.FixtureRequest,
                 tmp_path: Path) -> AsyncIterator[tuple[App, TestClient[Any, Any]]]:
    settings = webhook_settings(tmp_path / "data", backend, request)
    app = build_app(settings, session=LocalSession(), token="42:TEST", clock=FixedClock.on(TODAY))
    client = TestClient(TestServer(create_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await app.close()


async def test_only_requests_with_the_secret_are_handled(
        served: tuple[App, TestClient[Any, Any]]) -> None:
    app, client = served
    start = update("/start")
    for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET + "x"}, {HEADER: ""}):
        response = await client.post("/tg/hook", json=start, headers=headers)
        assert response.status == 401, headers
    assert sent(app) == []  # refused before anything was processed

    response = await client.post("/tg/hook", json=start, headers={HEADER: SECRET})
    assert response.status == 200
    answers = sent(app)
    assert answers and "Bienvenue" in answers[0].text and answers[0].chat_id == 1001
    assert "1/8" in answers[-1].text

    # Telegram re-sending the same update (e.g. after a timeout) does not answer twice.
    again = await client.post("/tg/hook", json=start, headers={HEADER: SECRET})
    assert again.status == 200 and len(sent(app)) == len(answers)
    # Only the configured path is served.
    assert (await client.post("/webhook", json=update("/help"),
                              headers={HEADER: SECRET})).status == 404


async def test_healthz_answers_without_the_secret_and_handles_nothing(
        served: tuple[App, TestClient[Any, Any]]) -> None:
    """What the container health check probes (compose.yaml): a GET, no secret, no update."""
    app, client = served
    response = await client.get("/healthz")
    assert response.status == 200 and await response.text() == "ok"
    assert sent(app) == []
    # It is not a way in: the webhook path still takes only a POST with the secret.
    assert (await client.post("/healthz", json=update("/start"),
                              headers={HEADER: SECRET})).status == 405
    assert (await client.get("/tg/hook")).status == 405
    assert sent(app) == []


async def test_replicas_share_the_dialog_on_redis(redis_url: str, tmp_path: Path) -> None:
    """Two processes behind a load balancer: any update may land on either."""
    replicas: list[tuple[App, TestClient[Any, Any]]] = []
    for name in ("a", "b"):
        settings = make_settings(tmp_path / name, webhook_url=URL, webhook_secret=SECRET,
                                 redis_url=redis_url)
        app = build_app(settings, session=LocalSession(), token="42:TEST",
                        clock=FixedClock.on(TODAY))
        client = TestClient(TestServer(create_web_app(app), host="127.0.0.1"))
        await client.start_server()
        replicas.append((app, client))
    (app_a, client_a), (app_b, client_b) = replicas
    try:
        start = update("/start", user_id=3003)
        responses = await asyncio.gather(  # the same update delivered to both at once
            client_a.post("/tg/hook", json=start, headers={HEADER: SECRET}),
            client_b.post("/tg/hook", json=start, headers={HEADER: SECRET}))
        assert [r.status for r in responses] == [200, 200]
        welcomes = [m for m in sent(app_a) + sent(app_b) if "Bienvenue" in m.text]
        assert len(welcomes) == 1
        assert "1/8" in (sent(app_a) + sent(app_b))[-1].text

        # The answer to question 1 lands on replica b, which knows where the dialog is.
        before = len(sent(app_b))
        response = await client_b.post("/tg/hook", json=update("logiciel saas", user_id=3003),
                                       headers={HEADER: SECRET})
        assert response.status == 200
        assert any("2/8" in m.text for m in sent(app_b)[before:]), \
            [m.text for m in sent(app_b)[before:]]
        user = await app_a.dispatcher["users"].get(3003)
        assert user is not None and user["active"] is True
    finally:
        for app, client in replicas:
            await client.close()
            await app.close()


async def test_run_webhook_registers_and_serves(backend: str, request: pytest.FixtureRequest,
                                                tmp_path: Path) -> None:
    """`python -m bot` in webhook mode: commands, setWebhook, then updates over HTTP."""
    port = free_port()
    settings = webhook_settings(tmp_path / "data", backend, request, bot_token="42:TEST",
                                webhook_port=port)
    session = LocalSession()
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhook(settings, session=session, stop=stop))
    try:
        for _ in range(200):
            if any(isinstance(r, SetWebhook) for r in session.requests) or task.done():
                break
            await asyncio.sleep(0.05)
        if task.done():
            task.result()  # raise what stopped it
        hooks = [r for r in session.requests if isinstance(r, SetWebhook)]
        assert len(hooks) == 1
        hook = hooks[0]
        assert hook.url == URL and hook.secret_token == SECRET
        assert hook.drop_pending_updates is False
        assert hook.allowed_updates is not None
        assert {"message", "callback_query"} <= set(hook.allowed_updates)
        menus = [r for r in session.requests if isinstance(r, SetMyCommands)]
        assert {m.language_code for m in menus} == {None, "en"}

        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{port}/tg/hook"
            async with http.post(base, json=update("/start")) as refused:
                assert refused.status == 401
            assert not [r for r in session.requests if isinstance(r, SendMessage)]
            async with http.post(base, json=update("/start"),
                                 headers={HEADER: SECRET}) as accepted:
                assert accepted.status == 200
            async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
        assert any("Bienvenue" in r.text for r in session.requests
                   if isinstance(r, SendMessage))
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    with pytest.raises(OSError):  # stopped: the port is closed
        await _connect(port)


async def _connect(port: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


def test_the_webhook_path_follows_the_url() -> None:
    assert webhook_path("https://x.example/tg/hook") == "/tg/hook"
    assert webhook_path("https://x.example") == "/webhook"
    assert webhook_path("https://x.example/") == "/webhook"
    assert webhook_target("https://x.example/tg/hook?x=1") == "https://x.example/tg/hook?x=1"
    assert webhook_target("https://x.example") == "https://x.example/webhook"
    assert webhook_target("https://x.example:8443/") == "https://x.example:8443/webhook"


# --- configuration -------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("BOT_TOKEN", "REDIS_URL", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_HOST",
                 "WEBHOOK_PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_a_webhook_needs_a_secret(env: pytest.MonkeyPatch, secret: str | None) -> None:
    env.setenv("WEBHOOK_URL", URL)
    if secret is not None:
        env.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("Configuration error: WEBHOOK_SECRET: ") and "required" in message
    assert "\n" not in message


@pytest.mark.parametrize("secret", ["has space", "ümlaut", "semi;colon", "a" * 257, "tab\tx"])
def test_a_webhook_secret_uses_telegrams_charset(env: pytest.MonkeyPatch, secret: str) -> None:
    env.setenv("WEBHOOK_URL", URL)
    env.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("Configuration error: WEBHOOK_SECRET: ") and "\n" not in message
    assert secret not in message  # a secret is never echoed


@pytest.mark.parametrize("secret", ["a", "A-z_09", "x" * 256])
def test_good_webhook_secrets(env: pytest.MonkeyPatch, secret: str) -> None:
    env.setenv("WEBHOOK_URL", URL)
    env.setenv("WEBHOOK_SECRET", secret)
    settings = load_settings()
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == secret


def test_redis_url_scheme(env: pytest.MonkeyPatch) -> None:
    env.setenv("REDIS_URL", "http://localhost:6379")
    with pytest.raises(ConfigError, match="^Configuration error: REDIS_URL: "):
        load_settings()
    env.setenv("REDIS_URL", "redis://:pw@localhost:6379/2")
    assert load_settings().redis_url == "redis://:pw@localhost:6379/2"


@pytest.mark.parametrize(("extra", "start"), [
    ({"WEBHOOK_URL": URL}, "Configuration error: WEBHOOK_SECRET: "),
    ({"REDIS_URL": "redis://127.0.0.1:{port}/0"}, "Storage error: Redis (REDIS_URL): "),
])
def test_python_m_bot_stops_with_one_line(tmp_path: Path, extra: dict[str, str],
                                          start: str) -> None:
    env = {"BOT_TOKEN": "42:TEST", "PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path / "d"),
           **{k: v.format(port=free_port()) for k, v in extra.items()}}
    done = subprocess.run([*BOT_COMMAND], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), lines
