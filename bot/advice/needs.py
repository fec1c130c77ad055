"""What this export project needs, from the answers alone (pure): which schemes serve it.

The rules, in order of the vocabulary (bot/kb/models.py `Need`):
- prospection: always (every plan is about going to a new market);
- vie: a VIE is planned, or "maybe";
- office_abroad, advice: unless the company already has a structure abroad (stage "established");
- loan: a first-year budget that can reach 50,000 € (the smallest loan the base lists, the Prêt
  Croissance International's prudent minimum), or an unknown budget;
- large_contracts, contract_risk: only when the company says it signs export contracts of several
  million euros (never guessed: an unknown answer does not bring them);
- currency_risk: the target country's currency (ISO 4217) is not the euro, and the company
  already exports or signs large contracts (a first prospection invoices nothing yet).
A scheme that declares no need serves any project.
"""

from __future__ import annotations

from bot.dialog.profile import Profile
from bot.kb.models import Aid, Need
from bot.kb.snapshot import KnowledgeBase

LOAN_FROM_EUR = 50_000
EURO = "EUR"


def _budget_can_reach(profile: Profile, amount: float) -> bool:
    if profile.budget_eur is not None:
        return profile.budget_eur >= amount
    band = profile.budget
    return band is None or band.high is None or band.high >= amount


def currency_of(profile: Profile, kb: KnowledgeBase) -> str | None:
    """The ISO 4217 currency of the target country, None when unknown."""
    country = kb.countries.get(profile.country or "")
    return country.currency if country is not None else None


def profile_needs(profile: Profile, kb: KnowledgeBase) -> frozenset[Need]:
    needs = {Need.prospection}
    if profile.vie in ("yes", "maybe"):
        needs.add(Need.vie)
    if profile.stage != "established":
        needs.update((Need.office_abroad, Need.advice))
    if _budget_can_reach(profile, LOAN_FROM_EUR):
        needs.add(Need.loan)
    if profile.large_contracts:
        needs.update((Need.large_contracts, Need.contract_risk))
    currency = currency_of(profile, kb)
    if currency is not None and currency != EURO and (
            profile.stage in ("exporting", "established") or profile.large_contracts):
        needs.add(Need.currency_risk)
    return frozenset(needs)


def serves(aid: Aid, needs: frozenset[Need]) -> bool:
    """Whether the scheme serves one of these needs (a scheme declaring none serves any)."""
    return not aid.needs or any(n in needs for n in aid.needs)
