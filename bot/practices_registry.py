"""Finds every practice and merges what they declare, so ``bot`` never lists a practice by hand.

Each module in the ``practices`` package that ends with ``PRACTICE = Practice(...)`` is loaded
(pkgutil, the way errbot and opsdroid load plugins); a test may pass extra practices. The merge is
checked at start: two practices claiming the same command word, button or form prefix, or ritual kind
is an error naming both, because the one loaded last would silently win otherwise.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

import practices
from practices.grammar import Parser, Topic
from practices.practice import ActionHandler, FormHandler, Practice, RitualKind, SweepHandler

V = TypeVar("V")


class RegistryError(ValueError):
    """Two practices declare the same thing; the message names both."""


def discover(package: str = practices.__name__) -> tuple[Practice, ...]:
    """Every ``PRACTICE`` in the package's modules, in import order of their names."""
    found: list[Practice] = []
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package}.{info.name}")
        declared = getattr(module, "PRACTICE", None)
        if isinstance(declared, Practice):
            found.append(declared)
    return tuple(found)


def _merge(into: dict[str, V], owners: dict[str, str], what: str, items: Mapping[str, V], by: str) -> None:
    for key, value in items.items():
        if key in owners:
            raise RegistryError(f"{what} “{key}” is declared by both {owners[key]} and {by}")
        owners[key] = by
        into[key] = value


@dataclass(frozen=True)
class Registry:
    """The practices in use and their merged declarations."""

    practices: tuple[Practice, ...]
    commands: dict[str, Parser] = field(default_factory=dict)  # first word after /tend
    top_level: dict[str, Parser] = field(default_factory=dict)  # /kudos
    topics: tuple[Topic, ...] = ()
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    forms: dict[str, FormHandler] = field(default_factory=dict)
    anonymous: frozenset[str] = frozenset()
    rituals: dict[str, RitualKind] = field(default_factory=dict)
    sweeps: tuple[SweepHandler, ...] = ()
    owner: dict[str, str] = field(default_factory=dict)  # command word or ritual kind -> practice name

    @property
    def listed_kinds(self) -> tuple[str, ...]:
        """The kinds admins may add with ``/tend ritual add``."""
        return tuple(name for name, kind in self.rituals.items() if kind.listed)


def build(found: Iterable[Practice]) -> Registry:
    """Merges the practices' declarations; a clash is an error at start, naming both practices."""
    ordered = tuple(sorted(found, key=lambda p: (p.order, p.name)))
    names: dict[str, str] = {}
    for practice in ordered:
        if practice.name in names:
            raise RegistryError(f"two practices are called “{practice.name}”")
        names[practice.name] = practice.name
    words: dict[str, str] = {}
    commands: dict[str, Parser] = {}
    top_level: dict[str, Parser] = {}
    actions: dict[str, ActionHandler] = {}
    forms: dict[str, FormHandler] = {}
    rituals: dict[str, RitualKind] = {}
    topic_owners: dict[str, str] = {}
    action_owners: dict[str, str] = {}
    form_owners: dict[str, str] = {}
    kind_owners: dict[str, str] = {}
    topics: list[Topic] = []
    for practice in ordered:
        by = practice.name
        _merge(commands, words, "the command", practice.commands, by)
        _merge(top_level, words, "the command", practice.top_level, by)
        _merge(actions, action_owners, "the button prefix", practice.actions, by)
        _merge(forms, form_owners, "the form prefix", practice.forms, by)
        _merge(rituals, kind_owners, "the ritual kind", {k.name: k for k in practice.rituals}, by)
        for topic in practice.topics:
            for name in (topic.name, *topic.aliases):
                if name in topic_owners:
                    raise RegistryError(
                        f"the help topic “{name}” is declared by both {topic_owners[name]} and {by}"
                    )
                topic_owners[name] = by
            topics.append(topic)
    return Registry(
        practices=ordered,
        commands=commands,
        top_level=top_level,
        topics=tuple(topics),
        actions=actions,
        forms=forms,
        anonymous=frozenset(name for p in ordered for name in p.anonymous),
        rituals=rituals,
        sweeps=tuple(sweep for p in ordered for sweep in p.sweeps),
        owner={**words, **kind_owners},
    )


@cache
def default_registry() -> Registry:
    """Every practice in the ``practices`` package (built once per process)."""
    return build(discover())


def with_practices(*extra: Practice) -> Registry:
    """The discovered practices plus ``extra`` (a test's own practice)."""
    return build((*default_registry().practices, *extra))
