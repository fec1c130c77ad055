"""Configuration: every setting read from the environment; bad values stop with one clear line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import BOT_COMMAND


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "ADMIN_IDS", "DEFAULT_LOCALE", "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.bot_token is None and settings.default_locale == "fr"
    assert settings.admin_ids == frozenset()


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:ABC-def")
    monkeypatch.setenv("ADMIN_IDS", " 11, 22 ,")
    monkeypatch.setenv("DEFAULT_LOCALE", "EN")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081")
    settings = load_settings()
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123456:ABC-def"
    assert settings.admin_ids == frozenset({11, 22}) and settings.default_locale == "en"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [("BOT_TOKEN", "not-a-token", "BOT_TOKEN"), ("ADMIN_IDS", "12,abc", "ADMIN_IDS"),
     ("DEFAULT_LOCALE", "de", "DEFAULT_LOCALE"), ("WEBHOOK_PORT", "99999", "WEBHOOK_PORT"),
     ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL"), ("LOG_LEVEL", "LOUD", "LOG_LEVEL")],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      name: str, value: str, fragment: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_bad_configuration_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    env = {"BOT_TOKEN": "nonsense", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*BOT_COMMAND], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: BOT_TOKEN")
