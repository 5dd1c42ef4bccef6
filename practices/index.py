"""The Compassion Impact Index (stub: being written)."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Outcome


async def show(ctx: PracticeContext, team: str | None, weeks: int | None) -> Outcome:
    return Outcome.reply("This part of Tend is not available in this version yet.")


async def export(ctx: PracticeContext) -> Outcome:
    return Outcome.reply("This part of Tend is not available in this version yet.")
