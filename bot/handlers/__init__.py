"""Routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    advisor,
    commands,
    errors,
    fallback,
    privacy,
    questionnaire,
    referral,
    sharing,
)


def build_routers() -> list[Router]:
    """Fresh routers each call (a router can be attached to one dispatcher only)."""
    # advisor: before commands, so /start i_<code> (an invitation) is tried before /start.
    # referral, sharing: before commands too, for /start a_<code> (an advisor's link) and
    # /start s_<code> (a shared plan); any other payload falls through to the plain /start.
    return [errors.build_router(), advisor.build_router(), referral.build_router(),
            sharing.build_router(), commands.build_router(),
            privacy.build_router(), questionnaire.build_router(), fallback.build_router()]
