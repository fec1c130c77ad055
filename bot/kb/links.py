"""Which links may stand for an organisation, and how far a source's host can be trusted. The
classified hosts are data (knowledge/source_policy.json, `SourcePolicy`); this module applies
them."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from bot.kb.models import SourceClass, SourcePolicy

NATIONAL_TFE_HOST = "teamfrance-export.fr"
"""Team France Export's site: its homepage is the national one, regional pages are below it."""

NOT_OWN_SITE = frozenset({SourceClass.aggregator, SourceClass.press, SourceClass.weak})
"""Hosts that can prove a fact but never stand for an organisation (its link or contact)."""


def host(url: object) -> str:
    """The host of a URL, lowercase, without a leading "www."."""
    return (urlsplit(str(url)).hostname or "").removeprefix("www.")


def listed_class(policy: SourcePolicy, url: object) -> SourceClass | None:
    """The class the policy gives the URL's host (or a parent domain), else None."""
    entry = policy.classify(host(url))
    return entry.class_ if entry else None


def source_class(policy: SourcePolicy, url: object,
                 own: Iterable[object] = ()) -> SourceClass | None:
    """A source's class for one record: the listed class of its host, else primary when the
    host is the record's own site (`own`: the record's url and contact links), else None
    (unclassified)."""
    listed = listed_class(policy, url)
    if listed is not None:
        return listed
    name = host(url)
    if name and any(name == host(o) for o in own if o):
        return SourceClass.primary
    return None


def is_not_own_site(policy: SourcePolicy, url: object) -> bool:
    """Whether the URL is on a press, aggregator or weak host (or one of their subdomains)."""
    return listed_class(policy, url) in NOT_OWN_SITE


def own_link(policy: SourcePolicy, *candidates: object) -> str | None:
    """The first candidate that can stand for the organisation (never a press page...)."""
    for candidate in candidates:
        if candidate and not is_not_own_site(policy, candidate):
            return str(candidate)
    return None


def is_national_tfe_home(url: object) -> bool:
    """Whether the URL is Team France Export's national homepage (not a regional page)."""
    parts = urlsplit(str(url))
    return host(url) == NATIONAL_TFE_HOST and parts.path in ("", "/") and not parts.query
