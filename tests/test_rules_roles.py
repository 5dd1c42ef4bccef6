"""Admin rules with no database: who may grant or remove, the last admin kept, the platform's own admins
left to the platform, and the log's words."""

from __future__ import annotations

from practices.roles import ONLY_ADMINS, grant_rule, log_line, removal_rule
from storage import admin_audit as audit
from storage.models import AdminChange, Member
from tests.helpers import at


def person(member_id: int, name: str, role: str = "member", is_bot: bool = False) -> Member:
    return Member(
        id=member_id,
        workspace_id=1,
        platform_user_id=name.upper(),
        display_name=name,
        role=role,
        is_bot=is_bot,
        created_at=at(),
    )


ADA, SAM, KIM = person(1, "ada", "admin"), person(2, "sam"), person(3, "kim", "admin")


def test_only_admins_grant_and_bots_are_never_admins():
    assert grant_rule(False, [SAM]).answer == ONLY_ADMINS and grant_rule(False, [SAM]).members == ()
    bot = grant_rule(True, [SAM, person(9, "helper", is_bot=True)])
    assert bot.members == () and "@helper is a bot" in str(bot.answer)


def test_granting_changes_only_those_not_yet_admin_once_each_and_says_who_already_was():
    granted = grant_rule(True, [SAM, SAM, KIM])
    assert granted.members == (SAM,) and granted.role == "admin" and granted.change == audit.GRANTED
    assert granted.answer == "@sam can now administer Tend here.\n@kim already administer Tend here."


def test_the_last_admin_cannot_be_removed():
    last = removal_rule(True, [ADA], admin_count=1, by_platform=set(), platform="slack")
    assert last.members == () and "at least one admin" in str(last.answer)
    removed = removal_rule(True, [KIM, SAM], admin_count=2, by_platform=set(), platform="slack")
    assert removed.members == (KIM,) and removed.role == "member" and removed.change == audit.REMOVED
    assert (
        removed.answer
        == "@kim no longer administer Tend here.\n@sam is not a Tend admin, so there was nothing to remove."
    )


def test_an_admin_the_platform_made_is_left_to_the_platform():
    kept = removal_rule(True, [KIM], admin_count=3, by_platform={3}, platform="teams")
    assert kept.members == () and "change their role in Teams" in str(kept.answer)


def test_a_member_cannot_remove_admins():
    assert removal_rule(False, [KIM], admin_count=3, by_platform=set(), platform="slack").members == ()


def test_the_log_shows_a_platform_change_by_its_day_only_and_forgotten_people_as_such():
    by_platform = AdminChange(
        workspace_id=1,
        member_id=3,
        change=audit.GRANTED,
        reason=audit.BY_PLATFORM,
        created_at=at("2025-03-03 00:00"),
    )
    assert log_line(by_platform, {3: "kim"}, "Slack") == (
        "• 2025-03-03: @kim became admin (Slack says they administer this workspace)"
    )
    by_admin = AdminChange(
        workspace_id=1,
        member_id=2,
        by_member_id=1,
        change=audit.REMOVED,
        reason=audit.BY_ADMIN,
        created_at=at("2025-03-03 14:05"),
    )
    assert log_line(by_admin, {1: "ada"}, "Slack") == (
        "• 2025-03-03 14:05 UTC: a forgotten member removed as admin by @ada"
    )
