"""End to end over HTTP: a client referred by an advisor hands off their plan, then shares it."""

from __future__ import annotations

import json
from pathlib import Path

from bot.advisors.repository import AdvisorRepository
from bot.app import STATE_DIR
from bot.storage.journal import JournalStore
from tests.e2e.fake_api import BOT_USERNAME, FakeBotAPI
from tests.e2e.test_bot_e2e import User, start_bot, stop_bot, text_of

ADVISOR, CLIENT = 801, 802


async def make_link(data_dir: Path) -> str:
    """An advisor and a link, written to the bot's store before it starts (one process per
    journal store)."""
    kv = JournalStore(data_dir / STATE_DIR)
    try:
        advisors = AdvisorRepository(kv)
        await advisors.register(ADVISOR, "Claire Martin", "CCI Occitanie")
        return await advisors.create_link(ADVISOR, {"sector": "saas", "target_region": "asia",
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
        for label in ("10 à 49", "1 à 10 M€", "Occitanie", "Premiers pas", "Non", "20 à 50 k€"):
            await client.press(label)
        plan = await client.press("Voir mon plan")
        assert "Singapour" in text_of(plan) and "transmettre" in plan[-1].plain_text
        before = len(fake.messages(ADVISOR))
        done = await client.press("Oui, transmettre")
        assert "transmis à Claire Martin" in text_of(done)
        handoffs = fake.messages(ADVISOR)[before:]
        assert len(handoffs) == 1
        handoff = handoffs[0]
        assert "Singapour" in handoff.plain_text and "SaaS" in handoff.plain_text
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
        assert "partagé" in shared[0].plain_text and "Singapour" in text_of(shared)
    finally:
        await stop_bot(process)
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []
    assert not [v for v in fake.violations if "InlineQuery" in v or "inline button" in v]
