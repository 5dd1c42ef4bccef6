"""The command grammar for ``/kudos`` and ``/tend``, assembled from the practices' declarations.

Pure text in, a typed command or a friendly usage error out: the same words mean the same thing in
Slack, Teams and the console, and a typo earns a helpful answer with a working example, never a crash.
Each practice declares its own words, parsers, examples and help topics (``practices/practice.py``);
this module only picks the practice by the first word and knows what every command line shares.
"""

from __future__ import annotations

import difflib
from typing import Literal

from bot.practices_registry import Registry, default_registry
from practices.grammar import (
    Command,
    MenuScope,
    PersonRef,
    PlaceRef,
    Result,
    Topic,
    Usage,
    UsageError,
    shown,
    tokenize,
)
from practices.help import HELP_EXAMPLE, find_topic

__all__ = [
    "HELP_EXAMPLE",
    "MAX_TEXT",
    "Command",
    "MenuScope",
    "PlaceRef",
    "Result",
    "Topic",
    "Usage",
    "UsageError",
    "examples",
    "help_lines",
    "parse",
    "shown",
    "slash_hint",
    "topic",
]

MAX_TEXT = 10_000
HELP = "help"  # every assembled bot answers /tend help; its answers point people there
HELP_TYPED = f"/tend {HELP}"
# The platform command for thanks (the Slack manifest and Teams name it too): a mention typed first
# after /tend was meant for it.
THANKS = "kudos"
THANKS_HINT = f"To thank someone, use /{THANKS}; /tend starts with a command word."
UNKNOWN = "I don't know “{word}”; did you mean “{close}”?"
UNKNOWN_NOTHING_CLOSE = "I don't know “{word}”; `/tend help` lists what I can do."
TOO_LONG = "That's {length:,} characters; I read up to {limit:,}."
UNREADABLE = "Sorry, I couldn't read that command."


def _usages(registry: Registry) -> list[Usage]:
    return [usage for each in registry.topics for usage in each.usages]


def _top_example(command: str, registry: Registry) -> str:
    return next((u.example for u in _usages(registry) if u.command == f"/{command}"), HELP_TYPED)


def example_for(word: str, registry: Registry) -> str:
    """A working example of ``/tend <word>``: the one its parser points at when the word stands alone,
    else the first documented use that takes arguments, else the first documented use."""
    parsed = registry.commands[word]("", [])
    if isinstance(parsed, UsageError):
        return parsed.example
    if word == HELP:
        return HELP_EXAMPLE
    mine = [u for u in _usages(registry) if u.command.split()[:2] == ["/tend", word]]
    with_args = [u for u in mine if u.args]
    return (with_args or mine)[0].example if mine else f"/tend {word}"


def _tend(text: str, registry: Registry, mentions: tuple[PersonRef, ...]) -> Result:
    toks = tokenize(text, mentions)
    if not toks:
        return registry.commands[HELP](text, [])
    first = toks[0]
    if first.person:
        return UsageError(THANKS_HINT, _top_example(THANKS, registry))
    parser = registry.commands.get(first.word)
    if parser:
        return parser(text, toks[1:])
    close = difflib.get_close_matches(first.word[:40], list(registry.commands), n=1, cutoff=0.6)
    if close:
        return UsageError(
            UNKNOWN.format(word=shown(first.raw), close=close[0]), example_for(close[0], registry)
        )
    return UsageError(UNKNOWN_NOTHING_CLOSE.format(word=shown(first.raw)), HELP_TYPED)


def _parse(
    command: str, text: str, mentions: tuple[PersonRef, ...], registry: Registry | None = None
) -> Result:
    """The grammar without ``parse``'s safety net (tests call it to see a bug raise)."""
    registry = registry or default_registry()
    if len(text) > MAX_TEXT:
        example = _top_example(command, registry) if command in registry.top_level else HELP_TYPED
        return UsageError(TOO_LONG.format(length=len(text), limit=MAX_TEXT), example)
    top = registry.top_level.get(command)
    if top is not None:
        return top(text, tokenize(text, mentions))
    return _tend(text, registry, mentions)


def parse(
    command: str, text: str, mentions: tuple[PersonRef, ...] = (), *, registry: Registry | None = None
) -> Result:
    """Never raises: a chat command must always get an answer, so even a bug becomes a usage error."""
    try:
        return _parse(command, text, mentions, registry)
    except Exception:
        return UsageError(UNREADABLE, HELP_TYPED)


def help_lines(registry: Registry | None = None) -> list[str]:
    """One line per command: its words and each subcommand's arguments (``/tend admin list | add ...``)."""
    registry = registry or default_registry()
    lines: list[str] = []
    for command in registry.top_level:
        usage = next((u for u in _usages(registry) if u.command == f"/{command}"), None)
        lines.append(
            f"/{command} {usage.args_with(registry.listed_kinds)} — {usage.does}" if usage else f"/{command}"
        )
    for word in registry.commands:
        mine = [u for u in _usages(registry) if u.command.split()[:2] == ["/tend", word]]
        parts = [" ".join([*u.command.split()[2:], u.args_with(registry.listed_kinds)]).strip() for u in mine]
        lines.append(" ".join([f"/tend {word}", " | ".join(p for p in parts if p)]).strip())
    return lines


def slash_hint(command: Literal["kudos", "tend"], registry: Registry | None = None) -> str:
    """The usage hint Slack shows beside ``/kudos`` or ``/tend`` as it is typed (adapters/slack/manifest.yml
    carries these; a test keeps them equal)."""
    registry = registry or default_registry()
    if command != "tend":
        return next(u.args for u in _usages(registry) if u.command == f"/{command}")
    words = [u.command.split()[1] for u in _usages(registry) if u.command.startswith("/tend ")]
    return " | ".join([f"{HELP} [topic]", *dict.fromkeys(words)])


def topic(name: str, registry: Registry | None = None) -> Topic | None:
    """The topic a person asked for: its name, an alias, or the subcommand it documents (``ritual add``)."""
    return find_topic((registry or default_registry()).topics, name)


def examples(registry: Registry | None = None) -> list[str]:
    """Every example help shows, and every example a usage error can point at."""
    registry = registry or default_registry()
    found = [HELP_EXAMPLE, *(example_for(word, registry) for word in registry.commands)]
    found += [_top_example(command, registry) for command in registry.top_level]
    for each in registry.topics:
        found += [usage.example for usage in each.usages] + list(each.examples)
    return list(dict.fromkeys(found))
