"""An organisation's own route for when the support rota is away (``/tend support fallback``): admins
set it, anyone can see it, it wins over the instance's TEND_SUPPORT_FALLBACK in the answer to a request
and in the reminder that a request is still open, and ``off`` goes back to the instance's words."""

from __future__ import annotations

from datetime import timedelta

from practices import stress_reports as stress
from practices import support_fallback as fallback
from tests.test_support_stall import ANA, BO, EAP, FRIDAY_EVENING, KIM, LEE, MONDAY, TALK, people

OURS = "Ring the Acme wellbeing line on 0800 999 000, or write to care@acme.example"


async def test_an_admin_gives_the_workspace_its_own_route_and_askers_are_offered_it(database):
    s = await people(FRIDAY_EVENING, database, fallback=EAP)
    shown = await s.command(BO, "tend support fallback")  # anyone may see where Tend points people
    assert EAP in shown and "/tend support fallback Call our EAP" in shown
    refused = await s.command(BO, f"tend support fallback {OURS}")
    assert refused == fallback.ONLY_ADMINS
    saved = await s.command(ANA, f"tend support fallback {OURS}")
    assert saved.startswith("Saved.") and OURS in saved

    answer = await s.submit(BO, "stress.report", TALK)
    assert f"If you'd like to talk to someone sooner: {OURS}" in answer and EAP not in answer
    shown = await s.command(BO, "tend support fallback")
    assert "this workspace's own route" in shown and OURS in shown and "/tend support fallback off" in shown

    reset = await s.command(ANA, "tend support fallback off")
    assert reset.startswith("Back to the default") and EAP in reset
    answer = await s.submit(BO, "stress.report", TALK)
    assert f"If you'd like to talk to someone sooner: {EAP}" in answer and OURS not in answer


async def test_without_an_instance_route_off_goes_back_to_tends_general_advice(database):
    s = await people(FRIDAY_EVENING, database)
    await s.command(ANA, f"tend support fallback {OURS}")
    assert OURS in await s.submit(BO, "stress.report", TALK)
    assert "employee assistance programme" in await s.command(ANA, "tend support fallback off")
    answer = await s.submit(BO, "stress.report", TALK)
    assert OURS not in answer and "your manager, HR, or your employee assistance programme" in answer


async def test_the_still_open_reminder_offers_the_workspaces_own_route(database):
    s = await people(MONDAY, database, fallback=EAP, key=b"k" * 32)
    await s.command(ANA, f"tend support fallback {OURS}")
    await s.submit(BO, "stress.report", TALK)
    await s.command(KIM, "tend pause until 2025-03-24")  # the whole rota goes on leave after the request
    await s.command(LEE, "tend pause until 2025-03-24")
    await s.run_until(MONDAY + timedelta(hours=50), step=timedelta(minutes=30))
    [note] = s.sender.directs(BO)
    assert note.card.title == stress.STILL_OPEN_TITLE
    assert OURS in note.card.fallback and EAP not in note.card.fallback


async def test_a_route_too_long_is_refused_with_an_example_and_nothing_changes(database):
    s = await people(MONDAY, database, fallback=EAP)
    answer = await s.command(ANA, "tend support fallback " + "x" * (fallback.MAX_FALLBACK + 1))
    assert f"to {fallback.MAX_FALLBACK} characters; that was {fallback.MAX_FALLBACK + 1}" in answer
    assert fallback.EXAMPLE in answer
    assert EAP in await s.command(ANA, "tend support fallback")
