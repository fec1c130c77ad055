"""End to end over HTTP: a client referred by an advisor hands off their plan, then shares it."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

from pypdf import PdfReader

from bot.advisors.repository import AdvisorRepository
from bot.app import STATE_DIR
from bot.storage.journal import JournalStore
from tests.e2e.fake_api import BOT_USERNAME, FakeBotAPI
from tests.e2e.test_bot_e2e import User, start_bot, stop_bot, text_of

ADVISOR, CLIENT = 801, 802
ADVISOR2, CLIENT2, ADMIN = 803, 804, 805
PROFILE = ("10 à 49", "1 à 10 M€", "Occitanie", "Premiers pas", "Non", "20 à 50 k€")


async def make_link(data_dir: Path, advisor_id: int = ADVISOR,
                    name: str = "Claire Martin") -> str:
    """An advisor and a link, written to the bot's store before it starts (one process per
    journal store)."""
    kv = JournalStore(data_dir / STATE_DIR)
    try:
        advisors = AdvisorRepository(kv)
        await advisors.register(advisor_id, name, "CCI Occitanie")
        return await advisors.create_link(advisor_id, {"sector": "saas", "target_region": "asia",
                                                       "target_country": "sg",
                                                       "target_city": "singapore"})
    finally:
        await kv.close()


async def test_a_referred_client_hands_off_and_shares_the_plan(fake: FakeBotAPI,
                                                              tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True)
    code = await make_link(data_dir)
    process = await start_bot(fake, data_dir)
    try:
        advisor, client = User(fake, ADVISOR, "fr"), User(fake, CLIENT, "fr")
        await advisor.send("/help")  # the advisor has a chat with the bot
        welcome = await client.send(f"/start a_{code}")
        assert "Claire Martin" in welcome[0].plain_text and "3/8" in welcome[-1].plain_text
        for label in PROFILE:
            await client.press(label)
        await client.skip_optional()
        plan = await client.press("Voir mon plan")
        assert "Singapour" in text_of(plan) and "transmettre" in plan[-1].plain_text
        before = len(fake.messages(ADVISOR))
        done = await client.press("Oui, transmettre", until="transmis à Claire Martin")
        assert "transmis à Claire Martin" in text_of(done)
        handoffs = fake.messages(ADVISOR)[before:]
        assert len(handoffs) == 2  # the answers with the summary, then the PDF
        handoff, pdf = handoffs
        assert "Singapour" in handoff.plain_text and "SaaS" in handoff.plain_text
        assert "Par quoi commencer" in handoff.plain_text
        assert pdf.document is not None and pdf.document_data is not None
        assert pdf.document["file_name"].startswith("plan-export-singapour-")
        assert len(PdfReader(io.BytesIO(pdf.document_data)).pages) >= 2
        assert {"type": "text_link", "url": f"tg://user?id={CLIENT}"}.items() <= next(
            e for e in handoff.entities if e["type"] == "text_link").items()

        # Sharing: the inline query answers with the client's own plan and a start link.
        fake.send_inline_query(CLIENT, "")
        await fake.wait_idle(quiet=0.3, timeout=15)
        (query,) = fake.inline_queries.values()
        assert query.answered and query.results is not None and len(query.results) == 1
        text = query.results[0]["input_message_content"]["message_text"]
        assert f"https://t.me/{BOT_USERNAME}?start=s_" in text and "Singapour" in text
        assert query.answer is not None and json.loads(query.answer["is_personal"]) is True
        link = text[text.index("?start=") + len("?start="):].split()[0]
        shared = await advisor.send(f"/start {link}")
        assert len(shared) == 1  # the card: the summary of the shared plan
        assert "partagé" in shared[0].plain_text and "Par quoi commencer" in text_of(shared)
        documents = len(fake.documents(ADVISOR))
        await advisor.press("PDF", shared[0])
        deadline = time.monotonic() + 30
        while len(fake.documents(ADVISOR)) == documents:
            assert time.monotonic() < deadline, "no PDF of the shared plan"
            await asyncio.sleep(0.05)
        assert fake.documents(ADVISOR)[-1].document_data.startswith(b"%PDF")
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []
    assert not [v for v in fake.violations if "InlineQuery" in v or "inline button" in v]


async def test_consent_survives_another_link_and_a_deactivated_advisor_gets_nothing(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True)
    code = await make_link(data_dir)
    other = await make_link(data_dir, ADVISOR2, "Paul Durand")
    process = await start_bot(fake, data_dir, {"ADMIN_IDS": str(ADMIN)})
    try:
        advisor, advisor2 = User(fake, ADVISOR, "fr"), User(fake, ADVISOR2, "fr")
        client, late, admin = User(fake, CLIENT, "fr"), User(fake, CLIENT2, "fr"), User(
            fake, ADMIN, "fr")
        for user in (advisor, advisor2, admin):
            await user.send("/help")  # each has a chat with the bot
        await client.send(f"/start a_{code}")
        for label in PROFILE:
            await client.press(label)
        await client.skip_optional()
        await client.press("Voir mon plan")
        await client.press("Oui, transmettre", until="retirer votre accord")
        confirmation = client.keyboard_message()
        (handoff,) = [m for m in fake.messages(ADVISOR) if "vous transmet son plan" in m.plain_text]
        (pdf,) = fake.documents(ADVISOR)

        # The client opens another advisor's link: the consent given to the first stays.
        assert "Paul Durand" in (await client.send(f"/start a_{other}"))[0].plain_text
        before = len(fake.messages(ADVISOR))
        withdrawn = await client.press("Retirer mon accord", confirmation)
        assert "accord est retiré" in text_of(withdrawn) and "Claire Martin" in text_of(withdrawn)
        (notice,) = fake.messages(ADVISOR)[before - 2:]  # the hand-off and its PDF are deleted
        assert "retiré son accord" in notice.plain_text
        assert [m.deleted for m in fake.messages(ADVISOR, include_deleted=True)
                if m.message_id in (handoff.message_id, pdf.message_id)] == [True, True]

        # Another client reaches the question; the admin deactivates that advisor; Yes.
        await late.send(f"/start a_{other}")
        for label in PROFILE:
            await late.press(label)
        await late.skip_optional()
        await late.press("Voir mon plan")
        question = late.keyboard_message()
        assert "Paul Durand" in text_of(await admin.send(f"/advisor deactivate {ADVISOR2}"))
        before = len(fake.messages(ADVISOR2))
        shown = await late.press("Oui, transmettre", question)
        assert "Paul Durand n'est plus disponible" in text_of(shown)
        assert fake.messages(ADVISOR2)[before:] == []
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []
