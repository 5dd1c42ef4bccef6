"""Team rules with no database: who may change a team, names, bots refused, the list's heads-up for a
team too small to show figures, and the answers naming who changed."""

from __future__ import annotations

from practices.messages import Outcome, plain
from practices.org_teams import (
    ADDED,
    ALREADY_IN,
    bad_name,
    channel_words,
    created_answer,
    describe,
    managers_answer,
    may_change_members,
    membership_answer,
    people_refusal,
    rises_to_manager,
    unique_people,
)
from storage.models import Member, Team, TeamMembership
from tests.helpers import at

TEAM = Team(id=4, workspace_id=1, name="platform", channel_id="C1", shoutout_channel_id="C1", created_at=at())


def person(member_id: int, name: str, workspace_id: int = 1, **extra: object) -> Member:
    return Member(
        id=member_id,
        workspace_id=workspace_id,
        platform_user_id=name.upper(),
        display_name=name,
        created_at=at(),
        **extra,
    )


SAM, KIM = person(1, "sam"), person(2, "kim")


def test_only_admins_or_the_teams_managers_change_who_is_in_it():
    assert may_change_members(True, None)
    assert may_change_members(False, TeamMembership(team_id=4, member_id=1, is_manager=True))
    assert not may_change_members(False, TeamMembership(team_id=4, member_id=1, is_manager=False))
    assert not may_change_members(False, None)


def test_a_team_name_is_one_word_of_at_most_80_characters():
    assert not bad_name("platform-web")
    assert bad_name("") and bad_name("two words") and bad_name("x" * 81)


def test_people_are_counted_once_and_only_from_this_workspace():
    assert unique_people(1, [SAM, SAM, person(3, "eve", workspace_id=2), KIM]) == [SAM, KIM]


def test_bots_and_nobody_are_refused_with_an_example():
    bot = people_refusal(TEAM, [SAM, person(9, "helper", is_bot=True)])
    assert isinstance(bot, Outcome) and "bots can't join one: @helper" in bot.intents[0].card.fallback
    nobody = people_refusal(TEAM, [])
    assert (
        isinstance(nobody, Outcome) and "/tend team add platform @sam @kim" in nobody.intents[0].card.fallback
    )
    assert people_refusal(TEAM, [SAM]) is None
    assert people_refusal(TEAM, [person(9, "helper", is_bot=True)], refuse_bots=False) is None


def test_the_answer_names_who_changed_and_who_already_was():
    assert membership_answer(TEAM, [SAM], [KIM], ADDED, ALREADY_IN) == (
        "Added @sam to *platform*.\n@kim is already in *platform*, so nothing changed for them."
    )
    assert managers_answer(TEAM, [SAM], [SAM], [KIM]) == (
        "*platform* is now managed by @sam.\n@sam also joined the team.\n"
        "@kim is already managing *platform*, so nothing changed for them."
    )


def test_a_plain_member_named_manager_rises_but_an_admin_stays_admin():
    assert rises_to_manager(SAM) and not rises_to_manager(person(5, "ada", role="admin"))


def test_the_list_warns_when_a_team_is_below_the_minimum_group_size():
    small = plain(describe(TEAM, 4, [SAM], min_group_size=5))
    assert "4 members" in small and "managed by @sam" in small
    assert "fewer than 5 people: figures for this team stay hidden" in small
    assert "stay hidden" not in plain(describe(TEAM, 5, [], min_group_size=5))


def test_a_team_created_in_a_channel_says_so_and_counts_its_rituals_and_one_without_says_how_to_add_one():
    here = channel_words("C1", "C1", is_direct=False)
    assert here == "this channel" and channel_words("C1", "C1", is_direct=True) != "this channel"
    (reply,) = created_answer("web", here, attributed=2).intents
    assert "Created team *web* for this channel" in reply.card.fallback
    assert "2 rituals already in that channel will count for web" in reply.card.fallback
    (reply,) = created_answer("web", None, attributed=0).intents
    assert "It has no channel" in reply.card.fallback and "/tend team create web here" in reply.card.fallback
