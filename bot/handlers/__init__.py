"""Routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import commands, errors, fallback, privacy, questionnaire


def build_routers() -> list[Router]:
    """Fresh routers each call (a router can be attached to one dispatcher only)."""
    return [errors.build_router(), commands.build_router(), privacy.build_router(),
            questionnaire.build_router(), fallback.build_router()]
