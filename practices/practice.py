"""What a practice declares about itself, so adding a practice is one module (and its storage).

Each practice module ends with ``PRACTICE = Practice(...)``: its commands, help topics, buttons and
forms, ritual kinds (with how late a missed occurrence may still fire), periodic sweeps, the signal
kinds it counts, what it adds to ``/tend privacy``, and its part of a person's data export and of
forget-me. ``bot`` assembles the grammar, the dispatcher, help, the privacy page and data rights from
these declarations and never names a practice's commands or kinds itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from practices.context import ActionHandler, FireHandler, FormHandler, PracticeContext, SweepHandler
from practices.grammar import Parser, Topic
from practices.messages import Block, Outcome, Rich


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
