"""What Tend stores and who can see it, in plain words (``/tend privacy``).

The page is assembled: the general lines here (what Tend keeps about everyone, who sees what), then
each practice's own lines (``Practice.privacy``, declared next to the data they describe, in the
order data_rights reads a person's data in), then the group-size rule and the rights. The same
promises, in more detail, are in docs/privacy.md; change both together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from practices.data_rights import in_order, registered
from practices.grammar import PERSONAL, PERSONAL_AND_TEAM, Topic, Usage, only
from practices.messages import Card, Example, Fine, Outcome, Reply, Text, compose
from practices.practice import Practice, PracticeContext

# --- what people read (one place, to review and translate) ---------------------------------------
TITLE = "Your privacy in Tend"
ABOUT_YOU = (
    "*What Tend keeps about you:* your name and user id, time zone, working hours, role (admin or "
    "not, and when and how that changed), a pause if you set one, whether you are on the support rota, "
    "and the teams you are in. Hours and time zone are used only to decide when to message you."
)
WHO_SEES = (
    "*Who sees what:* anyone here can see team names, their managers and sizes, the admins and the "
    "support rota; admins also see the log of admin changes. Nobody can look up another person's "
    "hours, check-ins or reports."
)
GROUP_SIZE = (
    "*Team figures* are shown only when at least {size} different people are behind them (for "
    "support requests: at least {size} requests), and never when subtracting one figure from "
    "another would single anyone out. Bots and accounts Tend never looked up do not count as people. "
    "Tend keeps weekly totals per team, never per person."
)
NEVER = (
    "*Never kept:* who wrote a stress report; anyone's check-in answers once the check-in closes; the "
    "words of a message once Tend has delivered it (a shout-out's words are the exception, as above); "
    "and any message text, or who reported what, in Tend's logs."
)
YOUR_RIGHTS = compose(
    "*Your data, your call:* {export} sends you a copy of everything linked to you; "
    "{forget} erases it (shout-outs keep their words, without your name).",
    export=Example("/tend export-my-data"),
    forget=Example("/tend forget-me"),
)
FINE = "More detail, including how long things are kept: docs/privacy.md in Tend's source."


def privacy_card(min_group_size: int, practices: Iterable[Practice]) -> Card:
    """The page; a practice's lines may say ``{size}``, the minimum group size."""
    own = [line.format(size=min_group_size) for p in in_order(practices) for line in p.privacy]
    return Card(
        title=TITLE,
        blocks=(
            Text(ABOUT_YOU),
            Text(WHO_SEES),
            *(Text(line) for line in own),
            Text(GROUP_SIZE.format(size=min_group_size)),
            Text(NEVER),
            Text(YOUR_RIGHTS),
            Fine(FINE),
        ),
    )


async def show(ctx: PracticeContext) -> Outcome:
    return Outcome((Reply(privacy_card(ctx.min_group_size, registered(ctx))),))


# --- the words: /tend privacy and its help (which also explains export-my-data and forget-me) ---------


@dataclass(frozen=True)
class Privacy:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await show(ctx)


TOPIC = Topic(
    "privacy",
    "what Tend stores, who can see it, and your data",
    "Tend keeps as little as it can; stress reports and opener answers never carry your name.",
    (
        Usage("/tend privacy", "", "what is stored and who can see it", "/tend privacy", PERSONAL_AND_TEAM),
        Usage(
            "/tend export-my-data",
            "",
            "a copy of everything Tend stores about you",
            "/tend export-my-data",
            PERSONAL,
        ),
        Usage("/tend forget-me", "[confirm]", "erase what Tend knows about you", "/tend forget-me", PERSONAL),
    ),
    aliases=("forget-me", "export-my-data", "data"),
)

PRACTICE = Practice(name="privacy", order=80, commands={"privacy": only(Privacy, "privacy")}, topics=(TOPIC,))
