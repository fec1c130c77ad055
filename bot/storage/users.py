"""Users repository on any KeyValue backend: one record per Telegram user.

A record: id, locale (chosen with /language), active (False once the user blocked the bot),
created and updated times, last_plan (the answers and knowledge version of the latest plan),
alerts (when subscribed to new aid: the answers to match, the schemes already told about).
Subscribers are also listed in their own namespace, so sending alerts does not scan every user.
The alerts claimed for a user (which scheme, when, by which process: see bot/notifier.py) are one
record per user in "alert-claims", deleted with the user, as is the user's follow-up
("followups", bot/followup.py).
"""

from __future__ import annotations

from typing import Any

from bot.clock import SYSTEM_CLOCK, Clock
from bot.storage.keyvalue import KeyValue

NAMESPACE = "users"
ALERTS_NAMESPACE = "alerts"
CLAIMS_NAMESPACE = "alert-claims"
FOLLOWUPS_NAMESPACE = "followups"


class UserRepository:
    def __init__(self, kv: KeyValue, clock: Clock = SYSTEM_CLOCK) -> None:
        self.kv = kv
        self.clock = clock

    async def get(self, user_id: int) -> dict[str, Any] | None:
        found = await self.kv.get(NAMESPACE, str(user_id))
        return dict(found) if isinstance(found, dict) else None

    async def update(self, user_id: int, **fields: Any) -> dict[str, Any]:
        """Merge fields into the record (created on first use); returns the new record."""
        record = await self.get(user_id) or {"id": user_id, "created": self.clock.stamp(),
                                             "active": True}
        record.update(fields, updated=self.clock.stamp())
        await self.kv.put(NAMESPACE, str(user_id), record)
        return record

    async def locale(self, user_id: int) -> str | None:
        record = await self.get(user_id)
        return record.get("locale") if record else None

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.update(user_id, locale=locale)

    async def touch(self, user_id: int) -> dict[str, Any]:
        """The user's record: created on a first visit, a returning user marked active; no write
        otherwise (this runs on every update)."""
        record = await self.get(user_id)
        if record is None or not record.get("active", True):
            record = await self.update(user_id, active=True)
        return record

    async def set_active(self, user_id: int, active: bool) -> None:
        await self.update(user_id, active=active)

    async def delete(self, user_id: int) -> None:
        await self.kv.delete(FOLLOWUPS_NAMESPACE, str(user_id))
        await self.kv.delete(CLAIMS_NAMESPACE, str(user_id))
        await self.kv.delete(ALERTS_NAMESPACE, str(user_id))
        await self.kv.delete(NAMESPACE, str(user_id))

    async def subscribe_alerts(self, user_id: int, answers: dict[str, str], kb_version: str,
                               since: str, locale: str) -> dict[str, Any]:
        """Alerts for new aid matching these answers (replacing any earlier subscription)."""
        record = await self.update(user_id, alerts={
            "answers": answers, "kb_version": kb_version, "since": since, "locale": locale,
            "told": []})
        await self.kv.put(ALERTS_NAMESPACE, str(user_id), 1)
        return record

    async def stop_alerts(self, user_id: int) -> bool:
        """False when there was no subscription."""
        await self.kv.delete(ALERTS_NAMESPACE, str(user_id))
        record = await self.get(user_id)
        if record is None or not record.get("alerts"):
            return False
        await self.update(user_id, alerts=None)
        return True

    async def alert_subscribers(self) -> list[int]:
        return [int(key) async for key in self.kv.keys(ALERTS_NAMESPACE) if key.isdigit()]

    async def alert_claims(self, user_id: int) -> dict[str, Any] | None:
        """The schemes claimed for this user: id -> {"claimed_at", "by"}; None if none."""
        found = await self.kv.get(CLAIMS_NAMESPACE, str(user_id))
        return dict(found) if isinstance(found, dict) and found else None

    async def claim_alerts(self, user_id: int, scheme_ids: list[str], by: str) -> list[str]:
        """Claim the telling of these schemes to this user: the ids nobody claimed before, now
        claimed by `by`. One compare-and-set of the user's claims, retried when another process
        changed them meanwhile, so however many processes ask at once each id is won once."""
        key = str(user_id)
        while True:
            current = await self.kv.get(CLAIMS_NAMESPACE, key)
            claims = dict(current) if isinstance(current, dict) else {}
            fresh = [i for i in dict.fromkeys(scheme_ids) if i not in claims]
            if not fresh:
                return []
            mark = {"claimed_at": self.clock.stamp(), "by": by}
            if await self.kv.replace(CLAIMS_NAMESPACE, key, current,
                                     {**claims, **{i: mark for i in fresh}}):
                return fresh
