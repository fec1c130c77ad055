"""Export advisors through the real Dispatcher: /advisor, the link builder, stats, the admin
sub-commands, invitations (/start i_<code>), and the `python -m bot advisor` command line."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendPhoto
from aiogram.types import BufferedInputFile

from bot.__main__ import BOT_IS_RUNNING, main
from bot.advisors.repository import AdvisorRepository
from bot.app import STATE_DIR, App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.console import CONSOLE_BOT, LocalSession
from bot.handlers.advisor import valid_prefill
from bot.kb.snapshot import KnowledgeBase
from bot.render.callbacks import AdvisorCb
from bot.storage.journal import JournalStore
from tests.conftest import TODAY, make_settings
from tests.dialog.driver import ChatDriver
from tests.e2e.fake_api import parse_html

ADMIN = 900
LINK = re.compile(r"https://t\.me/(\w+)\?start=([ais])_([A-Za-z0-9]+)")


@pytest.fixture
def admin_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", admin_ids=str(ADMIN))


@pytest.fixture
async def app(admin_settings: Settings) -> AsyncIterator[App]:
    application = build_app(admin_settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()


def repo(app: App) -> AdvisorRepository:
    advisors = app.dispatcher["advisors"]
    assert isinstance(advisors, AdvisorRepository)
    return advisors


def links(text: str) -> list[tuple[str, str, str]]:
    return LINK.findall(text)


def photos(chat: ChatDriver, mark: int) -> list[SendPhoto]:
    sent = [r for r in chat.session.requests[mark:] if isinstance(r, SendPhoto)]
    for photo in sent:
        assert isinstance(photo.photo, BufferedInputFile)
        assert photo.photo.data.startswith(b"\x89PNG\r\n\x1a\n")
        caption = parse_html(photo.caption or "")
        assert not caption.warnings and len(caption.text) <= 1024
    return sent


def toasts(chat: ChatDriver, mark: int) -> list[str]:
    return [r.text or "" for r in chat.session.requests[mark:]
            if isinstance(r, AnswerCallbackQuery)]


async def make_advisor(app: App, user_id: int, name: str = "Claire Martin") -> None:
    await repo(app).register(user_id, name, "CCI Lyon")


async def test_non_advisor_is_refused_and_nothing_is_revealed(app: App) -> None:
    chat = ChatDriver(app, user_id=4001)
    mark = chat._mark()
    for command in ("/advisor", "/advisor stats", "/advisor whatever"):
        [reply] = await chat.send(command)
        assert "réservée aux conseillers" in reply.text
        assert not links(reply.text) and reply.reply_markup is None
    assert photos(chat, mark) == []
    await make_advisor(app, 4002)
    await repo(app).set_active(4002, False)
    deactivated = ChatDriver(app, user_id=4002, language="en")
    [reply] = await deactivated.send("/advisor")
    assert "for Export Advisor's partner export advisors" in reply.text


async def test_admin_commands_are_refused_to_non_admins(app: App) -> None:
    await make_advisor(app, 4011)
    for user_id in (4010, 4011):  # a stranger, an advisor: neither is an admin
        chat = ChatDriver(app, user_id=user_id)
        for command in ("/advisor invite CCI", "/advisor add 5 Bob ; X", "/advisor list",
                        "/advisor deactivate 4011", "/advisor activate 4011"):
            [reply] = await chat.send(command)
            assert "réservée aux conseillers" in reply.text, command
    assert (await repo(app).active_advisor(4011)) is not None
    assert [a["id"] for a in await repo(app).all_advisors()] == [4011]


async def test_invitation_makes_an_advisor_who_gets_a_link_and_a_qr_code(app: App) -> None:
    admin = ChatDriver(app, user_id=ADMIN)
    [invite] = await admin.send("/advisor invite CCI Paris & Co")
    [(bot_name, kind, code)] = links(invite.text)
    assert (bot_name, kind) == (CONSOLE_BOT.username, "i")
    assert "CCI Paris &amp; Co" in invite.text

    newcomer = ChatDriver(app, user_id=4020)
    newcomer.user = newcomer.user.model_copy(update={"first_name": "Léa", "last_name": "Roux"})
    [welcome] = await newcomer.send(f"/start i_{code}")
    assert "Léa Roux" in welcome.text and "/advisor" in welcome.text
    record = await repo(app).active_advisor(4020)
    assert record is not None and record["name"] == "Léa Roux"
    assert record["organisation"] == "CCI Paris & Co"

    mark = newcomer._mark()
    [home] = await newcomer.send("/advisor")
    [(bot_name, kind, link_code)] = links(home.text)
    assert (bot_name, kind) == (CONSOLE_BOT.username, "a")
    link = await repo(app).link(link_code)
    assert link == {**link, "advisor_id": 4020, "prefill": {}}
    [photo] = photos(newcomer, mark)
    assert f"a_{link_code}" in (photo.caption or "")
    assert int(photo.chat_id) == 4020
    # The same personal link every time.
    [again] = await newcomer.send("/advisor")
    assert links(again.text) == links(home.text)


@pytest.mark.parametrize("payload", ["i_", "i_!!", "i_abc", "i_ABCDEFGHJKLMNPQRST",
                                     "i_Zzzzzzzzzz", "i_used"])
async def test_forged_used_or_malformed_invitations_start_the_normal_dialog(
        app: App, payload: str) -> None:
    if payload == "i_used":
        code = await repo(app).create_invite(ADMIN)
        assert await repo(app).redeem_invite(code, 4030, "First") is not None
        payload = f"i_{code}"
    chat = ChatDriver(app, user_id=4031)
    replies = await chat.send(f"/start {payload}")
    plain = ChatDriver(app, user_id=4032)
    normal = await plain.send("/start")
    assert [r.text for r in replies] == [r.text for r in normal]  # no error, no hint
    assert "Bienvenue" in replies[0].text and "1/8" in replies[-1].text
    assert await repo(app).advisor(4031) is None


async def test_builder_makes_a_link_whose_prefill_matches_the_choices(app: App) -> None:
    await make_advisor(app, 4040)
    chat = ChatDriver(app, user_id=4040)
    await chat.send("/advisor")
    await chat.press("Créer un lien ciblé")
    assert "Quel secteur" in chat.session.messages[-1].text
    await chat.press("Cybersécurité")
    mark = chat._mark()
    await chat.press("Amérique du Nord")
    [edit] = [r for r in chat.session.requests[mark:] if isinstance(r, EditMessageText)]
    assert "Quel pays" in edit.text and "Cybersécurité" in edit.text
    await chat.press("États-Unis")
    mark = chat._mark()
    await chat.press("Boston")
    [result] = [r for r in chat.session.requests[mark:] if isinstance(r, EditMessageText)]
    [(_, kind, code)] = links(result.text)
    assert kind == "a" and "Cybersécurité · Boston" in result.text
    [photo] = photos(chat, mark)
    assert f"a_{code}" in (photo.caption or "")
    link = await repo(app).link(code)
    assert link is not None and link["advisor_id"] == 4040
    assert link["prefill"] == {"sector": "cybersecurity", "target_region": "north_america",
                               "target_country": "us", "target_city": "boston"}

    # "Any" at each step: any sector, a region only.
    await chat.send("/advisor")
    await chat.press("Créer un lien ciblé")
    await chat.press("Tous secteurs")
    await chat.press("Asie")
    mark = chat._mark()
    await chat.press("Tous les pays")
    [result] = [r for r in chat.session.requests[mark:] if isinstance(r, EditMessageText)]
    [(_, _, any_code)] = links(result.text)
    assert (await repo(app).link(any_code) or {})["prefill"] == {"target_region": "asia"}
    # A country without cities finishes at once; the same choices give back the same code.
    await chat.send("/advisor")
    await chat.press("Créer un lien ciblé")
    await chat.press("Fintech")
    await chat.press("Europe")
    await chat.press("Royaume-Uni")  # London only: the city step is still offered
    mark = chat._mark()
    await chat.press("Toutes les villes")
    [result] = [r for r in chat.session.requests[mark:] if isinstance(r, EditMessageText)]
    [(_, _, uk_code)] = links(result.text)
    assert (await repo(app).link(uk_code) or {})["prefill"] == {
        "sector": "fintech", "target_region": "europe", "target_country": "gb"}


async def test_builder_refuses_forged_buttons_and_strangers(app: App) -> None:
    await make_advisor(app, 4050)
    chat = ChatDriver(app, user_id=4050)
    await chat.send("/advisor")
    menu = chat.last_keyboard_message()
    mark = chat._mark()
    # A country outside its region, an unknown sector: stale, nothing made.
    await chat.press_data(AdvisorCb(a="f", r="asia", c="us").pack(), menu)
    await chat.press_data(AdvisorCb(a="f", s="nope").pack(), menu)
    assert toasts(chat, mark) == ["Ce bouton vient d'un ancien message."] * 2
    assert len((await repo(app).advisor(4050) or {})["links"]) == 1
    stranger = ChatDriver(app, user_id=4051)
    mark = stranger._mark()
    await stranger.press_data(AdvisorCb(a="f", s="saas").pack(), menu)
    assert toasts(stranger, mark) == ["Réservé aux conseillers export."]
    assert await repo(app).advisor(4051) is None


def test_every_builder_button_fits_in_64_bytes(kb: KnowledgeBase) -> None:
    sectors = ["", *kb.sectors]
    for sector, city in itertools.product(sectors, kb.cities.values()):
        country = kb.countries[city.country]
        data = AdvisorCb(a="f", s=sector, r=country.world_region, c=country.id, t=city.id)
        assert len(data.pack().encode()) <= 64
        assert valid_prefill(kb, AdvisorCb.unpack(data.pack())) is not None


async def test_stats_show_counts_per_link_and_nothing_personal(app: App) -> None:
    await make_advisor(app, 4060)
    advisors = repo(app)
    general = await advisors.create_link(4060, {})
    targeted = await advisors.create_link(4060, {"sector": "saas", "target_region": "asia",
                                                 "target_country": "sg"})
    for _ in range(3):
        await advisors.count(general, "started")
    await advisors.count(general, "completed")
    await advisors.count(targeted, "started")
    await advisors.count(targeted, "shared")
    chat = ChatDriver(app, user_id=4060)
    [stats] = await chat.send("/advisor stats")
    text = parse_html(stats.text).text
    assert "Lien général\n3 · 1 · 0" in text
    assert "SaaS et logiciels · Singapour\n1 · 0 · 1" in text
    english = ChatDriver(app, user_id=4060, language="en")
    await english.send("/language")
    await english.press("English")
    [stats_en] = await english.send("/advisor stats")
    assert "General link\n3 · 1 · 0" in parse_html(stats_en.text).text
    # The button under /advisor shows the same.
    await chat.send("/advisor")
    await chat.press("statistics")  # English now, chosen with /language
    assert "3 · 1 · 0" in chat.session.messages[-1].text


async def test_admin_adds_lists_deactivates_and_activates(app: App) -> None:
    admin = ChatDriver(app, user_id=ADMIN)
    [added] = await admin.send("/advisor add 4070 Jean <Dupont> ; Team France Export")
    assert "4070" in added.text and "Jean &lt;Dupont&gt;" in added.text
    [listed] = await admin.send("/advisor list")
    assert "4070" in listed.text and "Team France Export" in listed.text
    advisor = ChatDriver(app, user_id=4070)
    [home] = await advisor.send("/advisor")
    assert links(home.text)
    [done] = await admin.send("/advisor deactivate 4070")
    assert "désactivé" in done.text
    [refused] = await advisor.send("/advisor")
    assert "réservée aux conseillers" in refused.text
    mark = advisor._mark()
    await advisor.press("Créer un lien ciblé", home_message(advisor))
    assert toasts(advisor, mark) == ["Réservé aux conseillers export."]
    [back] = await admin.send("/advisor activate 4070")
    assert "réactivé" in back.text
    assert (await repo(app).active_advisor(4070)) is not None
    for bad in ("/advisor add", "/advisor add abc Bob", "/advisor add 12",
                "/advisor deactivate", "/advisor activate x1"):
        [usage] = await admin.send(bad)
        assert "/advisor invite [organisation]" in usage.text, bad
    [unknown] = await admin.send("/advisor deactivate 999999")
    assert "Aucun conseiller" in unknown.text
    # An admin who is not an advisor gets the admin usage, not the refusal.
    [usage] = await admin.send("/advisor")
    assert "Administration" in usage.text


def home_message(chat: ChatDriver):  # type: ignore[no-untyped-def]
    return next(m for m in reversed(chat.session.messages)
                if m.reply_markup is not None and "Espace conseiller" in (m.text or ""))


async def test_help_mentions_advisor_but_the_menu_does_not(app: App) -> None:
    chat = ChatDriver(app, user_id=4080)
    [help_fr] = await chat.send("/help")
    assert "/advisor : pour les conseillers export" in help_fr.text
    from bot.app import PUBLIC_COMMANDS
    assert "advisor" not in PUBLIC_COMMANDS


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "REDIS_URL", "WEBHOOK_URL", "ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return data


def test_cli_adds_lists_invites_and_deactivates(cli_env: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advisor", "add", "--id", "4090", "--name", "Anne Petit", "--org", "CCI"]) == 0
    assert "4090" in capsys.readouterr().out
    assert main(["advisor", "list"]) == 0
    assert capsys.readouterr().out.split("\t")[:4] == ["4090", "active", "Anne Petit", "CCI"]
    assert main(["advisor", "invite", "--org", "BF"]) == 0
    out = capsys.readouterr().out
    code = re.search(r"invitation code: (\w+)", out)
    assert code and f"i_{code.group(1)}" in out
    assert main(["advisor", "invite", "--bot-username", "my_bot"]) == 0
    assert re.search(r"https://t\.me/my_bot\?start=i_\w+", capsys.readouterr().out)
    assert main(["advisor", "deactivate", "--id", "4090"]) == 0
    assert main(["advisor", "deactivate", "--id", "4091"]) == 1
    assert main(["advisor", "list"]) == 0
    assert "\tinactive\t" in capsys.readouterr().out
    assert main(["advisor", "activate", "--id", "4090"]) == 0


def test_cli_changes_reach_the_bot(cli_env: Path) -> None:
    assert main(["advisor", "add", "--id", "4095", "--name", "Paul", "--org", "X"]) == 0

    async def advisor_home() -> str:
        application = build_app(make_settings(cli_env), session=LocalSession(),
                                token="42:TEST", clock=FixedClock.on(TODAY))
        try:
            [home] = await ChatDriver(application, user_id=4095).send("/advisor")
            return home.text
        finally:
            await application.close()

    assert links(asyncio.run(advisor_home()))


def test_cli_says_the_bot_is_running_when_the_store_is_busy(
        cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    held = JournalStore(cli_env / STATE_DIR)  # as the running bot holds it
    try:
        assert main(["advisor", "list"]) == 2
        err = capsys.readouterr().err
        assert err.strip() == BOT_IS_RUNNING
    finally:
        held.close_sync()
    assert main(["advisor", "list"]) == 0
