"""Which links may stand for an organisation: press hosts are sources, never a contact."""

from __future__ import annotations

from urllib.parse import urlsplit

PRESS_HOSTS = frozenset({
    # News sites, blogs and personal pages found among the knowledge base's sources. A page
    # there can prove a fact; it is never an organisation's own site.
    "20minutes.fr", "acteursdeleconomie.latribune.fr", "actualites-cci.com",
    "afrique.medias24.com", "alliancesolidaire.org", "alliancy.fr", "beaboss.fr",
    "biperra-production.fr", "bonite.fr", "br.rfi.fr", "cci-news.com", "channelnews.fr",
    "cscience.ca", "destimed.fr", "draperstartuphouse.com", "dynamicbusiness.com",
    "echodumardi.com", "econews.pt", "econostrum.info", "editor.centreo.hk", "empreendedor.com",
    "enoxxnews.com", "equinoxmagazine.fr", "expat.com", "finovup.fr", "forbes.fr",
    "fr.nhandan.vn", "francaisaletranger.fr", "france-amerique.com", "french-connect.com",
    "frenchmorning.com", "ftige.ch", "fungglobalretailtech.com", "gruenden.ch", "i24news.tv",
    "industrie-techno.com", "israelscienceinfo.com", "israelvalley.com", "jean-zuccarelli.info",
    "jornada.com.mx", "koreaherald.com", "l-express.ca", "lagazettefrance.fr", "latestly.com",
    "latribune.fr", "lavap.blogspot.com", "law.ch", "lematin.ma", "lemetropolitain.com",
    "lemoci.com", "lepetitjournal.com", "lesoleil.sn", "loutardeliberee.info", "m.sedaily.com",
    "maddyness.com", "mercisf.com", "netpme.fr", "oliviercadic.com",
    "opinion-internationale.com", "patrick.guenin2.free.fr", "publico.pt", "regional-it.be",
    "reseau-healthtech.fr", "revistapegn.globo.com", "rfi.fr", "rse-magazine.com",
    "selected.sesamers.com", "societe.com", "startupbrics.com", "straitstimes.com",
    "sudquotidien.sn", "telemesstation.com", "telquel.ma", "tendanceouest.com",
    "usine-digitale.fr", "visaforeb5.com", "voyages-d-affaires.com", "weblex.fr",
    "yabiladi.com", "yannlebeux.com", "zdnet.com",
})

NATIONAL_TFE_HOST = "teamfrance-export.fr"
"""Team France Export's site: its homepage is the national one, regional pages are below it."""


def host(url: object) -> str:
    """The host of a URL, lowercase, without a leading "www."."""
    return (urlsplit(str(url)).hostname or "").removeprefix("www.")


def is_press(url: object) -> bool:
    """Whether the URL is on a press host (or one of its subdomains)."""
    name = host(url)
    return any(name == h or name.endswith("." + h) for h in PRESS_HOSTS)


def is_national_tfe_home(url: object) -> bool:
    """Whether the URL is Team France Export's national homepage (not a regional page)."""
    parts = urlsplit(str(url))
    return host(url) == NATIONAL_TFE_HOST and parts.path in ("", "/") and not parts.query
