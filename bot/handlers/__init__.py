"""Routers, in the order they are tried."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router

from bot.handlers import (
    advisor,
    alerts,
    commands,
    compare,
    errors,
    fallback,
    followup,
    groups,
    kb_admin,
    plan,
    privacy,
    questionnaire,
    referral,
    sharing,
)


def _on_the_loop(resolve: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
    async def check(event: Any) -> Any:
        return resolve(event)

    return check


def run_filters_inline(router: Router) -> Router:
    """Evaluate magic filters (F...) on the event loop.

    aiogram awaits any plain callable through asyncio.to_thread (CallableObject.call in
    aiogram/dispatcher/event/handler.py), magic filters included: a thread hop per filter per
    update, about 40 % of the bot's time under load (py-spy, issue 7). They only read
    attributes of the update, so they run inline here. A test checks no filter or handler is
    left to a thread.
    """
    for observer in router.observers.values():
        # _handler holds the router-level filters (router.message.filter(...)).
        for handler in (observer._handler, *observer.handlers):
            for event_filter in handler.filters or ():
                if event_filter.magic is not None and not event_filter.awaitable:
                    event_filter.callback = _on_the_loop(event_filter.magic.resolve)
                    event_filter.awaitable = True
    for sub in router.sub_routers:
        run_filters_inline(sub)
    return router


def build_routers() -> list[Router]:
    """Fresh routers each call (a router can be attached to one dispatcher only)."""
    # advisor: before commands, so /start i_<code> (an invitation) is tried before /start.
    # referral, sharing: before commands too, for /start a_<code> (an advisor's link) and
    # /start s_<code> (a shared plan); any other payload falls through to the plain /start.
    # kb_admin: admins only, before the questionnaire, so an admin's document is an upload
    # even mid-dialog; anyone else's falls through to the questionnaire and fallback.
    # compare: before the questionnaire, whose dialog is done while a destination to compare
    # with is asked (its buttons and typed places are the comparison's).
    # groups: first for buttons, so a press outside a private chat reaches no other handler.
    routers = [groups.build_router(), errors.build_router(), kb_admin.build_router(),
               advisor.build_router(), referral.build_router(), sharing.build_router(),
               commands.build_router(), privacy.build_router(), alerts.build_router(),
               compare.build_router(), plan.build_router(), followup.build_router(),
               questionnaire.build_router(), fallback.build_router()]
    return [run_filters_inline(router) for router in routers]
