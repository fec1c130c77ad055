"""End to end, `python -m bot` over HTTP: a person tapping fast is never cut, a flood gets a
handful of replies, the same junk sixty times gets one."""

from __future__ import annotations

import pytest

from bot.dialog.matching import normalise
from tests.e2e.fake_api import FakeBotAPI
from tests.e2e.test_bot_e2e import User, bot_process, text_of  # noqa: F401 - a fixture

FLOOD = 60


async def tap(fake: FakeBotAPI, user: User, label: str) -> None:
    """Press a button of the latest keyboard as soon as the bot has answered the last press."""
    message = user.keyboard_message()
    data = next(d for t, d in FakeBotAPI.buttons(message) if d and normalise(label) in normalise(t))
    fake.press_button(user.id, message.message_id, data)
    await fake.wait_idle(quiet=0.05, timeout=15)


@pytest.mark.usefixtures("bot_process")
async def test_a_person_tapping_fast_through_the_dialog_is_never_cut(fake: FakeBotAPI) -> None:
    user = User(fake, 911, "fr")
    await user.send("/start")
    presses = 0
    for label in ("SaaS", "Amérique du Nord", "États-Unis", "San Francisco", "10 à 49",
                  "1 à 10 M€", "Auvergne-Rhône-Alpes", "Premiers pas", "Oui, 2",
                  "50 à 150 k€"):
        # The VIE answer ("Oui, 2" is one tap) is changed twice: as many presses as before.
        for again in ((label,) if label == "SaaS" else (label, "Retour") * 2 + (label,)
                      if label == "Oui, 2" else (label, "Retour", label)):
            await tap(fake, user, again)
            presses += 1
    await user.skip_optional()
    (plan,) = await user.press("Voir mon plan")
    assert presses + 1 > 30
    assert "San Francisco" in plan.plain_text
    assert "San Francisco" in await user.section("Où atterrir")
    toasts = [q.answer.get("text") for q in fake.callbacks.values() if q.answer]
    assert not any(toasts), toasts  # no press was refused, not even with a toast
    assert fake.unanswered_callbacks() == [] and fake.errors == []


@pytest.mark.usefixtures("bot_process")
async def test_a_flood_gets_at_most_ten_replies_and_repeated_junk_one(fake: FakeBotAPI) -> None:
    spammer, repeater = User(fake, 912, "fr"), User(fake, 913, "fr")
    for user in (spammer, repeater):
        await user.send("/start")
    before = {u.id: len(fake.messages(u.id)) for u in (spammer, repeater)}
    for i in range(FLOOD):  # within a second: the bot gets them in one batch or two
        fake.send_message(spammer.id, f"n'importe quoi {i}")
        fake.send_message(repeater.id, "asdfgh")
    await fake.wait_idle(quiet=0.5, timeout=30)

    replies = [m.plain_text for m in fake.messages(spammer.id)[before[spammer.id]:]]
    assert 1 < len(replies) <= 10
    assert sum("Doucement" in r for r in replies) == 1
    [junk] = [m.plain_text for m in fake.messages(repeater.id)[before[repeater.id]:]]
    assert "pas compris" in junk
    assert fake.errors == []
