"""Advisors, their links, referrals and hand-offs, on the KeyValue backend.

Deep-link payloads (t.me/<bot>?start=PAYLOAD, 1-64 chars of A-Z a-z 0-9 _ -) carry only an opaque
code; the server maps it to an advisor and a prefill. Payload kinds: 'a_<code>' an advisor's link,
'i_<code>' an invitation to become an advisor, 's_<code>' a shared plan.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.clock import SYSTEM_CLOCK, Clock
from bot.storage.keyvalue import KeyValue

PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CODE = re.compile(r"^[A-Za-z0-9]{6,16}$")
KINDS = {"a": "link", "i": "invite", "s": "share"}
STATS = ("started", "completed", "shared", "followup", "done", "help")


def new_code() -> str:
    """10 characters from a 62-letter alphabet: about 59 bits, not guessable."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


@dataclass(frozen=True)
class Payload:
    kind: str  # link, invite, share
    code: str


def upgrade_referral(record: dict[str, Any]) -> dict[str, Any]:
    """A referral stored before `handoffs` kept one consent (consent, handoff_message): read it
    as a list of one advisor, or none."""
    if isinstance(record.get("handoffs"), list):
        return record
    handoffs = []
    if record.get("consent") is True and record.get("advisor_id") is not None:
        handoffs.append({"advisor_id": record["advisor_id"], "token": record.get("token"),
                         "message": record.get("handoff_message"),
                         "consented": record.get("consented")})
    record.pop("handoff_message", None)
    record["handoffs"] = handoffs
    return record


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
        """event: started, completed, shared; followup (a plan asked for a follow-up), done,
        help (its answers). An atomic increment: none is lost to another
        replica counting the same link at the same moment."""
        await self.kv.incr("stats", code, event)

    async def stats(self, code: str) -> dict[str, int]:
        found = await self.kv.get("stats", code) or {}
        return {k: int(found.get(k, 0)) for k in STATS}

    # --- referrals and hand-offs ---------------------------------------------------------------
    # A referral (by client id): the link the client last opened (code, advisor_id), the
    # question about it (token, consent: None unanswered, True, False) and `handoffs`, every
    # advisor who received the client's answers and still holds their consent (advisor_id,
    # token of the question answered, message sent, consented). Opening another link never
    # touches `handoffs`: only a withdrawal or /forget empties it.

    async def referral(self, client_id: int) -> dict[str, Any] | None:
        found = await self.kv.get("referrals", str(client_id))
        return upgrade_referral(dict(found)) if isinstance(found, dict) else None

    async def set_referral(self, client_id: int, **fields: Any) -> dict[str, Any]:
        record = await self.referral(client_id) or {"client_id": client_id,
                                                    "created": self.clock.stamp(),
                                                    "handoffs": []}
        record.update(fields, updated=self.clock.stamp())
        await self.kv.put("referrals", str(client_id), record)
        return record

    async def open_referral(self, client_id: int, code: str, advisor_id: int) -> dict[str, Any]:
        """The client opened this advisor's link: it becomes the current one, its question
        unanswered unless that advisor already holds the client's consent. Buttons of an earlier
        question go stale; earlier hand-offs are kept."""
        record = await self.referral(client_id)
        holds = record is not None and any(
            h.get("advisor_id") == advisor_id for h in record["handoffs"])
        return await self.set_referral(client_id, code=code, advisor_id=advisor_id,
                                       consent=True if holds else None, token=None)

    async def add_handoff(self, client_id: int, advisor_id: int, token: str) -> dict[str, Any]:
        """Consent given to this advisor (recorded before anything is sent)."""
        record = await self.referral(client_id) or {}
        handoffs = [h for h in record.get("handoffs", []) if h.get("advisor_id") != advisor_id]
        handoffs.append({"advisor_id": advisor_id, "token": token, "message": None,
                         "consented": self.clock.stamp()})
        return await self.set_referral(client_id, consent=True, consented=self.clock.stamp(),
                                       handoffs=handoffs)

    async def set_handoff_message(self, client_id: int, advisor_id: int,
                                  message_id: int | list[int] | None) -> None:
        """The message(s) a hand-off sent the advisor, to delete if consent is withdrawn."""
        record = await self.referral(client_id)
        if record is None:
            return
        handoffs = [{**h, "message": message_id} if h.get("advisor_id") == advisor_id else h
                    for h in record["handoffs"]]
        await self.set_referral(client_id, handoffs=handoffs)

    async def withdraw_consent(self, client_id: int) -> list[dict[str, Any]]:
        """Consent withdrawn from every advisor who received the answers; returns them."""
        record = await self.referral(client_id)
        if record is None or not record["handoffs"]:
            return []
        consent = False if record.get("consent") is True else record.get("consent")
        await self.set_referral(client_id, handoffs=[], consent=consent,
                                withdrawn=self.clock.stamp())
        return list(record["handoffs"])

    async def drop_referral(self, client_id: int) -> None:
        await self.kv.delete("referrals", str(client_id))

    # --- forgetting ----------------------------------------------------------------------------

    async def forget(self, user_id: int, shares: Iterable[str] = ()) -> None:
        """/forget, after the user's own referral is dealt with: the plans they shared, their
        id in invitations and in other clients' referrals, then their advisor account with its
        links and counts (last, so an interrupted /forget done again finds it all)."""
        for code in shares:
            await self.kv.delete("shares", str(code))
        for code in [key async for key in self.kv.keys("invites")]:
            invite = await self.kv.get("invites", code)
            if not isinstance(invite, dict):
                continue
            if invite.get("used_by") == user_id:
                await self.kv.delete("invites", code)  # used: it can serve no one else anyway
            elif invite.get("created_by") == user_id:
                await self.kv.put("invites", code, {**invite, "created_by": None})
        advisor = await self.advisor(user_id)
        if advisor is None:
            return
        for key in [key async for key in self.kv.keys("referrals")]:
            found = await self.kv.get("referrals", key)
            if isinstance(found, dict):
                await self._forget_advisor_in(upgrade_referral(dict(found)), key, user_id)
        for code in advisor.get("links") or ():
            await self.kv.delete("links", str(code))
            await self.kv.delete("stats", str(code))
        await self.kv.delete("advisors", str(user_id))

    async def _forget_advisor_in(self, record: dict[str, Any], key: str, advisor_id: int) -> None:
        """Another client's referral without this advisor: no longer among those who received
        the answers, and no longer the current link (its question goes stale)."""
        handoffs = [h for h in record["handoffs"] if h.get("advisor_id") != advisor_id]
        current = record.get("advisor_id") == advisor_id
        if not current and len(handoffs) == len(record["handoffs"]):
            return
        record["handoffs"] = handoffs
        if current:
            for name in ("advisor_id", "code", "token"):
                record[name] = None
        record["updated"] = self.clock.stamp()
        await self.kv.put("referrals", key, record)

    # --- shared plans --------------------------------------------------------------------------

    async def create_share(self, user_id: int, answers: dict[str, str], kb_version: str) -> str:
        code = new_code()
        await self.kv.put("shares", code, {"user_id": user_id, "answers": answers,
                                           "kb_version": kb_version, "created": self.clock.stamp()})
        return code

    async def share(self, code: str) -> dict[str, Any] | None:
        found = await self.kv.get("shares", code)
        return dict(found) if isinstance(found, dict) else None
