"""What Tend stores and who can see it, in plain words (``/tend privacy``)."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Card, Fine, Outcome, Reply, Text


def privacy_card(min_group_size: int) -> Card:
    return Card(
        title="Your privacy in Tend",
        blocks=(
            Text(
                "*Shout-outs* are public by nature: who thanked whom and why, in the channel where "
                "they were given. There are no counts per person and no leaderboard."
            ),
            Text(
                "*Check-in answers* (meeting openers) are counted, never shown per person: nobody, "
                f"admins included, can see who answered what, and nothing is shown until {min_group_size} "
                "people have answered."
            ),
            Text(
                "*Stress reports* are stored with no link to you: no name, no user id, no exact time. If "
                "you ask for anonymous support, a temporary link lets replies reach you; it is deleted "
                "when the conversation closes or after 30 days."
            ),
            Text(
                f"*Team figures* are shown only for groups of at least {min_group_size} people, so nobody "
                "can be singled out."
            ),
            Fine("Your working hours and time zone are used only to decide when to message you."),
        ),
    )


async def show(ctx: PracticeContext) -> Outcome:
    return Outcome((Reply(privacy_card(ctx.min_group_size)),))
