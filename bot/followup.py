"""Follow-ups: a plan's owner asks to be reminded; after `FOLLOW_UP_AFTER` seconds the bot asks
once whether they contacted the plan's first action (✅ done, ⏳ not yet: one more reminder after
the same delay, then never again, 🆘 I need help).

A follow-up is one record per user in the KeyValue store ("followups", bot/storage/users.py), so
it survives restarts and is shared by replicas on Redis. Status: "pending" (waiting for its
`due` time), "sending" (claimed by one process), "asked" (the question is out, its buttons
live), "answered" (an answer won; about to be removed or rescheduled). Each step is a
compare-and-set (`KeyValue.replace`): a due follow-up is sent by one process only, once; a
button is answered once. A follow-up claimed but not delivered (a crash, a refused send) is
dropped rather than ever sent twice; a user who blocked the bot is marked inactive.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import LinkPreviewOptions

from bot.clock import SYSTEM_CLOCK, Clock
from bot.notifier import process_name
from bot.pacing import Pacer, Pacing
from bot.render.keyboards import followup_keyboard
from bot.render.templates import Renderer
from bot.storage.keyvalue import KeyValue
from bot.storage.users import FOLLOWUPS_NAMESPACE, UserRepository

log = logging.getLogger(__name__)
LAST_ROUND = 2  # the question, and one reminder after "not yet"
LIVE = ("pending", "sending", "asked")


def new_token() -> str:
    return secrets.token_urlsafe(6)[:8]


class FollowUps:
    """The stored follow-ups, by user id."""

    def __init__(self, kv: KeyValue, clock: Clock = SYSTEM_CLOCK,
                 delay: float = 7 * 86400) -> None:
        self.kv = kv
        self.clock = clock
        self.delay = delay

    def _due(self) -> str:
        return (self.clock.now() + dt.timedelta(seconds=self.delay)).isoformat()

    async def get(self, user_id: int) -> dict[str, Any] | None:
        found = await self.kv.get(FOLLOWUPS_NAMESPACE, str(user_id))
        return dict(found) if isinstance(found, dict) else None

    async def schedule(self, user_id: int, *, plan: str, who: str | None, locale: str,
                       home_region: str | None, code: str | None) -> bool:
        """Ask about this plan after the delay; False when this plan already has a follow-up
        (another plan's is replaced)."""
        current = await self.get(user_id)
        if current is not None and current.get("plan") == plan and current.get("status") in LIVE:
            return False
        await self.kv.put(FOLLOWUPS_NAMESPACE, str(user_id), {
            "status": "pending", "due": self._due(), "round": 1, "plan": plan, "who": who,
            "locale": locale, "home_region": home_region, "code": code, "token": new_token(),
            "requested": self.clock.stamp()})
        return True

    async def due(self) -> list[tuple[int, dict[str, Any]]]:
        """The pending follow-ups whose time has come."""
        now = self.clock.now()
        found = []
        async for key in self.kv.keys(FOLLOWUPS_NAMESPACE):
            record = await self.kv.get(FOLLOWUPS_NAMESPACE, key)
            if (key.lstrip("-").isdigit() and isinstance(record, dict)
                    and record.get("status") == "pending"
                    and dt.datetime.fromisoformat(str(record["due"])) <= now):
                found.append((int(key), dict(record)))
        return found

    async def claim(self, user_id: int, record: dict[str, Any],
                    by: str) -> dict[str, Any] | None:
        """The follow-up, now "sending" for `by`; None when another process took it first."""
        claimed = {**record, "status": "sending", "by": by, "claimed_at": self.clock.stamp()}
        won = await self.kv.replace(FOLLOWUPS_NAMESPACE, str(user_id), record, claimed)
        return claimed if won else None

    async def asked(self, user_id: int, record: dict[str, Any]) -> None:
        await self.kv.replace(FOLLOWUPS_NAMESPACE, str(user_id), record,
                              {**record, "status": "asked", "asked": self.clock.stamp()})

    async def answer(self, user_id: int, token: str) -> dict[str, Any] | None:
        """The asked follow-up these buttons belong to, now "answered"; None when the buttons
        are stale (answered already, another question since, forgotten)."""
        record = await self.get(user_id)
        if record is None or record.get("status") != "asked" or record.get("token") != token:
            return None
        if not await self.kv.replace(FOLLOWUPS_NAMESPACE, str(user_id), record,
                                     {**record, "status": "answered"}):
            return None
        return record

    async def again(self, user_id: int, record: dict[str, Any]) -> None:
        """"Not yet": the next round after the same delay."""
        await self.kv.put(FOLLOWUPS_NAMESPACE, str(user_id), {
            **{k: v for k, v in record.items() if k not in ("by", "claimed_at", "asked")},
            "status": "pending", "due": self._due(), "round": int(record.get("round", 1)) + 1,
            "token": new_token()})

    async def drop(self, user_id: int) -> None:
        await self.kv.delete(FOLLOWUPS_NAMESPACE, str(user_id))


class FollowUpRunner:
    """Sends due follow-ups from a background task started and stopped with the dispatcher;
    it looks every `interval` seconds (default: a quarter of the delay, at most 30 s)."""

    def __init__(self, bot: Bot, renderer: Renderer, users: UserRepository,
                 followups: FollowUps, pacer: Pacing | None = None,
                 interval: float | None = None, name: str | None = None) -> None:
        self.bot = bot
        self.renderer = renderer
        self.users = users
        self.followups = followups
        self.pacer = pacer or Pacer()
        self.interval = interval if interval is not None else min(followups.delay / 4, 30.0)
        self.name = name or process_name()
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Send every due follow-up this process wins; how many were sent."""
        sent = 0
        for user_id, record in await self.followups.due():
            claimed = await self.followups.claim(user_id, record, self.name)
            if claimed is not None and await self._send(user_id, claimed):
                sent += 1
        return sent

    async def _send(self, user_id: int, record: dict[str, Any]) -> bool:
        locale = str(record.get("locale") or "fr")
        text = self.renderer.render(locale, "followup_ask", who=record.get("who"),
                                    round=record.get("round", 1), last=LAST_ROUND)
        try:
            await self.pacer.wait(user_id)
            await self.bot.send_message(
                user_id, text, reply_markup=followup_keyboard(self.renderer, locale,
                                                              str(record["token"])),
                link_preview_options=LinkPreviewOptions(is_disabled=True))
        except TelegramForbiddenError:  # blocked the bot: stop writing to them
            await self.users.set_active(user_id, False)
            await self.followups.drop(user_id)
            return False
        except TelegramAPIError as exc:
            log.warning("follow-up to %s not sent: %s", user_id, exc)
            await self.followups.drop(user_id)
            return False
        await self.followups.asked(user_id, record)
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("follow-ups not sent")
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="follow-ups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
