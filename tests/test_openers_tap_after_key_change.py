"""A check-in tap after the server key changed (``TEND_PREVIOUS_SECRET_KEYS``), through the engine: the
person's earlier answer is found under the old key and replaced, so the card's count does not grow, while
a newcomer's tap adds one. The tap reads the occurrence, the count and the earlier answer in one statement
(``storage.openers.tap_target``), so the count shown is worked out rather than read after the write."""

from __future__ import annotations

from practices.sealing import Keyring, new_key_text
from storage.db import Database
from storage.models import OpenerAnswer
from tests.test_meeting_openers import PEOPLE, card_post, fired, rows, run_until, tap, updates


async def test_a_tap_after_a_key_change_replaces_the_earlier_answer(database: Database) -> None:
    s = await fired(database)
    old = Keyring(new_key_text().encode())
    s.engine.secret_key = s.scheduler.secret_key = old
    post = card_post(s)
    for user in PEOPLE[:3]:
        await tap(s, user, post, 3)
    assert "3 answers" in updates(s)[-1].card.fallback

    new = Keyring(new_key_text().encode(), [old])  # the switch: the old key only reads now
    s.engine.secret_key = s.scheduler.secret_key = new
    assert "tap again to change it" in await tap(s, PEOPLE[0], post, 1)
    assert "3 answers" in updates(s)[-1].card.fallback and len(await rows(database, OpenerAnswer)) == 3
    await tap(s, PEOPLE[3], post, 5)
    assert "4 answers" in updates(s)[-1].card.fallback and len(await rows(database, OpenerAnswer)) == 4
    await tap(s, PEOPLE[3], post, 4)  # the newcomer again, under the current key
    assert "4 answers" in updates(s)[-1].card.fallback and len(await rows(database, OpenerAnswer)) == 4

    s.sender.sent.clear()
    await run_until(s, "2025-03-03 21:00")  # closed: every answer opens under the new keyring
    [closing] = updates(s)
    assert "4 people answered" in closing.card.fallback
