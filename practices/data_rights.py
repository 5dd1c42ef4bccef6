"""A person's rights over their data: export it, or be forgotten (stub: being written)."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Outcome


async def export_my_data(ctx: PracticeContext) -> Outcome:
    return Outcome.reply("This part of Tend is not available in this version yet.")


async def forget_me(ctx: PracticeContext, confirmed: bool) -> Outcome:
    return Outcome.reply("This part of Tend is not available in this version yet.")
