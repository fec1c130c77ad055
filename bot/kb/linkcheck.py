"""`python -m bot kb check --links`: is every URL of the knowledge base still there?

The admins' monthly check. `collect_urls` finds every URL a record holds (its sources, its
link, its contact's, a region's Team France Export contact, the VIE cost quotes) by walking the
models, so a field added to the schema is checked without a change here. `check_links` asks
each distinct URL once, a few at a time: HEAD first, GET when HEAD is refused or fails,
redirects followed. `write_reports` writes what it found, as text for a person and as JSON.

What an outcome means (a result has exactly one, the first that applies):

    dead     404 or 410 (gone), or the host name no longer resolves
    moved    it answers, but at another address after one or more redirects
    slow     it answers, directly, but took more than `slow_after` seconds
    timeout  no answer within `timeout` seconds
    error    any other failure: refused or reset connection, TLS, 401/403/429 (often a site
             refusing robots), 5xx, other 4xx, too many redirects
    ok       a 2xx answer at the same address, in time

Only `dead` fails the check: the others are for a person to look at, since a site that blocks
robots or is down for an hour is not a dead link.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import aiohttp
from pydantic import AnyUrl, BaseModel

from bot.kb.snapshot import KnowledgeBase

Outcome = Literal["ok", "moved", "dead", "slow", "error", "timeout"]

USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0.0.0 Safari/537.36")
"""A browser's: many official sites answer 403 to a client that names itself a script."""
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8",
}
DEAD_STATUSES = frozenset({404, 410})
PERMANENT_REDIRECTS = frozenset({301, 308})
MAX_REDIRECTS = 10
# The resolver's "no such name" answers; a temporary failure (EAI_AGAIN) is an error.
_NO_SUCH_HOST = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA")
                          if hasattr(socket, name))
REPORT_TEXT = "links-report.txt"
REPORT_JSON = "links-report.json"
# The order of the text report's sections (and of the summary).
SECTIONS: tuple[tuple[Outcome, str], ...] = (
    ("dead", "Dead"), ("moved", "Moved"), ("slow", "Slow"), ("timeout", "Timed out"),
    ("error", "Errors"), ("ok", "OK"),
)


@dataclass(frozen=True)
class LinkRef:
    """One use of a URL: which record of which collection holds it, in which field."""

    url: str
    collection: str  # e.g. "landing", "vie_costs"
    record: str | None  # the record's id (None for a single-record collection)
    field: str  # e.g. "sources[0].url", "contact.url", "typical_year[1].source_url"

    def where(self) -> str:
        return f"{self.collection}/{self.record} {self.field}" if self.record is not None \
            else f"{self.collection} {self.field}"


def _is_url_field(name: str) -> bool:
    return name == "url" or name.endswith("_url")


def _walk(value: object, path: str, name: str) -> Iterator[tuple[str, str]]:
    """(field path, URL) for every URL under `value`: any pydantic URL, and any http(s) text
    in a field named `url` or `..._url`."""
    if isinstance(value, AnyUrl):
        yield path, str(value)
    elif isinstance(value, str):
        if _is_url_field(name) and value.startswith(("http://", "https://")):
            yield path, value
    elif isinstance(value, BaseModel):
        for fname in type(value).model_fields:
            yield from _walk(getattr(value, fname), f"{path}.{fname}" if path else fname, fname)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]", name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}[{key}]", name)


def collect_urls(kb: KnowledgeBase) -> list[LinkRef]:
    """Every use of a URL in the base, collection by collection in the base's order."""
    refs: list[LinkRef] = []
    for f in dataclasses.fields(kb):
        if not f.init:  # the snapshot's indexes
            continue
        name, collection = f.name, getattr(kb, f.name)
        if isinstance(collection, dict):
            records: Iterable[tuple[str | None, object]] = collection.items()
        else:
            records = [(None, collection)]
        for rid, rec in records:
            for path, url in _walk(rec, "", ""):
                refs.append(LinkRef(url, name, rid, path))
    return refs


@dataclass
class LinkResult:
    url: str
    outcome: Outcome
    reason: str
    status: int | None = None  # the last answer's status (None: no answer)
    final_url: str | None = None  # where the redirects led (None: no answer)
    redirects: list[dict[str, Any]] = field(default_factory=list)  # [{"status", "url"}] hops
    elapsed_s: float = 0.0
    method: str = "HEAD"  # the request that decided: "HEAD", or "GET" after HEAD failed
    uses: list[LinkRef] = field(default_factory=list)


@dataclass
class LinkReport:
    results: list[LinkResult]
    checked_at: str | None = None  # ISO time, from the caller's clock
    settings: dict[str, float] = field(default_factory=dict)

    def by_outcome(self, outcome: Outcome) -> list[LinkResult]:
        return [r for r in self.results if r.outcome == outcome]

    @property
    def dead(self) -> list[LinkResult]:
        return self.by_outcome("dead")

    @property
    def ok(self) -> bool:
        """No dead link (the exit status of `kb check --links`)."""
        return not self.dead

    @property
    def nothing_answered(self) -> bool:
        """Not one URL answered: most likely this machine is offline, not every site dead."""
        return bool(self.results) and all(r.status is None for r in self.results)

    def counts(self) -> dict[str, int]:
        return {outcome: len(self.by_outcome(outcome)) for outcome, _ in SECTIONS}

    def summary(self) -> str:
        counts = self.counts()
        uses = sum(len(r.uses) for r in self.results)
        return (f"Links: {len(self.results)} distinct URLs ({uses} uses): "
                + ", ".join(f"{counts[o]} {o}" for o, _ in SECTIONS))

    def as_dict(self) -> dict[str, Any]:
        return {"checked_at": self.checked_at, "settings": self.settings,
                "counts": self.counts(), "ok": self.ok,
                "results": [asdict(r) for r in self.results]}


# --- checking ---------------------------------------------------------------------------------


class _Answer:
    """What one request got: status, final URL and the redirect hops."""

    def __init__(self, status: int, final_url: str, redirects: list[dict[str, Any]]) -> None:
        self.status = status
        self.final_url = final_url
        self.redirects = redirects


async def _request(session: aiohttp.ClientSession, method: str, url: str,
                   timeout: float) -> _Answer:
    async with session.request(method, url, allow_redirects=True, max_redirects=MAX_REDIRECTS,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        hops = [{"status": h.status, "url": str(h.url)} for h in resp.history]
        return _Answer(resp.status, str(resp.url), hops)  # the body is never read


def _failure(exc: BaseException, timeout: float) -> tuple[Outcome, str]:
    """The outcome and reason of a request that got no answer."""
    if isinstance(exc, TimeoutError):
        return "timeout", f"no answer within {timeout:g} s"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "error", f"more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "error", f"TLS: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, socket.gaierror):
            if cause.errno in _NO_SUCH_HOST:
                return "dead", f"host {exc.host} not found (DNS: {cause.strerror or cause})"
            return "error", f"DNS lookup of {exc.host} failed: {cause.strerror or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return "error", f"connection refused by {exc.host}:{exc.port}"
        return "error", f"cannot connect to {exc.host}:{exc.port}: {cause.strerror or cause}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "error", "the server closed the connection without answering"
    if isinstance(exc, ConnectionResetError) or (
            isinstance(exc, aiohttp.ClientOSError) and exc.errno == errno.ECONNRESET):
        return "error", "connection reset by the server"
    if isinstance(exc, aiohttp.InvalidURL):
        return "error", f"invalid URL: {exc}"
    if isinstance(exc, ssl.SSLError):
        return "error", f"TLS: {exc}"
    return "error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _judge(url: str, answer: _Answer, elapsed: float, slow_after: float) -> tuple[Outcome, str]:
    status = answer.status
    if status in DEAD_STATUSES:
        return "dead", f"{status} {'Gone' if status == 410 else 'Not Found'}"
    if status >= 400:
        hint = {401: "needs a login", 403: "forbidden (the site may refuse robots: open it "
                "in a browser)", 429: "too many requests: try again later"}.get(status)
        if hint is None:
            hint = "server error: try again later" if status >= 500 else "refused"
        return "error", f"{status}: {hint}"
    if answer.redirects and answer.final_url != url:
        permanent = any(h["status"] in PERMANENT_REDIRECTS for h in answer.redirects)
        chain = " -> ".join(str(h["status"]) for h in answer.redirects)
        return "moved", (f"{'permanent' if permanent else 'temporary'} redirect ({chain}) "
                         f"to {answer.final_url}")
    if status >= 300:  # a redirect not followed (no Location): the page is not there
        return "error", f"{status} without a location to follow"
    if elapsed > slow_after:
        return "slow", f"{status} after {elapsed:.1f} s"
    return "ok", str(status)


async def _check_one(session: aiohttp.ClientSession, url: str, timeout: float,
                     slow_after: float) -> LinkResult:
    start = time.monotonic()
    method = "HEAD"
    answer: _Answer | None = None
    failure: BaseException | None = None
    try:
        answer = await _request(session, "HEAD", url, timeout)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        failure = exc
    # HEAD refused (405, 501, often 403, and some servers' 400 or 404) or broken: ask with GET.
    # Not after a timeout (GET would wait as long again) nor when the host does not exist.
    retry = (answer is not None and answer.status >= 400) or (
        failure is not None and not isinstance(failure, TimeoutError)
        and _failure(failure, timeout)[0] != "dead")
    if retry:
        method = "GET"
        try:
            answer, failure = await _request(session, "GET", url, timeout), None
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            answer, failure = None, exc
    elapsed = round(time.monotonic() - start, 3)
    if answer is None:
        assert failure is not None
        outcome, reason = _failure(failure, timeout)
        return LinkResult(url, outcome, reason, elapsed_s=elapsed, method=method)
    outcome, reason = _judge(url, answer, elapsed, slow_after)
    return LinkResult(url, outcome, reason, status=answer.status, final_url=answer.final_url,
                      redirects=answer.redirects, elapsed_s=elapsed, method=method)


Progress = Callable[[int, int, LinkResult], None]
"""Called after each URL: (done, total, its result)."""


async def check_links(urls: Iterable[LinkRef | str], *, concurrency: int = 8,
                      timeout: float = 10.0, slow_after: float = 3.0,
                      progress: Progress | None = None) -> LinkReport:
    """Check each distinct URL once, at most `concurrency` at a time; each result lists every
    use of its URL. Results keep the order in which the URLs first appear."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    uses: dict[str, list[LinkRef]] = {}
    for item in urls:
        if isinstance(item, LinkRef):
            uses.setdefault(item.url, []).append(item)
        else:
            uses.setdefault(str(item), [])
    total = len(uses)
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(session: aiohttp.ClientSession, url: str) -> LinkResult:
        nonlocal done
        async with gate:
            try:
                result = await _check_one(session, url, timeout, slow_after)
            except Exception as exc:  # one odd answer never stops the run
                result = LinkResult(url, "error", f"{type(exc).__name__}: {exc}")
        result.uses = uses[url]
        done += 1
        if progress is not None:
            progress(done, total, result)
        return result

    connector = aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:
        results = await asyncio.gather(*(one(session, url) for url in uses))
    return LinkReport(list(results), settings={"concurrency": concurrency, "timeout": timeout,
                                               "slow_after": slow_after})


# --- progress and reports ---------------------------------------------------------------------


class ProgressBar:
    """A one-line bar, redrawn in place: for a terminal (the CLI shows it only on a TTY)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.bad = 0

    def __call__(self, done: int, total: int, result: LinkResult) -> None:
        if result.outcome not in ("ok", "slow"):
            self.bad += 1
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
                          f"links, {self.bad} to look at")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def format_text(report: LinkReport) -> str:
    lines = [f"Link check{' of ' + report.checked_at if report.checked_at else ''}",
             report.summary()]
    if report.settings:
        lines.append("Settings: " + ", ".join(f"{k} {v:g}" for k, v in report.settings.items()))
    if report.nothing_answered:
        lines.append("No URL answered at all: is this machine online?")
    for outcome, title in SECTIONS:
        items = report.by_outcome(outcome)
        lines.append(f"\n{title}: {len(items)}")
        if outcome == "ok":  # counted, not listed (the JSON lists them)
            continue
        for r in items:
            lines.append(f"  - {r.url}")
            lines.append(f"    {r.reason} ({r.method}, {r.elapsed_s:.1f} s)")
            if r.redirects:
                hops = " -> ".join(f"{h['status']} {h['url']}" for h in r.redirects)
                lines.append(f"    redirects: {hops} -> {r.status} {r.final_url}")
            for use in r.uses:
                lines.append(f"    used by {use.where()}")
    return "\n".join(lines) + "\n"


def write_reports(report: LinkReport, directory: Path) -> tuple[Path, Path]:
    """links-report.txt and links-report.json in `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    text, data = directory / REPORT_TEXT, directory / REPORT_JSON
    text.write_text(format_text(report), encoding="utf-8")
    data.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return text, data
