"""Routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    advisor,
    alerts,
    commands,
    errors,
    fallback,
    kb_admin,
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
    # kb_admin: admins only, before the questionnaire, so an admin's document is an upload
    # even mid-dialog; anyone else's falls through to the questionnaire and fallback.
    return [errors.build_router(), kb_admin.build_router(), advisor.build_router(),
            referral.build_router(), sharing.build_router(), commands.build_router(),
            privacy.build_router(), alerts.build_router(), questionnaire.build_router(),
            fallback.build_router()]
