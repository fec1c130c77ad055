"""No filter or handler of the bot runs in a worker thread (aiogram sends plain callables,
magic filters included, through asyncio.to_thread: a thread hop per update)."""

from __future__ import annotations

from aiogram import Router

from bot.app import App


def sync_callables(router: Router) -> list[str]:
    found = []
    for name, observer in router.observers.items():
        for handler in (observer._handler, *observer.handlers):
            if handler is not observer._handler and not handler.awaitable:
                found.append(f"{router.name}.{name}: handler {handler.callback}")
            for event_filter in handler.filters or ():
                if not event_filter.awaitable:
                    found.append(f"{router.name}.{name}: filter {event_filter.callback}")
    for sub in router.sub_routers:
        found.extend(sync_callables(sub))
    return found


async def test_every_filter_and_handler_runs_on_the_event_loop(app: App) -> None:
    routers = app.dispatcher.sub_routers
    assert len(routers) >= 10
    assert sync_callables(app.dispatcher) == []
