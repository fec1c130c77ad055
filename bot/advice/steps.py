"""Who to call next: the regional export contact, the first landing option, a financer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.advice.eligibility import AidVerdict, Eligibility
from bot.advice.landing import LandingAdvice
from bot.dialog.profile import Profile
from bot.kb.models import AidStatus, Contact, Source
from bot.kb.snapshot import KnowledgeBase


@dataclass(frozen=True)
class NextStep:
    key: str  # regional_tfe, national_tfe, landing, bpifrance
    name: str
    url: str
    source: Source | None
    contact: Contact | None = None


def next_steps(profile: Profile, kb: KnowledgeBase, landing: tuple[LandingAdvice, ...],
               verdicts: list[AidVerdict]) -> tuple[NextStep, ...]:
    steps: list[NextStep] = []
    region = kb.french_regions.get(profile.home_region) if profile.home_region else None
    if region and region.tfe_contact:
        steps.append(NextStep("regional_tfe", region.tfe_contact.name,
                              str(region.tfe_contact.url), region.source, region.tfe_contact))
    else:
        tfe = next((a for a in kb.aid.values() if a.kind == "support" and a.scope == "national"
                    and a.status is AidStatus.active), None)
        if tfe:
            steps.append(NextStep("national_tfe", tfe.name.fr, str(tfe.url), tfe.source,
                                  tfe.contact))
    if landing:
        first = landing[0].record
        steps.append(NextStep("landing", first.name, str(first.url), first.source, first.contact))
    for v in verdicts:
        if v.eligibility in (Eligibility.eligible, Eligibility.to_check) and v.aid.kind in (
                "insurance", "loan"):
            steps.append(NextStep("financing", v.aid.provider, str(v.aid.url), v.aid.source,
                                  v.aid.contact))
            break
    return tuple(steps)
