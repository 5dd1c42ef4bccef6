"""A person's own settings: working hours, time zone, and pausing personal prompts.

These are what keep Tend from adding pressure: nothing personal is sent outside the hours set
here, in the person's own time zone, or while they are paused.
"""

from __future__ import annotations

from datetime import date, time

from practices.context import PracticeContext
from practices.messages import Outcome

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def describe_days(days: tuple[str, ...]) -> str:
    ordered = [day for day in DAY_NAMES if day in days]
    if not ordered:
        return "no days"
    indexes = [DAY_NAMES.index(day) for day in ordered]
    if indexes == list(range(indexes[0], indexes[-1] + 1)) and len(indexes) > 2:
        return f"{ordered[0].title()}–{ordered[-1].title()}"
    return ", ".join(day.title() for day in ordered)


def describe(ctx: PracticeContext) -> str:
    actor = ctx.actor
    days = tuple(actor.work_days.split(","))
    lines = [
        f"*Your hours:* {describe_days(days)} {actor.work_start}–{actor.work_end}",
        f"*Your time zone:* {actor.time_zone}",
    ]
    if actor.paused_until and actor.paused_until > ctx.now.date():
        lines.append(f"*Personal prompts paused until* {actor.paused_until.isoformat()}")
    lines.append("I only send you personal prompts inside these hours.")
    return "\n".join(lines)


async def show(ctx: PracticeContext) -> Outcome:
    return Outcome.reply(describe(ctx), title="Your settings")


async def set_hours(ctx: PracticeContext, start: time, end: time, days: tuple[str, ...]) -> Outcome:
    ctx.actor.work_start = start.strftime("%H:%M")
    ctx.actor.work_end = end.strftime("%H:%M")
    ctx.actor.work_days = ",".join(day for day in DAY_NAMES if day in days)
    ctx.session.add(ctx.actor)
    return Outcome.reply("Saved. " + describe(ctx), title="Your settings")


async def set_time_zone(ctx: PracticeContext, time_zone: str) -> Outcome:
    ctx.actor.time_zone = time_zone
    ctx.session.add(ctx.actor)
    return Outcome.reply("Saved. " + describe(ctx), title="Your settings")


async def pause_until(ctx: PracticeContext, until: date) -> Outcome:
    if until <= ctx.now.date():
        return Outcome.reply(
            f"{until.isoformat()} is not in the future. Example: /tend pause until "
            f"{date(ctx.now.year + 1, 1, 5).isoformat()}"
        )
    ctx.actor.paused_until = until
    ctx.session.add(ctx.actor)
    return Outcome.reply(
        f"Personal prompts are paused until {until.isoformat()}. Enjoy the time off. "
        "Type /tend pause off to come back earlier."
    )


async def pause_off(ctx: PracticeContext) -> Outcome:
    ctx.actor.paused_until = None
    ctx.session.add(ctx.actor)
    return Outcome.reply("Welcome back: personal prompts are on again.")
