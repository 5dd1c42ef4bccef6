"""What Tend stores and who can see it, in plain words (``/tend privacy``).

The same promises, in more detail, are in docs/privacy.md; change both together.
"""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Card, Example, Fine, Outcome, Reply, Text, compose

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
SHOUTOUTS = (
    "*Shout-outs* are public by nature: who thanked whom and why, in the channel where they were "
    "given, read back in the weekly digest. There are no counts per person and no leaderboard."
)
ONE_ON_ONES = (
    "*1:1s* are seen by the two people in them and by admins. A prep note you write is handed back "
    "to you and never stored."
)
CHECK_INS = (
    "*Check-in answers* (meeting openers) are counted, never shown per person: nobody, admins "
    "included, can see who answered what. While a check-in is open its card shows only how many "
    "answered; the totals appear when it closes, and only if {size} or more people answered. The "
    "answers are deleted then; only totals remain."
)
STRESS = (
    "*Stress reports* are stored with no link to you: no name, no user id, no exact time (only the "
    "week), and your team only if it has at least {size} people. If you ask for anonymous support, a "
    "temporary link, locked with a key that is not in Tend's database, lets replies reach you; it is "
    "deleted when the conversation closes, or after 30 days at the latest. The messages in that "
    "conversation are passed on locked the same way, and not kept once delivered. If nobody on the "
    "support rota can see a request soon, admins are told the rota has no one available, never who "
    "asked or what about."
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


def privacy_card(min_group_size: int) -> Card:
    return Card(
        title=TITLE,
        blocks=(
            Text(ABOUT_YOU),
            Text(WHO_SEES),
            Text(SHOUTOUTS),
            Text(ONE_ON_ONES),
            Text(CHECK_INS.format(size=min_group_size)),
            Text(STRESS.format(size=min_group_size)),
            Text(GROUP_SIZE.format(size=min_group_size)),
            Text(NEVER),
            Text(YOUR_RIGHTS),
            Fine(FINE),
        ),
    )


async def show(ctx: PracticeContext) -> Outcome:
    return Outcome((Reply(privacy_card(ctx.min_group_size)),))
