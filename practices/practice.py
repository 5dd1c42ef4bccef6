"""What a practice is given when it acts, and what it declares about itself (one module, so the two
never import each other).

When it acts, a practice is given who, where, when, and a session to read and write in. The engine
(or the scheduler) opens the session and commits it, so everything a practice writes (the action and
its signal counters, and the outbox rows for what it asked to send) lands in one transaction or not at
all. Recurrence maths is handed in as a function because it is computed with APScheduler, which only
``bot`` may import.

What it declares makes adding a practice one module (and its storage). Each practice module ends
with ``PRACTICE = Practice(...)``: its commands, help topics, buttons and forms, ritual kinds (with
how late a missed occurrence may still fire), periodic sweeps, the signal kinds it counts, what it
adds to ``/tend privacy``, and its part of a person's data export and of forget-me. ``bot`` assembles
the grammar, the dispatcher, help, the privacy page and data rights from these declarations and never
names a practice's commands or kinds itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from practices.compassion_index_maths import DEFAULT_WEIGHTS
from practices.grammar import Parser, Topic
from practices.messages import Block, Outcome, Rich
from practices.privacy_policy import DEFAULT_MIN_GROUP_SIZE
from practices.schedules import Recurrence
from practices.sealing import PROCESS_KEY
from storage.db import Session
from storage.models import Member, Occurrence, Ritual, Workspace

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
    # Zones the platform reported for the people this command names (``CommandReceived.named_zones``).
    named_zones: Mapping[str, str] = field(default_factory=dict)

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


@dataclass(frozen=True)
class RitualKind:
    """A kind of ritual a channel can run (``/tend ritual add <name> ...``).

    ``grace``: how long after its due time a missed occurrence (a restart, an outage) still fires;
    later ones are skipped, because an opener an hour after the meeting started only adds noise.
    ``listed``: whether admins add it with ``/tend ritual add`` (a 1:1 nudge is added by ``/tend 1on1``).
    """

    name: str
    fire: FireHandler
    grace: timedelta
    summary: str = ""
    listed: bool = True


@dataclass(frozen=True)
class ExportSection:
    """One heading of a person's data export: what the card shows under it, and its JSON.

    ``lines`` are shown under ``heading`` ("none" when there are none); ``blocks`` replace them when
    a section reads better as, say, ``Facts``. ``data`` is the section's value under ``key`` in the
    machine-readable copy: plain JSON types, times as UTC ISO 8601, other people as "@name" or
    "someone", never their ids.
    """

    heading: str
    key: str
    data: Any
    lines: tuple[Rich | str, ...] = ()
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Forgetting:
    """What forget-me does to one practice's data, in the words of the confirmation cards.

    ``erased``: what goes ("team memberships: 1"); ``kept``: what stays without the person's name
    ("2 shout-out(s), whose words stay"). Asked before anything is erased, the same lines say what
    would happen ("team memberships removed: 1").
    """

    erased: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


# A person's part of the data export, gathered in their own workspace (``ctx.actor``); it writes nothing.
ExportHook = Callable[[PracticeContext], Awaitable[Sequence[ExportSection]]]
# Forget-me for ``ctx.actor``: with ``erase`` False only count what would go (the question card);
# with True erase or anonymise it in ``ctx.session`` (one transaction with every other practice's
# part and the profile's deletion) and say what was done. Hooks run in the order data_rights documents.
ForgetHook = Callable[[PracticeContext, bool], Awaitable[Forgetting]]
# Someone joined the workspace (Slack ``team_join``, Teams ``membersAdded``): ``ctx.actor`` is them. May be
# called again for the same person (a redelivery, one more Teams team), so a hook must be idempotent.
JoinHook = Callable[[PracticeContext], Awaitable[Outcome]]


@dataclass(frozen=True)
class Practice:
    """Everything ``bot`` needs to know about one practice. All parts are optional."""

    name: str
    # Where its topics, commands and ritual kinds come in /tend help and lists (lower first, then name).
    order: int = 100
    # The first word after ``/tend`` -> the parser of the rest (``{"ritual": ...}``).
    commands: Mapping[str, Parser] = field(default_factory=dict)
    # A command of its own, as a platform command (``/kudos``); the Slack manifest must list it.
    top_level: Mapping[str, Parser] = field(default_factory=dict)
    topics: tuple[Topic, ...] = ()
    # Buttons and forms route by the prefix of their action / form id ("kudos.open" -> "kudos").
    actions: Mapping[str, ActionHandler] = field(default_factory=dict)
    forms: Mapping[str, FormHandler] = field(default_factory=dict)
    # Full action names and form ids whose handling must write nothing about the person who acted.
    anonymous: frozenset[str] = frozenset()
    rituals: tuple[RitualKind, ...] = ()
    sweeps: tuple[SweepHandler, ...] = ()
    signals: tuple[str, ...] = ()  # the Signal kinds it counts (the index reads them)
    privacy: tuple[str, ...] = ()  # lines it adds to /tend privacy: what it stores, who sees it
    export: ExportHook | None = None
    forget: ForgetHook | None = None
    on_join: JoinHook | None = None
