"""People and places a command mentions, turned into members and channel ids.

One home for it, because every practice's commands mention people the same way: by platform id when
the chat app completed the mention, else by a unique display name. A mention that matches nobody, or
more than one person, becomes a friendly answer (``Unresolved``), never a guess.
"""

from __future__ import annotations

from practices.grammar import PersonRef, PlaceRef
from practices.messages import Example, Mention, Outcome, Rich, compose, joined
from practices.practice import PracticeContext
from storage.identity import ensure_member, find_members_by_name, find_members_by_name_elsewhere, platform_of
from storage.models import Member

UNKNOWN_PERSON = (
    "I don't know anyone called @{name} here. Mention them so your chat app completes the name "
    "(for example @{name} → pick from the list)."
)
ELSEWHERE_PERSON = (
    "@{name} is in {platform}, which is linked with this workspace, but a mention reaches only people "
    "of the workspace it is typed in. Mention or thank them in {platform} (for example @{name} there)."
)
PLATFORMS = {"slack": "Slack", "teams": "Teams", "console": "the console"}
AMBIGUOUS_PERSON = "More than one person here is called @{name}; mention them from the list so I know who."


class Unresolved(Exception):
    """A mention could not be matched to exactly one member; ``outcome`` explains it to the user."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("unresolved mention")
        self.outcome = outcome


async def resolve_person(ctx: PracticeContext, ref: PersonRef) -> Member:
    """A mention to a member: by platform id when the platform gave one, else by unique name."""
    if ref.user_id is not None:
        return await ensure_member(
            ctx.session,
            ctx.workspace,
            ref.user_id,
            ctx.now,
            display_name=ref.name,
            default_time_zone=ctx.named_zones.get(ref.user_id),
        )
    matches = await find_members_by_name(ctx.session, ctx.workspace_id, ref.name)
    if len(matches) == 1:
        return matches[0]
    name = ref.name.lstrip("@")
    if not matches and (
        elsewhere := await find_members_by_name_elsewhere(ctx.session, ctx.workspace_id, name)
    ):
        platform = await platform_of(ctx.session, elsewhere[0].workspace_id)
        raise Unresolved(
            Outcome.reply(ELSEWHERE_PERSON.format(name=name, platform=PLATFORMS.get(platform, platform)))
        )
    template = UNKNOWN_PERSON if not matches else AMBIGUOUS_PERSON
    raise Unresolved(Outcome.reply(template.format(name=name)))


async def resolve_people(ctx: PracticeContext, refs: tuple[PersonRef, ...]) -> list[Member]:
    return [await resolve_person(ctx, ref) for ref in refs]


def place_id(ctx: PracticeContext, place: PlaceRef) -> str | None:
    """A channel reference to the id adapters send to; ``here`` is where the command was typed."""
    if place.is_here:
        return ctx.place_id if not ctx.is_direct else None
    return place.place_id or place.name or None


def mention(member: Member) -> Mention:
    """A member as a mention: their platform shows their current name and notifies them."""
    return Mention(member.platform_user_id, member.display_name)


def mentioned(members: list[Member]) -> Rich:
    """Members as mentions, joined as a sentence lists them ("@ana, @bo and @cy")."""
    return joined([mention(member) for member in members])


def refuse_adding(
    is_admin: bool, people: list[Member], only_admins: Rich, not_people: str, example: str
) -> Rich | None:
    """The rule every "admins name people to a role" command shares (carriers, ambassadors): only an
    admin names anyone, and only people, never bots (``not_people`` names them, with ``example``)."""
    if not is_admin:
        return only_admins
    bots = [member for member in people if member.is_bot]
    return compose(not_people, names=mentioned(bots), example=Example(example)) if bots else None
