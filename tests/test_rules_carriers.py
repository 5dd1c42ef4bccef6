"""Culture-carrier rules with no database: who is a newcomer, who may be chosen (carriers at their cap,
away or ambassadors at the default cap), the check-in steps, who may answer one, and who hears a hand."""

from __future__ import annotations

from datetime import timedelta

from practices.carrier_choice import Newcomer, choose_carrier
from practices.carriers import (
    CHECKINS,
    DEFAULT_CAP,
    ONLY_ADMINS,
    THANKS_HAND_ALONE,
    add_refusal,
    added_answer,
    carrier_pool,
    checkin_intents,
    checkin_step,
    hand_answer,
    introduction_intents,
    is_newcomer,
    name_carriers,
    new_pairing,
    tap_role,
)
from practices.hours import hours_of
from practices.messages import DirectMessage, Reply
from storage.models import Carrier, Member, NewcomerPairing
from tests.helpers import at

NOW = at("2025-03-04 10:00")


def person(member_id: int, name: str, **extra: object) -> Member:
    fields: dict[str, object] = {"created_at": NOW - timedelta(days=90), **extra}
    return Member(
        id=member_id,
        workspace_id=1,
        platform_user_id=name.upper(),
        display_name=name,
        time_zone="Europe/Berlin",
        **fields,
    )


ANA, CY, NEW = person(1, "ana"), person(2, "cy"), person(9, "nia", created_at=NOW.replace(hour=0))


def carrier(member: Member, cap: int) -> Carrier:
    return Carrier(workspace_id=1, member_id=member.id or 0, cap=cap, created_at=NOW)


def test_a_newcomer_is_someone_tend_met_today_or_yesterday_and_not_a_bot():
    assert is_newcomer(NEW, NOW)
    assert not is_newcomer(ANA, NOW)
    assert not is_newcomer(person(8, "bot", created_at=NOW, is_bot=True), NOW)


def test_a_carrier_at_their_cap_or_away_is_passed_over_and_ambassadors_carry_at_the_default_cap():
    away = person(3, "dee", paused_until=(NOW + timedelta(days=5)).date())
    pool = carrier_pool([(carrier(ANA, 1), ANA), (carrier(away, 3), away)], [CY], {1: 1}, {}, NOW)
    by_id = {c.member_id: c for c, _ in pool}
    assert by_id[2].cap == DEFAULT_CAP and not by_id[3].available
    newcomer = Newcomer(9, frozenset(), hours_of(NEW))
    assert choose_carrier(newcomer, [c for c, _ in pool], NOW.date()) == 2


def test_a_newcomer_with_no_carrier_free_waits_with_no_check_in_due():
    assert new_pairing(1, 9, None, NOW).next_checkin_at is None
    assert new_pairing(1, 9, 2, NOW).next_checkin_at == NOW + CHECKINS[0]


def test_the_introductions_go_privately_to_both_and_never_without_a_carrier():
    pairing = NewcomerPairing(id=5, workspace_id=1, newcomer_id=9, carrier_id=2, started_at=NOW)
    intents = introduction_intents(pairing, NEW, CY)
    assert [(i.member_id, i.key) for i in intents if isinstance(i, DirectMessage)] == [
        (9, "carrier-intro:5:newcomer"),
        (2, "carrier-intro:5:carrier"),
    ]
    assert introduction_intents(pairing, NEW, None) == []


def test_check_ins_come_at_one_four_and_twelve_weeks_then_the_pairing_ends():
    pairing = NewcomerPairing(
        id=5, workspace_id=1, newcomer_id=9, carrier_id=2, started_at=NOW, next_checkin=0
    )
    first = checkin_step(pairing)
    assert first is not None and (first.number, first.next_at) == (1, NOW + timedelta(weeks=4))
    pairing.next_checkin = 2
    last = checkin_step(pairing)
    assert last is not None and (last.number, last.next_at) == (3, None)
    pairing.next_checkin = 3
    assert checkin_step(pairing) is None
    sent = checkin_intents(pairing, 3, NEW)
    assert [m.member_id for m in sent] == [9, 2] and "12 weeks" in sent[0].card.fallback


def test_only_the_newcomer_and_their_carrier_answer_a_check_in():
    pairing = NewcomerPairing(id=5, workspace_id=1, newcomer_id=9, carrier_id=2, started_at=NOW)
    assert (
        tap_role(9, pairing) == "newcomer"
        and tap_role(2, pairing) == "carrier"
        and tap_role(1, pairing) is None
    )


def test_a_newcomers_hand_goes_to_their_carrier_privately_and_a_carrier_is_pointed_to_the_others():
    pairing = NewcomerPairing(id=5, workspace_id=1, newcomer_id=9, carrier_id=2, started_at=NOW)
    note, answer = hand_answer("newcomer", NEW, pairing, 1, CY, []).intents
    assert isinstance(note, DirectMessage) and note.member_id == 2 and isinstance(answer, Reply)
    (alone,) = hand_answer("carrier", CY, pairing, 1, None, []).intents
    assert isinstance(alone, Reply) and THANKS_HAND_ALONE in alone.card.fallback
    (no_carrier,) = hand_answer("newcomer", NEW, pairing, 1, None, []).intents  # their carrier left
    assert isinstance(no_carrier, Reply) and THANKS_HAND_ALONE in no_carrier.card.fallback
    (others,) = hand_answer("carrier", CY, pairing, 1, None, [ANA]).intents
    assert isinstance(others, Reply) and "@ana" in others.card.fallback


def test_only_admins_name_carriers_new_ones_are_welcomed_and_existing_caps_kept_unless_given():
    assert add_refusal(False, [ANA]) == ONLY_ADMINS
    bot = add_refusal(True, [person(7, "helper", is_bot=True)])
    assert bot is not None and "bots can't welcome newcomers" in "".join(map(str, bot))
    assert add_refusal(True, [ANA]) is None
    naming = name_carriers(1, [ANA, CY], {1: carrier(ANA, 5)}, None, NOW)
    assert [c.cap for c in naming.carriers] == [5, DEFAULT_CAP] and naming.caps == {5, DEFAULT_CAP}
    assert [w.member_id for w in naming.welcomes] == [2]
    assert "each up to their own cap" in "".join(map(str, added_answer([ANA, CY], naming.caps, 0)))
    assert "2 newcomer(s) who were waiting" in "".join(map(str, added_answer([CY], frozenset({3}), 2)))
    assert name_carriers(1, [ANA], {1: carrier(ANA, 5)}, 2, NOW).carriers[0].cap == 2
