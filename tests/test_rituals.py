"""Ritual administration as an admin types it, and the shout-out rituals it schedules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import at
from tests.scenario import Scenario

MONDAY = at("2026-11-23 08:00")


@pytest.fixture
async def s(database) -> Scenario:
    scenario = Scenario(database, MONDAY)
    await scenario.join("U1", "ana", tz="Europe/Berlin", admin=True)  # a Slack admin: Tend admin
    await scenario.join("U2", "bo", tz="Asia/Tokyo")
    return scenario


async def test_add_shows_the_schedule_and_the_next_run_in_the_callers_time_zone(s):
    said = await s.command("U1", "tend ritual add opener #standup mon,wed 09:25 Europe/London")
    assert "#1 opener in #standup: Mon and Wed at 09:25 (Europe/London)" in said
    assert "next Mon 23 Nov 10:25 your time" in said  # ana is in Berlin, an hour ahead of London


async def test_the_time_zone_defaults_to_the_callers_own(s):
    said = await s.command("U1", "tend ritual add shoutout-prompt here fri 15:00")
    assert "(Europe/Berlin)" in said and "in #C1" in said


async def test_list_shows_every_ritual_and_its_state(s):
    await s.command("U1", "tend ritual add shoutout-prompt #team fri 15:00")
    await s.command("U1", "tend ritual add shoutout-digest #team fri 16:00")
    await s.command("U1", "tend ritual pause 2")
    listed = await s.command("U1", "tend ritual list")
    assert "#1 shoutout-prompt in #team: Fri at 15:00" in listed and "next Fri 27 Nov 15:00" in listed
    assert "#2 shoutout-digest in #team: Fri at 16:00 (Europe/Berlin); paused" in listed


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "tend ritual add opener #team mondya 09:25",
            "Example, typed in #team: `/tend ritual add opener here mon 09:25`",
        ),
        ("tend ritual add opener #team mon", "time"),
        ("tend ritual add opener #team mon 25:00", "25:00"),
        ("tend ritual add retro #team mon 09:25", "opener, shoutout-prompt, shoutout-digest"),
        ("tend ritual add opener #team daily 09:25 Mars/Olympus", "isn't a time zone I know"),
        ("tend ritual add opener #team daily 09:25 Europe/Berlin please", "is a time zone: put it last"),
        ("tend ritual add opener mon 09:25", "Example: `/tend ritual add"),
        ("tend ritual pause 99", "no ritual #99"),
        ("tend ritual remove x", "Example: `/tend ritual remove"),
    ],
)
async def test_every_mistake_says_what_was_wrong_and_shows_an_example(s, line, expected):
    said = await s.command("U1", line)
    assert expected.lower() in said.lower()
    assert "no rituals yet" in (await s.command("U1", "tend ritual list")).lower()


async def test_only_admins_manage_rituals(s):
    await s.command("U1", "tend ritual add shoutout-prompt #team fri 15:00")
    for line in (
        "tend ritual add opener #x mon 09:00",
        "tend ritual list",
        "tend ritual pause 1",
        "tend ritual remove 1",
    ):
        assert "Only a Tend admin" in await s.command("U2", line)


async def test_one_workspace_cannot_see_or_change_anothers_rituals(s):
    await s.command("U1", "tend ritual add shoutout-prompt #team fri 15:00")
    await s.join("V1", "vera", workspace="T2", admin=True)  # administers T2 in Slack: its Tend admin
    assert "no ritual #1" in await s.command("V1", "tend ritual remove 1", workspace="T2")
    assert "No rituals yet" in await s.command("V1", "tend ritual list", workspace="T2")
    assert "#1 shoutout-prompt" in await s.command("U1", "tend ritual list")


async def test_removed_rituals_never_fire(s):
    await s.command("U1", "tend ritual add shoutout-prompt #team daily 09:00 UTC")
    assert "Removed ritual #1" in await s.command("U1", "tend ritual remove 1")
    await s.run_until(MONDAY + timedelta(days=2), step=timedelta(hours=1))
    assert s.sender.posts("team") == []


async def test_the_weekly_prompt_and_digest_read_back_the_weeks_thanks_without_counts(s):
    await s.command("U1", "tend ritual add shoutout-prompt #team fri 15:00 UTC")
    await s.command("U1", "tend ritual add shoutout-digest #team fri 16:00 UTC")
    await s.command("U1", "kudos <@U2|bo> thanks for the release notes", place="team")
    await s.command("U2", "kudos <@U1|ana> thanks for the pairing", place="team")
    await s.command("U1", "kudos <@U2|bo> thanks again", place="elsewhere")
    await s.run_until(at("2026-11-27 16:30"), step=timedelta(hours=1))
    prompt, *_ = [p for p in s.sender.posts("team") if p.card.title == "Who helped you this week?"]
    assert [b.action for b in prompt.card.buttons] == ["kudos.open"]
    [digest] = [p for p in s.sender.posts("team") if p.card.title == "This week's shout-outs"]
    text = digest.card.fallback
    assert "@ana → @bo: thanks for the release notes" in text and "@bo → @ana: thanks for the pairing" in text
    assert "thanks again" not in text  # given in another channel
    assert not any(ch.isdigit() for ch in text.replace("@", ""))  # no counts, no ranking
