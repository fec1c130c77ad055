"""End to end over HTTP: an admin re-verifies the records past the horizon (`/kb stale`).

The real `python -m bot` (its clock starting on the tests' TODAY) polls the strict fake Bot API;
one bot start for the whole walk: the oldest record first with its source link, ✅ records
today's check in the live file, ✏️ sends the record as a file, ⏭️ skips, old buttons are stale,
English admins read English, a non-admin gets the unknown-command reply.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from bot.kb.admin import KnowledgeAdmin
from bot.kb.stale import find, stale_records
from tests.conftest import TODAY
from tests.e2e.fake_api import BotMessage, FakeBotAPI
from tests.e2e.test_bot_e2e import start_bot, stop_bot, text_of
from tests.e2e.test_kb_admin_e2e import Admin, knowledge_copy, snapshot

ADMIN, ENGLISH_ADMIN, STRANGER = 900, 901, 920
STALE_TOAST = "Ce bouton vient d'un ancien message."


def live(kdir: Path, collection: str, rid: str | None) -> dict[str, Any]:
    rec = find({collection: json.loads((kdir / f"{collection}.json").read_text())},
               collection, rid)
    assert rec is not None, (collection, rid)
    return rec


def button(message: BotMessage, label: str) -> str:
    found = [d for t, d in FakeBotAPI.buttons(message) if d and label in t]
    assert found, (label, FakeBotAPI.buttons(message))
    return found[0]


async def until(fake: FakeBotAPI, chat_id: int, count: int, text: str,
                timeout: float = 30) -> list[BotMessage]:
    """The bot's messages after the first `count`, once one holds `text` (a step whose work
    runs in a thread, an apply or a load, can be quiet for longer than `wait_idle` waits)."""
    deadline = time.monotonic() + timeout
    while not any(text in m.plain_text for m in fake.messages(chat_id)[count:]):
        assert time.monotonic() < deadline, (text, text_of(fake.messages(chat_id)[count:]))
        await asyncio.sleep(0.05)
    await fake.wait_idle(quiet=0.3, timeout=15)
    return fake.messages(chat_id)[count:]


async def send(user: Admin, text: str, expect: str) -> list[BotMessage]:
    count = len(user.fake.messages(user.id))
    user.fake.send_message(user.id, text, language_code=user.language)
    return await until(user.fake, user.id, count, expect)


def toast(fake: FakeBotAPI, count: int) -> list[str | None]:
    """How the bot answered the callback queries after the first `count`."""
    return [(q.answer or {}).get("text") for q in list(fake.callbacks.values())[count:]]


async def test_an_admin_walks_through_the_stale_records(fake: FakeBotAPI,
                                                        tmp_path: Path) -> None:
    kdir = knowledge_copy(tmp_path)
    kb, _ = KnowledgeAdmin(kdir, tmp_path / "scratch", FixedClock.on(TODAY)).load()
    items = stale_records(kb, TODAY)
    total = len(items)
    assert total >= 4
    process = await start_bot(fake, tmp_path / "data", {
        "ADMIN_IDS": f"{ADMIN},{ENGLISH_ADMIN}", "KNOWLEDGE_DIR": str(kdir)})
    try:
        admin, english = Admin(fake, ADMIN, "fr"), Admin(fake, ENGLISH_ADMIN, "en")
        stranger = Admin(fake, STRANGER, "fr")

        # A non-admin: /kb stale is an unknown command.
        reply = await send(stranger, "/kb stale", "Je ne connais pas")
        assert "Je ne connais pas cette commande" in text_of(reply)

        # /kb shows the button with the count.
        home = await send(admin, "/kb", "Base de connaissances")
        assert f"🕰️ Revérifier ({total})" in [t for t, _ in FakeBotAPI.buttons(home[-1])]

        # The first item: the oldest record (never dated), its source link, "1 sur N".
        (first,) = await send(admin, "/kb stale", "1 sur")
        assert f"À revérifier · 1 sur {total}" in first.plain_text, first.plain_text
        url = str(items[0].source.url)
        assert url in first.plain_text
        assert any(e.get("url") == url for e in first.entities), first.entities
        assert [t for t, _ in FakeBotAPI.buttons(first)] == [
            "✅ Toujours vrai", "✏️ À modifier", "⏭️ Passer"]

        # ✅ tapped twice before the bot answers: the first records today's check, the second
        # is stale and does not touch the record shown next.
        before = snapshot(kdir)
        pressed = len(fake.callbacks)
        count = len(fake.messages(ADMIN))
        ok = button(first, "Toujours vrai")
        fake.press_button(ADMIN, first.message_id, ok)
        fake.press_button(ADMIN, first.message_id, ok)
        shown = await until(fake, ADMIN, count, f"2 sur {total}")
        assert len(shown) == 2, text_of(shown)
        assert "vérifié le 2 décembre 2026" in shown[0].plain_text, shown[0].plain_text
        assert "en service" in shown[0].plain_text
        assert f"2 sur {total}" in shown[1].plain_text
        assert toast(fake, pressed) == [None, STALE_TOAST]
        assert live(kdir, items[0].collection, items[0].id)["sources"][0]["checked"] == \
            TODAY.isoformat()
        assert live(kdir, items[1].collection, items[1].id) == find(
            {items[1].collection: json.loads(before[items[1].collection])},
            items[1].collection, items[1].id)
        second = shown[1]

        # ✏️: the record as <collection>.json to edit and send back, then the next one.
        documents = len(fake.documents(ADMIN))
        edited = await admin.press("À modifier", second, until=f"3 sur {total}")
        (document,) = fake.documents(ADMIN)[documents:]
        assert document.document is not None and document.document_data is not None
        assert document.document["file_name"] == f"{items[1].collection}.json"
        expected = live(kdir, items[1].collection, items[1].id)
        assert json.loads(document.document_data) == (
            {"upsert": [expected]} if items[1].id else expected)
        assert "corrigez ce fichier" in document.plain_text
        assert f"3 sur {total}" in text_of(edited)

        # ⏭️: the next one, nothing written.
        on_disk = snapshot(kdir)
        skipped = await admin.press("Passer", until=f"4 sur {total}")
        assert f"4 sur {total}" in text_of(skipped)
        assert snapshot(kdir) == on_disk
        fourth = skipped[-1]

        # A new walk from /kb: one fewer due; a button of the earlier walk's item is stale.
        home = await send(admin, "/kb", "Base de connaissances")
        assert f"🕰️ Revérifier ({total - 1})" in [t for t, _ in FakeBotAPI.buttons(home[-1])]
        restarted = await admin.press("Revérifier", home[-1], until="1 sur")
        assert f"1 sur {total - 1}" in text_of(restarted)
        pressed = len(fake.callbacks)
        old = await admin.press("Toujours vrai", fourth)
        assert old == [] and toast(fake, pressed) == [STALE_TOAST]
        assert snapshot(kdir) == on_disk

        # An English admin reads English.
        (shown_en,) = await send(english, "/kb stale", "1 of")
        assert f"Due for re-verification · 1 of {total - 1}" in shown_en.plain_text
        assert "Open the page and compare it with the record" in shown_en.plain_text
        assert [t for t, _ in FakeBotAPI.buttons(shown_en)] == [
            "✅ Still true", "✏️ Needs a change", "⏭️ Skip"]
    finally:
        await stop_bot(process)
    entries = KnowledgeAdmin(kdir, tmp_path / "data").history()
    assert [(e["action"], e["who"]) for e in entries] == [("recheck", f"telegram:{ADMIN}")]
    # The double tap's second press removes buttons already gone: Telegram says "message is
    # not modified", which drop_keyboard ignores.
    assert [e for e in fake.errors if not (e.method == "editMessageReplyMarkup"
                                           and "not modified" in e.description)] == []
    assert fake.unanswered_callbacks() == []
