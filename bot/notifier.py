"""Aid alerts: when a new knowledge version opens schemes, tell each matching subscriber once,
paced under Telegram's limits (bot/pacing.py).

Several replicas (REDIS_URL) each run the same pass for a new version at about the same time;
each (subscriber, scheme) pair is claimed in the shared store just before it is sent, so the
replicas share the work and no pair is ever sent twice.

Telegram's broadcasting limits: about 30 messages per second overall and one per second per
chat (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this); we stay
at 25/s overall. A 429 is still honoured by the session's retry middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import LinkPreviewOptions

from bot.advice.alerts import matching, opened_schemes
from bot.advice.eligibility import AidVerdict
from bot.clock import SYSTEM_CLOCK, Clock
from bot.dialog.profile import Profile
from bot.kb.models import Aid
from bot.kb.snapshot import KnowledgeBase
from bot.pacing import Pacer, Pacing
from bot.render.keyboards import alert_keyboard
from bot.render.split import pack
from bot.render.templates import Renderer
from bot.storage.users import UserRepository

__all__ = ["AlertNotifier", "Pacer"]  # Pacer: bot/pacing.py, still importable from here

log = logging.getLogger(__name__)


def process_name() -> str:
    """Who claimed an alert, as recorded beside the claim: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class AlertNotifier:
    """A knowledge-version listener: sends alerts in the background, one task per version.

    Exactly once across replicas, at most once per pair: before writing to a subscriber, the
    notifier claims the pairs (subscriber, scheme) it found in the shared store
    (`UserRepository.claim_alerts`, a compare-and-set) and sends only those it won; pairs another
    replica claimed are skipped. Claims are taken one subscriber at a time, so a replica that
    dies mid-pass leaves the unclaimed rest to the others, which run the same pass. A pair
    claimed but not delivered (a crash or cancellation between claim and send, a refused send)
    is lost rather than ever sent twice. The "told" list in the subscription still stops a
    scheme being announced again after a rollback and re-apply."""

    def __init__(self, bot: Bot, renderer: Renderer, users: UserRepository,
                 default_locale: str = "fr", clock: Clock = SYSTEM_CLOCK,
                 pacer: Pacing | None = None, name: str | None = None) -> None:
        self.bot = bot
        self.renderer = renderer
        self.users = users
        self.default_locale = default_locale
        self.clock = clock
        self.pacer = pacer or Pacer()
        self.name = name or process_name()
        self._tasks: set[asyncio.Task[int]] = set()

    async def __call__(self, old: KnowledgeBase, new: KnowledgeBase) -> None:
        schemes = opened_schemes(old, new)
        if not schemes:
            return
        task = asyncio.create_task(self.notify(new, schemes), name=f"alerts-{new.version}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def notify(self, kb: KnowledgeBase, schemes: list[Aid]) -> int:
        """Tell every matching subscriber; returns how many were told."""
        today = self.clock.today()
        told = 0
        for user_id in await self.users.alert_subscribers():
            record = await self.users.get(user_id)
            subscription = (record or {}).get("alerts")
            if record is None or not subscription:
                await self.users.stop_alerts(user_id)  # a stale index entry
                continue
            if not record.get("active", True):
                continue
            already = frozenset(subscription.get("told") or ())
            found = matching(schemes, Profile.from_answers(subscription.get("answers") or {}),
                             today, already, kb)
            if found:
                won = set(await self.users.claim_alerts(user_id, [v.aid.id for v in found],
                                                        self.name))
                found = [v for v in found if v.aid.id in won]
            if found and await self._send(user_id, subscription, kb, found):
                told += 1
                await self._mark_told(user_id, [v.aid.id for v in found])
        log.info("alerts for %s: %d subscriber(s) told", kb.version, told)
        return told

    async def _send(self, user_id: int, subscription: dict[str, object], kb: KnowledgeBase,
                    found: list[AidVerdict]) -> bool:
        locale = str(subscription.get("locale") or self.default_locale)
        # today: the source line flags a page older than the base's horizon (⏳)
        text = self.renderer.render(locale, "alert_new_aid", verdicts=found, kb=kb,
                                    today=self.clock.today())
        parts = pack([text])
        try:
            for index, part in enumerate(parts):
                await self.pacer.wait(user_id)
                markup = (alert_keyboard(self.renderer, locale) if index == len(parts) - 1
                          else None)
                await self.bot.send_message(user_id, part, reply_markup=markup,
                                            link_preview_options=LinkPreviewOptions(
                                                is_disabled=True))
        except TelegramForbiddenError:  # blocked the bot: stop writing to them
            await self.users.set_active(user_id, False)
            return False
        except TelegramAPIError as exc:
            log.warning("alert to %s not sent: %s", user_id, exc)
            return False
        return True

    async def _mark_told(self, user_id: int, ids: list[str]) -> None:
        record = await self.users.get(user_id)  # re-read: they may have stopped meanwhile
        subscription = (record or {}).get("alerts")
        if subscription:
            before = list(subscription.get("told") or [])
            told = before + [i for i in ids if i not in before]
            await self.users.update(user_id, alerts={**subscription, "told": told})

    async def drain(self, timeout: float = 5.0) -> None:
        """Let alerts being sent finish (shutdown), then give up on the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if pending:
            log.warning("alerts interrupted by shutdown")
