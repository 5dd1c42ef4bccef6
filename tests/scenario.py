"""A whole Tend (engine, scheduler, delivery) on one database, with a test clock and an in-memory sender.

Practice scenarios read like what people do: ``await s.command("U1", "tend ritual list")``,
``await s.advance(hours=2)``, then assert on ``s.sender``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import FixedClock
from bot.engine import Answer, Engine
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    MemberSeen,
    Origin,
    PersonRef,
)
from bot.scheduler import Scheduler, TickReport
from practices.messages import OpenForm, Reply
from storage.db import Database
from tests.fakes import InMemorySender

WORKSPACE = "T1"


def text_of(answers: tuple[Answer, ...]) -> str:
    """What the person sees of the private answers, as plain text."""
    parts = []
    for answer in answers:
        if isinstance(answer, Reply):
            parts.append(answer.card.fallback)
        elif isinstance(answer, OpenForm):
            parts.append(f"[form {answer.form.form_id}: {answer.form.title}]")
    return "\n".join(parts)


class Scenario:
    def __init__(
        self, database: Database, start: datetime, *, min_group_size: int = 5, platform: str = "slack"
    ) -> None:
        self.database = database
        self.clock = FixedClock(start)
        self.sender = InMemorySender(clock=self.clock)
        self.platform = platform
        self.engine = Engine(database, self.clock, {platform: self.sender}, min_group_size=min_group_size)
        self.scheduler = Scheduler(
            database, self.clock, min_group_size=min_group_size, senders={platform: self.sender}
        )
        self.last_answers: tuple[Answer, ...] = ()
        self.names: dict[str, str] = {}  # display names given to join(), kept when people act

    def origin(
        self,
        user: str,
        place: str | None = "C1",
        *,
        tz: str | None = None,
        direct: bool = False,
        workspace: str = WORKSPACE,
    ) -> Origin:
        return Origin(
            platform=self.platform,
            workspace_id=workspace,
            workspace_name="Acme",  # type: ignore[arg-type]
            actor=PersonRef(user, self.names.get(user, user.lower())),
            place_id=place,
            is_direct=direct,
            actor_time_zone=tz,
        )

    async def _handle(self, event: object) -> str:
        """The event handled, then what it queued sent (the engine only wakes the delivery loop,
        which a scenario does not run: it delivers here, as the loop would right after)."""
        self.last_answers = await self.engine.handle(event)  # type: ignore[arg-type]
        await self.engine.delivery.deliver_due()
        return text_of(self.last_answers)

    async def join(
        self,
        user: str,
        name: str | None = None,
        tz: str = "UTC",
        *,
        is_bot: bool = False,
        workspace: str = WORKSPACE,
        admin: bool = False,
    ) -> None:
        """A person the platform told Tend about (name and time zone); ``admin``: the platform says
        they administer the workspace (a Slack admin or owner), which makes them a Tend admin."""
        self.names[user] = name or user.lower()
        origin = replace(
            self.origin(user, None, tz=tz, workspace=workspace), actor_may_administer=admin or None
        )
        await self._handle(MemberSeen(origin, display_name=name or user.lower(), time_zone=tz, is_bot=is_bot))

    async def platform_admin(self, user: str, *, workspace: str = WORKSPACE) -> None:
        """The platform says ``user`` administers the workspace (a Slack admin or owner), and nothing
        else about them: they are a Tend admin from then on."""
        origin = replace(self.origin(user, None, workspace=workspace), actor_may_administer=True)
        await self._handle(MemberSeen(origin))

    async def command(
        self,
        user: str,
        line: str,
        place: str | None = "C1",
        *,
        direct: bool = False,
        workspace: str = WORKSPACE,
    ) -> str:
        """``line`` as typed, starting with ``kudos`` or ``tend``; returns the private answer text."""
        word, _, rest = line.strip().lstrip("/").partition(" ")
        event = CommandReceived(
            self.origin(user, place, direct=direct, workspace=workspace),
            "kudos" if word == "kudos" else "tend",
            rest,
        )
        return await self._handle(event)

    async def click(
        self,
        user: str,
        action: str,
        value: str = "",
        message_ref: str | None = None,
        place: str | None = "C1",
        *,
        direct: bool = False,
    ) -> str:
        return await self._handle(
            ButtonClicked(self.origin(user, place, direct=direct), action, value, message_ref)
        )

    async def submit(
        self,
        user: str,
        form_id: str,
        values: dict[str, str],
        state: str = "",
        place: str | None = "C1",
        *,
        direct: bool = True,
    ) -> str:
        return await self._handle(
            FormSubmitted(self.origin(user, place, direct=direct), form_id, values, state)
        )

    async def dm(self, user: str, text: str) -> str:
        return await self._handle(DirectText(self.origin(user, "D-" + user, direct=True), text))

    @property
    def form(self) -> OpenForm | None:
        """The form the last action opened, if any."""
        return next((a for a in self.last_answers if isinstance(a, OpenForm)), None)

    async def tick(self) -> TickReport:
        report = await self.scheduler.tick()
        await self.engine.delivery.deliver_due(limit=10_000)
        return report

    async def advance(self, delta: timedelta | None = None, **parts: float) -> TickReport:
        """Moves the clock and lets the scheduler and delivery catch up, as a running server would."""
        self.clock.advance(delta or timedelta(**parts))
        return await self.tick()

    async def run_until(self, when: datetime, step: timedelta = timedelta(minutes=5)) -> None:
        """Ticks every ``step`` up to ``when``, the way the background scheduler would."""
        while self.clock.now() + step <= when:
            await self.advance(step)
        if self.clock.now() < when:
            self.clock.set(when)
            await self.tick()
