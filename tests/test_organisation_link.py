"""One organisation across Slack and Teams (issue 16): a Slack workspace and a Teams tenant linked with
a one-time code, through one engine with a sender per platform, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.engine import Engine
from bot.events import CommandReceived, PersonRef
from storage import compassion_index as index_store
from storage.models import (
    Member,
    OrganizationLinkCode,
    Signal,
    TeamMembership,
    Workspace,
)
from tests.helpers import at
from tests.scenario import Scenario, text_of

START = at("2025-03-03 10:00")  # a Monday, inside everyone's default working hours
# Slack people: ana (admin), kim (support rota), sam, lou; Teams people: tom and tia (admins), bojana, eve.
ANA, KIM, SAM, LOU = "U0ANA", "U0KIM", "U0SAM", "U0LOU"
TOM, TIA, BO, EVE = "29:tom-aad", "29:tia-aad", "29:bo-aad", "29:eve-aad"
NAMES = {ANA: "ana", KIM: "kim", SAM: "sam", LOU: "lou", TOM: "tom", TIA: "tia", BO: "bojana", EVE: "eve"}
CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b")
REPORT = {"intensity": "4", "category": "workload", "words": "Three launches at once.", "support": "talk"}


class Named(Scenario):
    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))


class Both:
    """A Slack workspace and a Teams tenant served by one Tend (one engine, one delivery worker)."""

    def __init__(self, database) -> None:
        self.database = database
        self.slack = Named(database, START)
        self.teams = Named(database, START, platform="teams")
        self.teams.clock = self.slack.clock
        self.teams.sender.clock = self.slack.clock
        engine = Engine(database, self.slack.clock, {"slack": self.slack.sender, "teams": self.teams.sender})
        engine.delivery.pacing = {}
        self.slack.engine = self.teams.engine = engine

    async def setup(self) -> None:
        for user in (ANA, KIM, SAM, LOU):
            await self.slack.join(user, NAMES[user], admin=user == ANA)
        for user in (TOM, TIA, BO, EVE):
            await self.teams.join(user, NAMES[user], admin=user in (TOM, TIA))
        self.clear()

    def clear(self) -> None:
        self.slack.sender.sent.clear()
        self.teams.sender.sent.clear()

    async def code(self) -> str:
        answer = await self.slack.command(ANA, "tend link start", direct=True)
        found = CODE.search(answer)
        assert found, answer
        return found.group(1)

    async def link(self) -> None:
        code = await self.code()
        assert "Linked" in await self.teams.command(TOM, f"tend link confirm {code}")
        self.clear()

    async def rows(self, model) -> list:
        async with self.database.session() as session:
            return list((await session.exec(select(model))).all())

    async def organisations(self) -> dict[str, int]:
        return {w.platform: w.organization_id for w in await self.rows(Workspace)}

    async def member(self, user: str) -> Member:
        return next(m for m in await self.rows(Member) if m.platform_user_id == user)


@pytest.fixture
async def both(database) -> Both:
    made = Both(database)
    await made.setup()
    return made


def directs(scenario: Scenario, user: str) -> str:
    return "\n".join(sent.card.fallback for sent in scenario.sender.directs(user))


async def test_a_code_issued_in_slack_confirmed_in_teams_makes_one_organisation(both):
    answer = await both.slack.command(ANA, "tend link start", direct=True)
    code = CODE.search(answer).group(1)
    assert "/tend link confirm " + code in answer and "24 hours" in answer and "works once" in answer
    # Only a keyed digest is stored: the database alone cannot link anyone's workspace.
    [stored] = await both.rows(OrganizationLinkCode)
    assert code.replace("-", "") not in repr(stored) and code not in repr(stored)

    assert "Alone" not in await both.teams.command(TOM, "tend link status")
    answer = await both.teams.command(TOM, f"tend link confirm {code.lower()}")  # any case works
    assert "Linked" in answer and "(Slack)" in answer and "(Teams)" in answer
    organisations = await both.organisations()
    assert organisations["slack"] == organisations["teams"]

    for scenario, user in ((both.slack, ANA), (both.teams, TOM), (both.teams, BO)):
        status = await scenario.command(user, "tend link status")
        assert "Acme (Slack)" in status and "Acme (Teams)" in status
    # Admins on both sides hear of it privately, each on their own platform; the one who confirmed
    # got the answer above.
    assert "linked" in directs(both.slack, ANA) and "/tend link remove" in directs(both.slack, ANA)
    assert "linked" in directs(both.teams, TIA)
    assert not both.slack.sender.directs(TIA) and not both.teams.sender.directs(ANA)
    assert not directs(both.teams, TOM)
    # Both admin logs say so.
    assert "linked workspaces into one organisation" in await both.slack.command(ANA, "tend admin log")
    assert "linked workspaces into one organisation" in await both.teams.command(TIA, "tend admin log")


async def test_wrong_expired_reused_and_own_codes_and_non_admins_get_friendly_answers(both):
    assert "Only a Tend admin" in await both.slack.command(SAM, "tend link start")
    code = await both.code()
    assert "Only a Tend admin" in await both.teams.command(BO, f"tend link confirm {code}")
    answer = await both.teams.command(TOM, "tend link confirm abc")
    assert "8 letters and digits" in answer and "/tend link confirm K7PM-Q2XD" in answer
    assert "don't know that link code" in await both.teams.command(TOM, "tend link confirm ZZZZ-ZZZZ")
    assert "issued here" in await both.slack.command(ANA, f"tend link confirm {code}")
    assert "Give the link code" in await both.teams.command(TOM, "tend link confirm")

    both.slack.clock.advance(timedelta(hours=25))
    assert "expired" in await both.teams.command(TOM, f"tend link confirm {code}")
    organisations = await both.organisations()
    assert organisations["slack"] != organisations["teams"]  # nothing the refusals did linked anything

    fresh = await both.code()
    assert "Linked" in await both.teams.command(TOM, f"tend link confirm {fresh}")
    assert "already part" in await both.teams.command(TIA, f"tend link confirm {fresh}")
    # A third workspace cannot reuse it.
    await both.slack.join("U0OTHER", "other", admin=True, workspace="T2")
    answer = await both.slack.command("U0OTHER", f"tend link confirm {fresh}", workspace="T2")
    assert "used already" in answer


async def test_confirming_twice_at_once_links_once_and_adds_counts_once(both):
    """Two admins confirm one code at the same moment (two replicas): one links, and the signals of
    both sides are added into one bucket exactly once."""
    organisations = await both.organisations()
    async with both.database.session() as session:
        for platform, count in (("slack", 2), ("teams", 3)):
            session.add(
                Signal(
                    organization_id=organisations[platform],
                    team_id=0,
                    week="2025-W10",
                    kind="kudos",
                    count=count,
                )
            )
    code = await both.code()
    engine = both.teams.engine
    answers = [
        text_of(answer)
        for answer in await asyncio.gather(
            *(
                engine.handle(CommandReceived(both.teams.origin(user), "tend", f"link confirm {code}"))
                for user in (TOM, TIA)
            )
        )
    ]
    assert sum("Linked" in answer for answer in answers) == 1, answers
    [bucket] = [s for s in await both.rows(Signal) if s.kind == "kudos"]
    assert (bucket.organization_id, bucket.count) == (organisations["slack"], 5)


async def test_a_team_made_in_slack_holds_teams_people_and_is_one_team_of_the_index(both):
    await both.link()
    assert "created" in (await both.slack.command(ANA, "tend team create platform")).lower()
    await both.slack.command(ANA, f"tend team add platform <@{KIM}|kim> <@{SAM}|sam> <@{LOU}|lou>")
    # From Teams, the same team is found by name and Teams people are added to it.
    answer = await both.teams.command(TOM, f"tend team add Platform <@{BO}|bojana> <@{EVE}|eve> <@{TIA}|tia>")
    assert "platform" in answer.lower()
    for scenario, user in ((both.slack, ANA), (both.teams, TOM)):
        listing = await scenario.command(user, "tend team list")
        assert listing.lower().count("platform") == 1 and "6" in listing
    [organisation] = set((await both.organisations()).values())
    async with both.database.session() as session:
        teams = await index_store.team_people(session, organisation)
    [(_team, people)] = teams.items()
    ids = {(await both.member(user)).id for user in (KIM, SAM, LOU, BO, EVE, TIA)}
    assert people == ids

    # Five shout-outs given on both sides in the team's week: one index, the same from either side,
    # resting on six people (three on each side alone would be below the minimum group size of 5).
    await both.slack.command(LOU, f"kudos <@{SAM}|sam> for the careful review")
    await both.slack.command(KIM, f"kudos <@{LOU}|lou> for the careful review")
    await both.teams.command(EVE, f"kudos <@{BO}|bojana> for covering on-call")
    await both.teams.command(TIA, f"kudos <@{EVE}|eve> for covering on-call")
    await both.teams.command(BO, f"kudos <@{TIA}|tia> for covering on-call")
    both.slack.clock.advance(timedelta(days=7))
    from_slack = await both.slack.command(ANA, "tend index platform")
    [card] = [answer.card for answer in both.slack.last_answers]
    assert "0.83 per person" in repr(card)  # 5 shout-outs / 6 people
    assert "/ 100 in week 2025-W10" in from_slack
    assert await both.teams.command(TOM, "tend index platform") == from_slack


async def test_a_teams_persons_support_request_is_answered_from_slack_and_the_reply_returns(both):
    assert "support rota" in await both.slack.command(ANA, f"tend support add <@{KIM}|kim>")
    await both.link()
    answer = await both.teams.submit(BO, "stress.report", REPORT)
    assert "nobody is on the support rota" not in answer
    [request] = both.slack.sender.directs(KIM)  # through Slack, where kim is
    assert "bojana" not in repr(request.card) and BO not in repr(request.card)
    [token] = [b.value for b in request.card.buttons if b.action == "stress.reply"]

    assert "[form stress.message" in await both.slack.click(KIM, "stress.reply", token, direct=True)
    await both.slack.submit(KIM, "stress.message", {"message": "I'm here. Want to talk?"}, token)
    [to_author] = both.teams.sender.directs(BO)  # through Teams, where bo is
    assert "I'm here. Want to talk?" in to_author.card.fallback
    assert not both.slack.sender.directs(BO)

    assert "[form stress.message" in await both.teams.click(BO, "stress.reply", token, direct=True)
    await both.teams.submit(BO, "stress.message", {"message": "Yes please, tomorrow?"}, token)
    assert "Yes please, tomorrow?" in directs(both.slack, KIM)
    assert not both.teams.sender.directs(KIM)


async def test_a_mention_of_someone_only_in_teams_says_where_to_thank_them(both):
    await both.link()
    answer = await both.slack.command(ANA, "kudos @tia for the launch plan")
    assert "tia is in Teams" in answer and "Mention or thank them in Teams" in answer
    assert not both.slack.sender.posts()
    # Someone in neither workspace still gets the ordinary answer.
    assert "don't know anyone called @zed" in await both.slack.command(ANA, "kudos @zed for the launch plan")


async def test_removing_a_workspace_splits_it_off_and_says_what_stays_where(both):
    await both.slack.command(ANA, f"tend support add <@{KIM}|kim>")
    await both.link()
    await both.slack.command(ANA, "tend team create platform")
    await both.slack.command(ANA, f"tend team add platform <@{KIM}|kim> <@{SAM}|sam>")
    await both.teams.command(TOM, f"tend team add platform <@{BO}|bojana>")

    assert "Only a Tend admin" in await both.teams.command(EVE, "tend link remove teams")
    assert "No workspace of this organisation" in await both.slack.command(ANA, "tend link remove nowhere")
    answer = await both.slack.command(ANA, "tend link remove teams")
    assert "Acme (Teams) is its own organisation again" in answer
    assert "1 team membership(s) ended" in answer and "index's figures so far stay" in answer
    assert "Link again any time with `/tend link start`." in answer  # a command to type, drawn as one
    organisations = await both.organisations()
    assert organisations["slack"] != organisations["teams"]
    assert "split Acme (Teams) off" in directs(both.teams, TOM)
    assert "split a workspace off" in await both.teams.command(TIA, "tend admin log")

    # The team stays in Slack with its Slack people; bo left it; Teams sees no team and no rota now.
    memberships = await both.rows(TeamMembership)
    assert {m.member_id for m in memberships} == {(await both.member(u)).id for u in (KIM, SAM)}
    assert "There are no teams" in await both.teams.command(TOM, "tend team list")
    assert "just this workspace" in await both.teams.command(TOM, "tend link status")
    assert "nothing to remove" in await both.teams.command(TOM, "tend link remove slack")
    both.clear()
    assert "nobody is on the support rota" in await both.teams.submit(BO, "stress.report", REPORT)
    assert not both.slack.sender.directs(KIM)


async def test_codes_are_kept_a_day_past_their_expiry_then_deleted(both):
    await both.code()
    both.slack.clock.advance(timedelta(hours=47))
    await both.slack.scheduler.tick()
    assert len(await both.rows(OrganizationLinkCode)) == 1  # expired: a late try still hears "expired"
    both.slack.clock.advance(timedelta(hours=2))
    await both.slack.scheduler.tick()
    assert await both.rows(OrganizationLinkCode) == []


async def test_a_slack_channels_weekly_digest_reads_back_the_thanks_given_in_slack(both):
    """Decided: a digest is read back in one channel of one platform, where only that platform's
    people can be mentioned, so it lists the shout-outs given there; Teams has its own."""
    await both.link()
    await both.slack.command(ANA, f"kudos <@{SAM}|sam> for the careful review")
    await both.teams.command(TOM, f"kudos <@{BO}|bojana> for covering on-call")
    assert "Added" in await both.slack.command(ANA, "tend ritual add shoutout-digest here mon 11:00")
    both.clear()
    await both.slack.advance(hours=1, minutes=5)
    [digest] = [post for post in both.slack.sender.posts("C1") if post.card.title == "This week's shout-outs"]
    assert "@ana → @sam: for the careful review" in digest.card.fallback
    assert "on-call" not in digest.card.fallback and "bojana" not in digest.card.fallback
    assert not both.teams.sender.posts()
