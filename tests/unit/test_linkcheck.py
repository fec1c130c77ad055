"""`kb check --links` against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import HttpUrl, TypeAdapter

from bot.__main__ import main
from bot.clock import FixedClock
from bot.kb.cli import run_link_check
from bot.kb.linkcheck import LinkRef, ProgressBar, check_links, collect_urls
from bot.kb.loader import load_directory
from tests.conftest import KNOWLEDGE_DIR, TODAY

CLOCK = FixedClock.on(TODAY)
TIMEOUT = 0.5  # the hanging handler waits longer than this
SLOW_AFTER = 0.15
SLOW_S = 0.3  # the slow handler: past SLOW_AFTER, well within TIMEOUT


class LocalServer:
    """An aiohttp server in its own thread, so a test's client (or the CLI's asyncio.run)
    runs in another loop, as it would against the internet."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.release = asyncio.Event()  # set on teardown: the hanging handler returns
        self.active = 0
        self.max_active = 0
        self.hits: dict[str, list[str]] = {}  # path -> the methods it was asked with
        self.base = ""
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _app(self) -> web.Application:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        async def moved(request: web.Request) -> web.Response:
            raise web.HTTPMovedPermanently("/ok")

        async def gone(request: web.Request) -> web.Response:
            return web.Response(status=404, text="not found")

        async def hang(request: web.Request) -> web.Response:
            await asyncio.wait_for(self.release.wait(), 10)
            return web.Response(text="too late")

        async def reset(request: web.Request) -> web.Response:
            transport = request.transport
            assert transport is not None
            sock = transport.get_extra_info("socket")
            # Linger 0: closing sends an RST, the client reads "connection reset".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            await asyncio.sleep(0.01)
            return web.Response(text="never sent")

        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(SLOW_S)
            return web.Response(text="slow")

        async def hold(request: web.Request) -> web.Response:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await asyncio.sleep(0.05)
            finally:
                self.active -= 1
            return web.Response(text="held")

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            self.hits.setdefault(request.path, []).append(request.method)
            return await handler(request)  # type: ignore[no-any-return]

        app = web.Application(middlewares=[record])
        for path, handler in (("/ok", ok), ("/moved", moved), ("/gone", gone), ("/hang", hang),
                              ("/reset", reset), ("/slow", slow), ("/hold", hold)):
            app.router.add_get(path, handler)  # answers HEAD too
        app.router.add_get("/get-only", ok, allow_head=False)  # HEAD: 405
        return app

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    async def _stop(self) -> None:
        self.release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    def __enter__(self) -> LocalServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        # The first requests of a process import and set up things, on both sides, for a few
        # tenths of a second: out of the way before the tests time anything.
        asyncio.run(check_links([f"{self.base}{p}" for p in ("/ok", "/moved", "/get-only")]))
        self.hits.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


async def test_each_answer_gets_its_outcome(server: LocalServer) -> None:
    b = server.base
    urls = [f"{b}/ok", f"{b}/moved", f"{b}/gone", f"{b}/hang", f"{b}/reset", f"{b}/get-only",
            f"{b}/slow"]
    report = await check_links(urls, timeout=TIMEOUT, slow_after=SLOW_AFTER)
    got = {r.url.removeprefix(b): r for r in report.results}
    assert [r.url for r in report.results] == urls  # first-seen order

    assert got["/ok"].outcome == "ok" and got["/ok"].status == 200
    assert got["/ok"].method == "HEAD" and not got["/ok"].redirects

    moved = got["/moved"]
    assert moved.outcome == "moved" and moved.status == 200
    assert moved.final_url == f"{b}/ok"
    assert moved.redirects == [{"status": 301, "url": f"{b}/moved"}]
    assert moved.reason == f"permanent redirect (301) to {b}/ok"

    gone = got["/gone"]
    assert gone.outcome == "dead" and gone.status == 404 and gone.reason == "404 Not Found"
    assert gone.method == "GET"  # a HEAD 404 is asked again with GET before it is called dead

    hang = got["/hang"]
    assert hang.outcome == "timeout" and hang.status is None and hang.final_url is None
    assert TIMEOUT <= hang.elapsed_s < TIMEOUT + 0.5  # HEAD only: no GET after a timeout
    assert hang.reason == f"no answer within {TIMEOUT:g} s"

    reset = got["/reset"]
    assert reset.outcome == "error" and reset.status is None
    assert reset.reason in ("connection reset by the server",
                            "the server closed the connection without answering")
    assert reset.method == "GET"  # HEAD broke, GET was tried
    # HEAD, then GET (aiohttp itself asks again once when a reused connection drops).
    assert server.hits["/reset"][0] == "HEAD" and server.hits["/reset"][-1] == "GET"

    get_only = got["/get-only"]
    assert get_only.outcome == "ok" and get_only.status == 200 and get_only.method == "GET"
    assert server.hits["/get-only"] == ["HEAD", "GET"]

    slow = got["/slow"]
    assert slow.outcome == "slow" and slow.status == 200
    assert SLOW_S <= slow.elapsed_s < TIMEOUT

    assert report.counts() == {"dead": 1, "moved": 1, "slow": 1, "timeout": 1, "error": 1,
                               "ok": 2}
    assert not report.ok and [r.url for r in report.dead] == [f"{b}/gone"]
    assert not report.nothing_answered


async def test_one_check_per_url_with_all_its_uses(server: LocalServer) -> None:
    url = f"{server.base}/ok?dedup"
    uses = [LinkRef(url, "landing", "a", "url"), LinkRef(url, "aid", "b", "sources[1].url")]
    report = await check_links([*uses, url, LinkRef(f"{server.base}/gone?dedup", "aid", "c",
                                                    "contact.url")])
    assert [r.url for r in report.results] == [url, f"{server.base}/gone?dedup"]
    assert report.results[0].uses == uses
    assert server.hits["/ok"].count("HEAD") >= 1
    data = report.as_dict()
    assert data["results"][1]["uses"] == [{"url": f"{server.base}/gone?dedup",
                                           "collection": "aid", "record": "c",
                                           "field": "contact.url"}]


async def test_concurrency_is_bounded(server: LocalServer) -> None:
    server.max_active = 0
    seen: list[tuple[int, int]] = []
    report = await check_links([f"{server.base}/hold?n={i}" for i in range(12)], concurrency=3,
                               progress=lambda done, total, result: seen.append((done, total)))
    assert all(r.outcome == "ok" for r in report.results)
    assert server.max_active == 3  # never more than the pool, and the pool was used
    assert seen == [(i, 12) for i in range(1, 13)]
    with pytest.raises(ValueError):
        await check_links([], concurrency=0)


def test_progress_bar_redraws_one_line() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    report_result = type("R", (), {"outcome": "dead"})()
    bar(1, 2, report_result)  # type: ignore[arg-type]
    bar(2, 2, report_result)  # type: ignore[arg-type]
    out = stream.getvalue()
    assert out == ("\r[#####.....] 1/2 links, 1 to look at"
                   "\r[##########] 2/2 links, 2 to look at\n")


def test_collect_urls_finds_every_kind_of_link() -> None:
    kb = load_directory(KNOWLEDGE_DIR)
    refs = collect_urls(kb)
    assert len(refs) == len(set(refs))
    where = {(r.collection, r.record, r.field): r.url for r in refs}
    expected: dict[tuple[str, str | None, str], str] = {}
    for name in ("french_regions", "landing", "vie_rules", "vie_countries", "aid"):
        for rid, rec in getattr(kb, name).items():
            for i, src in enumerate(rec.sources):
                expected[(name, rid, f"sources[{i}].url")] = str(src.url)
    for i, src in enumerate(kb.vie_costs.sources):
        expected[("vie_costs", None, f"sources[{i}].url")] = str(src.url)
    for rid, rec in kb.landing.items():
        if rec.url:
            expected[("landing", rid, "url")] = str(rec.url)
        if rec.contact:
            expected[("landing", rid, "contact.url")] = str(rec.contact.url)
    for rid, aid in kb.aid.items():
        expected[("aid", rid, "url")] = str(aid.url)
        if aid.contact:
            expected[("aid", rid, "contact.url")] = str(aid.contact.url)
    for rid, region in kb.french_regions.items():
        if region.tfe_contact:
            expected[("french_regions", rid, "tfe_contact.url")] = str(region.tfe_contact.url)
    for i, typical in enumerate(kb.vie_costs.typical_year):
        expected[("vie_costs", None, f"typical_year[{i}].source_url")] = str(typical.source_url)
    assert expected.items() <= where.items()
    kinds = {field.split(".")[-1] for _, _, field in expected}
    assert kinds == {"url", "source_url"}
    assert any(f == "tfe_contact.url" for _, _, f in where)
    assert any(f.startswith("typical_year") for _, _, f in where)


# --- the command line -------------------------------------------------------------------------

NORMAL = TypeAdapter(HttpUrl)


def rewritten_knowledge(tmp_path: Path, base: str, dead_use: tuple[str, int] | None
                        ) -> tuple[Path, str | None]:
    """The shipped base with every URL pointing at the local server (/ok, one distinct URL per
    distinct original); `dead_use` (collection, record index): that record's first source
    goes to /gone. Returns the directory and the dead URL."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns(".lock", ".pending"))
    mapping: dict[str, str] = {}

    def local(url: str) -> str:
        key = str(NORMAL.validate_python(url))  # equal once normalized: still equal
        return mapping.setdefault(key, f"{base}/ok?u={len(mapping)}")

    def rewrite(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v, key) for v in value]
        if isinstance(value, str) and (key == "url" or key.endswith("_url")):
            return local(value)
        return value

    for path in target.glob("*.json"):
        path.write_text(json.dumps(rewrite(json.loads(path.read_text()))))
    dead = None
    if dead_use is not None:
        name, index = dead_use
        path = target / f"{name}.json"
        records = json.loads(path.read_text())
        dead = f"{base}/gone?record={index}"
        records[index]["sources"][0]["url"] = dead
        path.write_text(json.dumps(records))
    return target, dead


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env from the project
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path / "no-live-base"))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    return tmp_path


def test_cli_writes_both_reports_and_fails_on_a_dead_link(
        server: LocalServer, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kdir, dead = rewritten_knowledge(env, server.base, ("landing", 0))
    record = json.loads((kdir / "landing.json").read_text())[0]["id"]
    out_dir = env / "reports"
    assert main(["kb", "check", "--links", "--dir", str(kdir), "--report", str(out_dir),
                 "--timeout", "2", "--concurrency", "16"], clock=CLOCK) == 1
    out = capsys.readouterr()
    assert "\nOK\n" in out.out  # the normal check passed: only the dead link fails
    assert f"  dead: {dead}" in out.out and "LINKS FAILED: dead links" in out.out
    assert out.err == ""  # not a terminal: no progress bar

    data = json.loads((out_dir / "links-report.json").read_text())
    assert data["checked_at"] == CLOCK.stamp() and data["ok"] is False
    assert data["counts"]["dead"] == 1 and data["counts"]["ok"] == len(data["results"]) - 1
    [gone] = [r for r in data["results"] if r["outcome"] == "dead"]
    assert gone["url"] == dead and gone["status"] == 404
    assert {"url": dead, "collection": "landing", "record": record,
            "field": "sources[0].url"} in gone["uses"]
    text = (out_dir / "links-report.txt").read_text()
    assert "\nDead: 1\n" in text and f"  - {dead}\n" in text
    assert f"    used by landing/{record} sources[0].url\n" in text
    assert "\nMoved: 0\n" in text and "\nErrors: 0\n" in text


def test_cli_passes_with_no_dead_link_and_writes_to_data_dir(
        server: LocalServer, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kdir, _ = rewritten_knowledge(env, server.base, None)
    assert main(["kb", "check", "--links", "--json", "--dir", str(kdir), "--timeout", "2",
                 "--concurrency", "16"], clock=CLOCK) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is True and printed["links"]["ok"] is True
    assert printed["links"]["dead"] == []
    assert printed["links"]["reports"] == [str(env / "data" / "links-report.txt"),
                                           str(env / "data" / "links-report.json")]
    assert json.loads((env / "data" / "links-report.json").read_text())["ok"] is True


def test_cli_check_without_links_is_unchanged(env: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", "--dir", str(KNOWLEDGE_DIR)], clock=CLOCK) == 0
    assert "Links" not in capsys.readouterr().out
    assert not (env / "data").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(server: LocalServer, tmp_path: Path) -> None:
    refs = [LinkRef(f"{server.base}/ok?bar={i}", "aid", f"a{i}", "url") for i in range(3)]
    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        report, text, data = run_link_check(refs, tmp_path, clock=CLOCK, stderr=stream)
        assert report.ok and text.exists() and data.exists()
        assert stream.getvalue().endswith("3/3 links, 0 to look at\n") is drawn
        assert stream.getvalue() == "" or drawn
