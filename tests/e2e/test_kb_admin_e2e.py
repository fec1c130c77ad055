"""End to end over HTTP: admins change the knowledge base from Telegram while users chat.

The real `python -m bot` polls the strict fake Bot API; the admin uploads documents (getFile,
download), applies, rolls back and exports; users see the change without a restart, a dialog
begun before finishes on its version, and matching subscribers are told once.
"""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from aiogram import Bot

from bot.app import register_commands
from bot.config import PROJECT_ROOT
from bot.kb.admin import KnowledgeAdmin
from bot.kb.loader import COLLECTIONS
from bot.render.templates import Renderer
from tests.conftest import BOT_COMMAND
from tests.e2e.fake_api import BotMessage, FakeBotAPI
from tests.e2e.test_bot_e2e import User, start_bot, stop_bot, text_of

ADMIN, ADMIN2, SUBSCRIBER, ELSEWHERE, EARLY, LATE, STRANGER = 900, 901, 910, 911, 912, 913, 920
SCHEME = "occitanie-test-export"
SCHEME_NAME = "Pass Export Test Occitanie"
# By buttons: SaaS, Asia, Singapore, Singapore (city), then the five profile questions.
PROFILE = ("10 à 49", "1 à 10 M€", "{region}", "Premiers pas", "Non", "20 à 50 k€")


def knowledge_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", target,
                    ignore=shutil.ignore_patterns(".lock", ".pending"))
    return target


def snapshot(directory: Path) -> dict[str, bytes]:
    return {name: (directory / f"{name}.json").read_bytes() for name in COLLECTIONS}


def new_scheme(kdir: Path) -> dict[str, Any]:
    """An active scheme reserved to Occitanie companies (test data, never shipped)."""
    record = copy.deepcopy(json.loads((kdir / "aid.json").read_text())[0])
    record.update(id=SCHEME, status="active", valid_from=None, valid_to=None,
                  name={"fr": SCHEME_NAME, "en": SCHEME_NAME},
                  criteria=[{"field": "home_region", "op": "in", "value": ["occitanie"],
                             "text": {"fr": "Siège en Occitanie",
                                      "en": "Head office in Occitanie"}}])
    return record


class Admin(User):
    async def upload(self, data: bytes, name: str = "aid.json",
                     declared_size: int | None = None) -> list[BotMessage]:
        count = len(self.fake.messages(self.id))
        self.fake.send_document(self.id, data, file_name=name, declared_size=declared_size)
        await self.fake.wait_idle(quiet=0.3, timeout=15)
        return self._since(count)


async def start_plan(user: User, region: str, steps: int) -> list[BotMessage]:
    await user.send("/start")
    await user.press("SaaS")
    await user.press("Asie")
    await user.press("Singapour")  # the country
    await user.press("Singapour")  # the city
    shown: list[BotMessage] = []
    for label in PROFILE[:steps]:
        shown = await user.press(label.format(region=region))
    return shown


async def finish_plan(user: User, region: str, done: int) -> str:
    for label in PROFILE[done:]:
        await user.press(label.format(region=region))
    await user.skip_optional()
    return await see_aid(user)


async def see_aid(user: User) -> str:
    """The plan (one message), its aid section opened in place, back to the summary, and the
    complete plan (the PDF: what a section too long for one message leaves out)."""
    (plan,) = await user.press("Voir mon plan")
    aid = await user.section("Aides")
    assert await user.section("Résumé") == plan.plain_text
    return "\n".join([plan.plain_text, aid, await user.pdf_text()])


async def test_admins_update_the_live_base_and_users_follow(fake: FakeBotAPI,
                                                            tmp_path: Path) -> None:
    kdir = knowledge_copy(tmp_path)
    data_dir = tmp_path / "data"
    process = await start_bot(fake, data_dir, {"ADMIN_IDS": f"{ADMIN},{ADMIN2}",
                                               "KNOWLEDGE_DIR": str(kdir)})
    try:
        admin, admin2 = Admin(fake, ADMIN, "fr"), Admin(fake, ADMIN2, "fr")
        stranger = Admin(fake, STRANGER, "fr")
        subscriber, elsewhere = User(fake, SUBSCRIBER, "fr"), User(fake, ELSEWHERE, "fr")
        early, late = User(fake, EARLY, "fr"), User(fake, LATE, "fr")

        # Two subscribers: one in Occitanie, one in Bretagne.
        for user, region in ((subscriber, "Occitanie"), (elsewhere, "Bretagne")):
            await start_plan(user, region, 0)
            plan = await finish_plan(user, region, 0)
            assert SCHEME_NAME not in plan
            on = await user.press("M'alerter")
            assert "Alertes activées" in text_of(on)
        # A dialog begun before the change.
        await start_plan(early, "Occitanie", 3)

        # A non-admin: /kb is an unknown command, a document an ordinary message.
        reply = await stranger.send("/kb")
        assert "Je ne connais pas cette commande" in text_of(reply)
        reply = await stranger.upload(json.dumps(new_scheme(kdir)).encode())
        assert "Base de connaissances" not in text_of(reply) and reply
        assert fake.calls("getFile") == [] and fake.downloads == []

        # Broken files: refused with the reason, nothing changes.
        before = snapshot(kdir)
        aid = json.loads((kdir / "aid.json").read_text())
        broken = {
            "pas du JSON": b'{"upsert": [',
            "UTF-8": "[\"é\"]".encode("latin-1"),
            "dépasse": b"[]",  # declared 2 MB: refused before any download
            "viderait": b"[]",
            "duplicate id": json.dumps({"upsert": [new_scheme(kdir), new_scheme(kdir)]}).encode(),
            "unknown id": json.dumps({**new_scheme(kdir), "criteria": [
                {"field": "sector", "op": "in", "value": ["nope"],
                 "text": {"fr": "x", "en": "x"}}]}).encode(),
        }
        downloads = len(fake.downloads)
        for reason, data in broken.items():
            size = 2 * 1024 * 1024 if reason == "dépasse" else None
            reply = await admin.upload(data, declared_size=size)
            assert "refusé" in text_of(reply) and reason in text_of(reply), text_of(reply)
            assert not any(FakeBotAPI.buttons(m) for m in reply)
        assert len(fake.downloads) == downloads + len(broken) - 1
        many = json.dumps({"upsert": [{"id": f"bad-{i}"} for i in range(25)]}).encode()
        problems = KnowledgeAdmin(kdir, tmp_path / "scratch").propose_upload(many, "aid.json")
        assert problems.refusal is not None and len(problems.refusal.problems) > 25
        reply = text_of(await admin.upload(many))
        assert len([line for line in reply.splitlines() if line.startswith("• aid.json")]) == 20
        assert f"et {len(problems.refusal.problems) - 20} autre(s)" in reply
        assert "aid.json [bad-0] name: Field required" in reply
        assert snapshot(kdir) == before
        assert len(aid) == len(json.loads((kdir / "aid.json").read_text()))

        # A valid file: the diff, then Apply.
        good = json.dumps({"upsert": [new_scheme(kdir)]}).encode()
        diff = await admin.upload(good)
        assert SCHEME in text_of(diff) and "+1 ajouté" in text_of(diff)
        applied = await admin.press("Appliquer", until="en service")
        assert "en service" in text_of(applied)
        version = json.loads((kdir / "meta.json").read_text())["version"]
        assert version in text_of(applied) and version != json.loads(before["meta"])["version"]
        await asyncio.sleep(0.5)
        await fake.wait_idle(quiet=0.3, timeout=15)

        # The Occitanie subscriber is told once; the Breton one is not.
        alerts = [m for m in fake.messages(SUBSCRIBER) if "Nouvelle aide" in m.plain_text]
        assert len(alerts) == 1 and SCHEME_NAME in alerts[0].plain_text
        assert not [m for m in fake.messages(ELSEWHERE) if "Nouvelle aide" in m.plain_text]
        # From the alert, the subscriber's answers come back in a recap; one tap to the plan.
        recap = await subscriber.press("Voir mon plan à jour", alerts[0])
        assert "Occitanie" in text_of(recap) and "SaaS" in text_of(recap)
        await subscriber.skip_optional()
        assert SCHEME_NAME in await see_aid(subscriber)

        # The dialog begun before finishes on its version; a new one gets the new scheme.
        assert SCHEME_NAME not in await finish_plan(early, "Occitanie", 3)
        await start_plan(late, "Occitanie", 0)
        assert SCHEME_NAME in await finish_plan(late, "Occitanie", 0)

        # The same file again: nothing to apply, nobody told twice.
        again = await admin.upload(good)
        assert "Rien à appliquer" in text_of(again)
        assert len([m for m in fake.messages(SUBSCRIBER) if "Nouvelle aide" in m.plain_text]) == 1

        # Two admins apply different changes at once: one wins, the other is told to look again.
        one = await admin.upload(json.dumps({**new_scheme(kdir), "id": "first-admin"}).encode())
        two = await admin2.upload(json.dumps({**new_scheme(kdir), "id": "second-admin"}).encode())
        for who, shown in ((admin, one), (admin2, two)):
            message = shown[-1]
            assert FakeBotAPI.buttons(message), text_of(shown)
            data = next(d for t, d in FakeBotAPI.buttons(message) if "Appliquer" in t)
            fake.press_button(who.id, message.message_id, str(data))
        await fake.wait_idle(quiet=0.5, timeout=15)
        outcomes = [fake.last_message(ADMIN).plain_text, fake.last_message(ADMIN2).plain_text]
        assert sum("en service" in o for o in outcomes) == 1
        assert sum("Non appliqué" in o for o in outcomes) == 1
        ids = {r["id"] for r in json.loads((kdir / "aid.json").read_text())}
        assert len(ids & {"first-admin", "second-admin"}) == 1

        # /kb: the state, the export, the rollback.
        home = await admin.send("/kb")
        assert "Base de connaissances" in text_of(home) and "aid" in text_of(home)
        assert "telegram:900" in text_of(home)
        count = len(fake.documents(ADMIN))
        await admin.press("Exporter", home[-1])
        exported = fake.documents(ADMIN)[count:]
        assert sorted(m.document["file_name"] for m in exported if m.document) == sorted(
            f"{name}.json" for name in COLLECTIONS)
        assert {m.document["file_name"]: m.document_data for m in exported if m.document} == {
            f"{name}.json": data for name, data in snapshot(kdir).items()}

        versions = await admin.press("Revenir en arrière", home[-1])
        buttons = [t for t, _ in FakeBotAPI.buttons(versions[-1])]
        assert any(version in t for t in buttons) and len(buttons) >= 2
        preview = await admin.press(f"Revenir à {json.loads(before['meta'])['version']}")
        assert SCHEME in text_of(preview) and "retiré" in text_of(preview)
        done = await admin.press("Appliquer", until="en service")
        assert "en service" in text_of(done)
        restored = json.loads((kdir / "aid.json").read_text())
        assert restored == json.loads(before["aid"])
        rollback_user = User(fake, 914, "fr")
        await start_plan(rollback_user, "Occitanie", 0)
        assert SCHEME_NAME not in await finish_plan(rollback_user, "Occitanie", 0)
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []


async def test_an_apply_from_the_command_line_goes_live_without_restart(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    kdir = knowledge_copy(tmp_path)
    data_dir = tmp_path / "data"
    process = await start_bot(fake, data_dir, {"KNOWLEDGE_DIR": str(kdir)})
    try:
        change = tmp_path / "aid.json"
        change.write_text(json.dumps({"upsert": [new_scheme(kdir)]}))
        env = {"KNOWLEDGE_DIR": str(kdir), "DATA_DIR": str(data_dir)}
        result = await asyncio.to_thread(
            subprocess.run, [*BOT_COMMAND, "kb", "apply", str(change)],
            capture_output=True, text=True, cwd=tmp_path, timeout=60,
            env={**__import__("os").environ, **env})
        assert result.returncode == 0, result.stderr
        assert "applied" in result.stdout
        await asyncio.sleep(3)  # the bot looks at the directory every 2 s
        user = User(fake, 930, "fr")
        await start_plan(user, "Occitanie", 0)
        assert SCHEME_NAME in await finish_plan(user, "Occitanie", 0)
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors


async def test_admin_chats_get_kb_in_their_command_menu(fake: FakeBotAPI, bot: Bot) -> None:
    fake.send_message(ADMIN, "/start")  # the admin's chat exists; 999's does not
    await register_commands(bot, Renderer(), (ADMIN, 999))
    assert {"kb", "advisor"} <= {c["command"] for c in fake.commands(scope=f"chat:{ADMIN}")}
    assert {"kb", "advisor"} <= {c["command"] for c in fake.commands("en", f"chat:{ADMIN}")}
    assert "kb" not in {c["command"] for c in fake.commands()}
    assert "alerts" in {c["command"] for c in fake.commands()}
    assert {e.description for e in fake.errors} == {"Bad Request: chat not found"}


async def test_the_bot_killed_while_applying_restarts_on_one_whole_version(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    """SIGKILL right after Apply is pressed, at a few moments: after a restart the base is
    the old version or the new one, whole, and the bot answers on it."""
    kdir = knowledge_copy(tmp_path)
    data_dir = tmp_path / "data"
    env = {"ADMIN_IDS": str(ADMIN), "KNOWLEDGE_DIR": str(kdir)}
    admin = Admin(fake, ADMIN, "fr")
    original = snapshot(kdir)
    applied_before = 0
    for attempt, delay in enumerate((0.0, 0.02, 0.06, 0.15)):
        process = await start_bot(fake, data_dir, env)
        try:
            shown = await admin.upload(json.dumps(
                {**new_scheme(kdir), "id": f"killed-{attempt}"}).encode())
            message = shown[-1]
            data = next(d for t, d in FakeBotAPI.buttons(message) if "Appliquer" in t)
            fake.press_button(ADMIN, message.message_id, str(data))
            await asyncio.sleep(delay)
        finally:
            await stop_bot(process, signal.SIGKILL)
        files = snapshot(kdir)
        ids = {r["id"] for r in json.loads(files["aid"])}
        killed = sorted(i for i in ids if i.startswith("killed-"))
        assert len(killed) in (applied_before, applied_before + 1)
        applied_before = len(killed)
        assert files["landing"] == original["landing"]  # untouched collections stay as they were
    # The bot starts on what is there, whole, and a new plan shows it.
    process = await start_bot(fake, data_dir, env)
    try:
        version = json.loads((kdir / "meta.json").read_text())["version"]
        home = await admin.send("/kb")
        assert version in text_of(home)
        user = User(fake, 940, "fr")
        await start_plan(user, "Occitanie", 0)
        plan = await finish_plan(user, "Occitanie", 0)
        assert (SCHEME_NAME in plan) == (applied_before > 0)
    finally:
        await stop_bot(process)
    assert not (kdir / ".pending").exists()
    assert [e for e in fake.errors if "query is too old" not in e.description] == []


async def test_hostile_uploads_are_refused_by_name_and_the_bot_stays_up(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    """Each of these used to pass, or to get the generic "technical problem" reply."""
    kdir = knowledge_copy(tmp_path)
    vie = json.loads((kdir / "vie_countries.json").read_text())
    us = next(r for r in vie if r["id"] == "us")

    def allowance(value: str) -> bytes:
        us["allowances"][0]["geographic_eur"] = 1.5
        text = json.dumps({"upsert": [us]})
        return text.replace('"geographic_eur": 1.5', f'"geographic_eur": {value}', 1).encode()

    scheme = new_scheme(kdir)
    scheme["criteria"] = [{"field": "turnover_eur", "op": "max", "value": 1.5,
                           "text": {"fr": "CA", "en": "Turnover"}}]

    def threshold(value: str) -> bytes:
        return json.dumps(scheme).replace('"value": 1.5', f'"value": {value}', 1).encode()
    many = {**new_scheme(kdir), "criteria": new_scheme(kdir)["criteria"] * 1000}
    twice = json.dumps(new_scheme(kdir)).replace('"provider": ', '"provider": "X", "provider": ')
    hostile = [
        ("aid.json", b"[" * 100_000 + b"]" * 100_000, "aid.json: nested more than 16 levels"),
        ("aid.json", threshold("1" * 5000),
         f"aid.json [{SCHEME}] criteria.0.value: a number of 5000 characters"),
        ("aid.json", threshold("NaN"),
         f"aid.json [{SCHEME}] criteria.0.value: NaN is not a number"),
        ("vie_countries.json", allowance("1e308"),
         "vie_countries.json [us] allowances.0.geographic_eur: Input should be less than or "
         "equal to 1000000000"),
        ("vie_countries.json", allowance("Infinity"),
         "vie_countries.json [us] allowances.0.geographic_eur: Infinity is not a number"),
        ("aid.json", twice.encode(),
         f"aid.json [{SCHEME}] provider: this key is written more than once"),
        ("aid.json", json.dumps(many).encode(),
         f"aid.json [{SCHEME}] criteria: List should have at most 20 items"),
    ]
    before = snapshot(kdir)
    process = await start_bot(fake, tmp_path / "data", {"ADMIN_IDS": str(ADMIN),
                                                         "KNOWLEDGE_DIR": str(kdir)})
    try:
        admin = Admin(fake, ADMIN, "fr")
        for name, data, reason in hostile:
            reply = await admin.upload(data, name)
            shown = text_of(reply)
            assert "Fichier refusé" in shown and reason in shown, (reason, shown)
            assert "problème technique" not in shown
            assert not any(FakeBotAPI.buttons(m) for m in reply)
        assert snapshot(kdir) == before
        assert "Base de connaissances" in text_of(await admin.send("/kb"))
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
