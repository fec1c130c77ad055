"""Advisors, their links, referrals and hand-offs, on the KeyValue backend.

Deep-link payloads (t.me/<bot>?start=PAYLOAD, 1-64 chars of A-Z a-z 0-9 _ -) carry only an opaque
code; the server maps it to an advisor and a prefill. Payload kinds: 'a_<code>' an advisor's link,
'i_<code>' an invitation to become an advisor, 's_<code>' a shared plan.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from bot.clock import SYSTEM_CLOCK, Clock
from bot.storage.keyvalue import KeyValue

PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CODE = re.compile(r"^[A-Za-z0-9]{6,16}$")
KINDS = {"a": "link", "i": "invite", "s": "share"}


def new_code() -> str:
    """10 characters from a 62-letter alphabet: about 59 bits, not guessable."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


@dataclass(frozen=True)
class Payload:
    kind: str  # link, invite, share
    code: str


def parse_payload(raw: str | None) -> Payload | None:
    """A well-formed payload, or None (malformed, oversized, unknown kind): never an error."""
    if not raw or not PAYLOAD.match(raw):
        return None
    prefix, _, code = raw.partition("_")
    kind = KINDS.get(prefix)
    if kind is None or not CODE.match(code):
        return None
    return Payload(kind, code)


class AdvisorRepository:
    """Namespaces: advisors (by user id), invites, links, stats (by link code),
    referrals (by client user id), shares (by share code)."""

    def __init__(self, kv: KeyValue, clock: Clock = SYSTEM_CLOCK) -> None:
        self.kv = kv
        self.clock = clock

    # --- advisors ------------------------------------------------------------------------------

    async def advisor(self, user_id: int) -> dict[str, Any] | None:
        found = await self.kv.get("advisors", str(user_id))
        return dict(found) if isinstance(found, dict) else None

    async def active_advisor(self, user_id: int) -> dict[str, Any] | None:
        found = await self.advisor(user_id)
        return found if found and found.get("active") else None

    async def register(self, user_id: int, name: str, organisation: str) -> dict[str, Any]:
        record = await self.advisor(user_id) or {"id": user_id, "created": self.clock.stamp(),
                                                 "links": []}
        record.update(name=name.strip()[:80], organisation=organisation.strip()[:80],
                      active=True, updated=self.clock.stamp())
        await self.kv.put("advisors", str(user_id), record)
        return record

    async def set_active(self, user_id: int, active: bool) -> bool:
        record = await self.advisor(user_id)
        if record is None:
            return False
        record.update(active=active, updated=self.clock.stamp())
        await self.kv.put("advisors", str(user_id), record)
        return True

    async def all_advisors(self) -> list[dict[str, Any]]:
        """Every advisor record, active or not, by user id."""
        records = [await self.advisor(int(key)) async for key in self.kv.keys("advisors")
                   if key.lstrip("-").isdigit()]
        return sorted((r for r in records if r is not None), key=lambda r: int(r["id"]))

    # --- invitations ---------------------------------------------------------------------------

    async def create_invite(self, created_by: int | None, organisation: str = "") -> str:
        code = new_code()
        await self.kv.put("invites", code, {"created_by": created_by, "created": self.clock.stamp(),
                                            "organisation": organisation.strip()[:80]})
        return code

    async def redeem_invite(self, code: str, user_id: int, name: str) -> dict[str, Any] | None:
        """Make this user an advisor with a one-time code; None if the code is not valid.
        Marking it used is a compare-and-set: of several people redeeming it at once (several
        replicas on Redis), exactly one becomes an advisor."""
        invite = await self.kv.get("invites", code)
        if not isinstance(invite, dict) or invite.get("used_by"):
            return None
        used = {**invite, "used_by": user_id, "used": self.clock.stamp()}
        if not await self.kv.replace("invites", code, invite, used):
            return None  # redeemed by someone else in the meantime
        return await self.register(user_id, name, invite.get("organisation", ""))

    # --- links ---------------------------------------------------------------------------------

    async def create_link(self, advisor_id: int, prefill: dict[str, str]) -> str:
        """A link code for this advisor and prefill (sector, target_region, target_country,
        target_city ids); the same prefill gives back the same code."""
        record = await self.advisor(advisor_id)
        if record is None:
            raise KeyError(advisor_id)
        for code in record.get("links", []):
            link = await self.link(code)
            if link and link.get("prefill") == prefill:
                return code
        code = new_code()
        await self.kv.put("links", code, {"advisor_id": advisor_id, "prefill": prefill,
                                          "created": self.clock.stamp()})
        record["links"] = [*record.get("links", []), code]
        await self.kv.put("advisors", str(advisor_id), record)
        return code

    async def link(self, code: str) -> dict[str, Any] | None:
        found = await self.kv.get("links", code)
        return dict(found) if isinstance(found, dict) else None

    async def count(self, code: str, event: str) -> None:
        """event: started, completed, shared. An atomic increment: none is lost to another
        replica counting the same link at the same moment."""
        await self.kv.incr("stats", code, event)

    async def stats(self, code: str) -> dict[str, int]:
        found = await self.kv.get("stats", code) or {}
        return {k: int(found.get(k, 0)) for k in ("started", "completed", "shared")}

    # --- referrals and hand-offs ---------------------------------------------------------------

    async def referral(self, client_id: int) -> dict[str, Any] | None:
        found = await self.kv.get("referrals", str(client_id))
        return dict(found) if isinstance(found, dict) else None

    async def set_referral(self, client_id: int, **fields: Any) -> dict[str, Any]:
        record = await self.referral(client_id) or {"client_id": client_id,
                                                    "created": self.clock.stamp()}
        record.update(fields, updated=self.clock.stamp())
        await self.kv.put("referrals", str(client_id), record)
        return record

    async def drop_referral(self, client_id: int) -> None:
        await self.kv.delete("referrals", str(client_id))

    # --- shared plans --------------------------------------------------------------------------

    async def create_share(self, user_id: int, answers: dict[str, str], kb_version: str) -> str:
        code = new_code()
        await self.kv.put("shares", code, {"user_id": user_id, "answers": answers,
                                           "kb_version": kb_version, "created": self.clock.stamp()})
        return code

    async def share(self, code: str) -> dict[str, Any] | None:
        found = await self.kv.get("shares", code)
        return dict(found) if isinstance(found, dict) else None
