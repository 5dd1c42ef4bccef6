"""What a practice is given when it acts: who, where, when, and a session to read and write in.

The engine (or the scheduler) opens the session and commits it, so everything a practice writes
(the action and its signal counters, and the outbox rows for what it asked to send) lands in one
transaction or not at all. Recurrence maths is handed in as a function because it is computed with
APScheduler, which only ``bot`` may import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from practices.index_maths import DEFAULT_WEIGHTS
from practices.messages import Outcome
from practices.privacy_policy import DEFAULT_MIN_GROUP_SIZE
from practices.schedules import Recurrence
from practices.sealing import PROCESS_KEY
from storage.db import Session
from storage.models import Member, Occurrence, Ritual, Workspace

if TYPE_CHECKING:
    from practices.practice import Practice

# How long an anonymous support request may wait for a human reply before it counts as unsupported
# (TEND_SUPPORT_REPLY_HOURS; the engine and scheduler pass the configured value).
SUPPORT_WINDOW = timedelta(hours=48)

# (recurrence, IANA time zone, strictly after, anchor date for every-N-weeks) -> next instant (UTC)
NextRun = Callable[[Recurrence, str, datetime, date | None], datetime | None]


def _no_recurrence(recurrence: Recurrence, time_zone: str, after: datetime, anchor: date | None) -> None:
    raise RuntimeError("this context was built without recurrence maths")


@dataclass
class PracticeContext:
    session: Session
    workspace: Workspace
    actor: Member
    now: datetime
    place_id: str | None = None
    is_direct: bool = False
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    next_run: NextRun = _no_recurrence
    support_window: timedelta = SUPPORT_WINDOW
    index_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    secret_key: bytes = PROCESS_KEY  # TEND_SECRET_KEY: keys what anonymous flows keep (practices.sealing)
    support_fallback: str = ""  # TEND_SUPPORT_FALLBACK: another route when the support rota is away
    # Every registered practice, for what spans them all (data rights, the privacy page); the
    # dispatcher passes its registry's, since practices may not import bot.
    practices: tuple[Practice, ...] = ()

    @property
    def workspace_id(self) -> int:
        assert self.workspace.id is not None
        return self.workspace.id

    @property
    def actor_id(self) -> int:
        assert self.actor.id is not None
        return self.actor.id

    @property
    def is_admin(self) -> bool:
        return self.actor.role == "admin"


@dataclass
class FireContext:
    """One ritual occurrence firing, claimed by exactly one process."""

    session: Session
    workspace: Workspace
    ritual: Ritual
    occurrence: Occurrence
    now: datetime
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    secret_key: bytes = PROCESS_KEY

    @property
    def workspace_id(self) -> int:
        assert self.workspace.id is not None
        return self.workspace.id


@dataclass
class SweepContext:
    """A periodic check across all workspaces (close openers, flag unanswered support requests)."""

    session: Session
    now: datetime
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    support_window: timedelta = SUPPORT_WINDOW
    secret_key: bytes = PROCESS_KEY
    support_fallback: str = ""


# The handlers a practice declares in its ``PRACTICE`` (practices/practice.py) for the dispatcher and
# the scheduler: a button (by action prefix, "opener" for "opener.answer"), a form (by form id prefix),
# one occurrence of a ritual kind, and a periodic sweep run on every scheduler tick.
ActionHandler = Callable[[PracticeContext, str, str, "str | None"], Awaitable[Outcome]]
FormHandler = Callable[[PracticeContext, str, dict[str, str], str], Awaitable[Outcome]]
FireHandler = Callable[[FireContext], Awaitable[Outcome]]


@dataclass(frozen=True)
class SweepResult:
    """Intents a sweep wants carried out in one workspace; ``scope`` keys them, so a re-run adds nothing."""

    workspace: Workspace
    outcome: Outcome
    scope: str
    anonymous: bool = False  # caused by an anonymous request: its rows' written time kept to the hour


SweepHandler = Callable[[SweepContext], Awaitable[list[SweepResult]]]
