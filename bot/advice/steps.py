"""Who to call next: the regional export contact, the first landing option, a financer.

Every link here goes to the organisation's own site: a landing option with no known site of its
own is named without a link and reached through Team France Export; a press page is never a
contact (`bot.kb.links`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.advice.eligibility import OFFERED, AidVerdict
from bot.advice.landing import LandingAdvice
from bot.dialog.profile import Profile
from bot.kb.links import own_link
from bot.kb.models import AidStatus, Contact, Source, Text
from bot.kb.snapshot import KnowledgeBase


@dataclass(frozen=True)
class NextStep:
    # regional_tfe, national_tfe, landing, landing_via_tfe (no site of its own), financing
    key: str
    name: str  # as the base names it (a landing option's or contact's name is one string)
    url: str | None  # None: no page of the organisation's own is known; the name is shown
    source: Source | None
    contact: Contact | None = None
    region: str | None = None  # national_tfe: the home region whose team to ask for
    title: Text | None = None  # the name in each language, when the base words it so


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
            url = own_link(kb.source_policy, tfe.contact and tfe.contact.url, tfe.url)
            steps.append(NextStep("national_tfe", tfe.name.fr, url, tfe.source, tfe.contact,
                                  region.id if region else None, tfe.name))
    if landing:
        first = landing[0].record
        url = own_link(kb.source_policy, first.contact and first.contact.url, first.url)
        steps.append(NextStep("landing" if url else "landing_via_tfe", first.name, url,
                              first.source, first.contact))
    for v in verdicts:
        if v.eligibility in OFFERED and v.aid.kind in (
                "insurance", "loan"):
            steps.append(NextStep("financing", v.aid.provider,
                                  own_link(kb.source_policy, v.aid.contact and v.aid.contact.url,
                                           v.aid.url), v.aid.source,
                                  v.aid.contact))
            break
    return tuple(steps)
