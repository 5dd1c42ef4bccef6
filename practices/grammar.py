"""The pieces every practice's commands are parsed with: tokens, people, places, ids, usage errors.

Pure text in, a command or a friendly :class:`UsageError` out. Each practice declares its own words
with these pieces (see ``practices/practice.py``); ``bot/commands.py`` only assembles them, so the same
words mean the same thing in Slack, Teams and the console, and a typo earns a working example.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from practices.local_time import canonical_zone
from practices.messages import Outcome


@dataclass(frozen=True)
class PersonRef:
    """A platform person. ``user_id`` is None for an unresolved ``@name`` typed as plain text."""

    user_id: str | None
    name: str = ""

    def matches_name(self, candidate: str) -> bool:
        return self.name.strip().lstrip("@").casefold() == candidate.strip().casefold()


People = tuple[PersonRef, ...]


@dataclass(frozen=True)
class PlaceRef:
    """A channel. ``place_id`` is None for a plain ``#name`` or ``here`` (resolved later, with context)."""

    place_id: str | None
    name: str = ""
    is_here: bool = False


@dataclass(frozen=True)
class UsageError:
    """What was wrong, and one complete example (neutral ``/tend`` spelling) that works as typed."""

    message: str
    example: str


class Command(Protocol):
    """A parsed command: plain, typed arguments, and what running it does.

    ``ctx`` is a ``practices.practice.PracticeContext``; it is not named here because that module
    declares practices with this grammar's parsers, and the two must not import each other."""

    async def run(self, ctx: Any) -> Outcome: ...


Result = Command | UsageError
MenuScope = Literal["personal", "team"]
PERSONAL: tuple[MenuScope, ...] = ("personal",)
TEAM: tuple[MenuScope, ...] = ("team",)
PERSONAL_AND_TEAM: tuple[MenuScope, ...] = ("personal", "team")


@dataclass(frozen=True)
class Usage:
    """One command as help shows it: the words that start it, what follows, what it does, and an example
    that works exactly as typed (in the neutral ``/tend`` spelling; adapters spell it per platform).

    ``menu`` names the Teams command menus it appears in (the app manifest is generated from these)."""

    command: str  # "/tend ritual add"
    args: str  # "<kind> <#channel|here> <schedule> [time zone]"
    does: str
    example: str
    menu: tuple[MenuScope, ...] = ()

    def args_with(self, kinds: tuple[str, ...]) -> str:
        """The arguments with ``KINDS_SLOT`` spelled out as the ritual kinds in use, ``<opener|...>``."""
        return self.args.replace(KINDS_SLOT, "<" + "|".join(kinds) + ">")


# In a usage's arguments: the ritual kinds /tend ritual add accepts, whichever practices declare them.
KINDS_SLOT = "<kinds>"


@dataclass(frozen=True)
class Topic:
    """One ``/tend help <topic>`` page."""

    name: str
    summary: str  # one line, for the list of topics
    about: str  # what it is for, in a sentence or two
    usages: tuple[Usage, ...] = ()
    notes: tuple[str, ...] = ()  # more lines of Tend's words (the schedule grammar)
    examples: tuple[str, ...] = ()  # more examples shown under the notes
    aliases: tuple[str, ...] = ()


# --- tokens ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<@(?P<uid>[^\s<>|]+)(?:\|(?P<uname>[^<>]*))?>"
    r"|<#(?P<pid>[^\s<>|]+)(?:\|(?P<pname>[^<>]*))?>"
    r"|(?:[^\s<]|<(?![@#]))+|<"
)
ID = re.compile(r"#?([0-9]{1,18})")


@dataclass(frozen=True)
class Token:
    """One word, mention or channel, with its span so free text (reasons, schedules) can be cut out."""

    kind: Literal["mention", "place", "word"]
    raw: str
    start: int
    end: int
    person: PersonRef | None = None
    place: PlaceRef | None = None

    @property
    def word(self) -> str:
        return self.raw.casefold()


Parser = Callable[[str, list[Token]], Result]


def _clean(name: str | None) -> str:
    return " ".join((name or "").split())


def tokenize(text: str, mentions: Iterable[PersonRef]) -> list[Token]:
    """Keep each token's span so free text (reasons, schedules) can be cut from the original."""
    known = {p.user_id: p.name for p in mentions if p.user_id}
    tokens: list[Token] = []
    for m in _TOKEN.finditer(text):
        raw, span = m.group(), (m.start(), m.end())
        if m["uid"] is not None:
            person = PersonRef(m["uid"], _clean(m["uname"]) or _clean(known.get(m["uid"])))
            tokens.append(Token("mention", raw, *span, person=person))
        elif m["pid"] is not None:
            tokens.append(Token("place", raw, *span, place=PlaceRef(m["pid"], _clean(m["pname"]))))
        elif raw.startswith("@") and (name := raw[1:].rstrip(",.;:!?)")):
            tokens.append(Token("mention", raw, *span, person=PersonRef(None, name)))
        elif raw.startswith("#") and len(raw) > 1:
            tokens.append(Token("place", raw, *span, place=PlaceRef(None, raw[1:])))
        else:
            tokens.append(Token("word", raw, *span))
    return tokens


def shown(text: str, limit: int = 40) -> str:
    """What a person typed, quoted back as one short printable line. A backtick becomes ``'``: in
    Tend's words a `marked` span is a command to type (``examples_in``), and typed text is none."""
    printable = "".join(c if c.isprintable() else "?" for c in text[: limit + 1]).replace("`", "'")
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def span(text: str, tokens: list[Token]) -> str:
    """The original text the tokens cover, spaces tidied (a schedule, a reason)."""
    return " ".join(text[tokens[0].start : tokens[-1].end].split()) if tokens else ""


def unique_people(people: Iterable[PersonRef]) -> People:
    seen: dict[tuple[str, str], PersonRef] = {}
    for p in people:
        seen.setdefault(("id", p.user_id) if p.user_id else ("name", p.name.casefold()), p)
    return tuple(seen.values())


def place_of(token: Token) -> PlaceRef | None:
    """A channel token, or the word ``here`` (where the command was typed)."""
    if token.kind == "word" and token.word == "here":
        return PlaceRef(None, "here", is_here=True)
    return token.place


def zone(raw: str) -> str | None:
    """Canonical IANA name (any letter case), or None; never raises on odd input. The one check is
    ``practices.local_time``'s, so a zone the grammar takes is one every other part accepts."""
    return canonical_zone(raw)


# --- parser pieces -----------------------------------------------------------------------------------


def only(make: Callable[[], Command], name: str) -> Parser:
    """A subcommand that takes no words; extra words are an error, so a typo never acts silently."""

    def parse_(text: str, args: list[Token]) -> Result:
        if args:
            msg = f"“/tend {name}” takes nothing after it; remove “{shown(args[0].raw)}”."
            return UsageError(msg, f"/tend {name}")
        return make()

    return parse_


def group(name: str, table: dict[str, Parser], example: str) -> Parser:
    """``/tend <name> <one of table> ...``: an unknown or missing word lists the choices."""

    def parse_(text: str, args: list[Token]) -> Result:
        choices = ", ".join(table)
        if not args:
            return UsageError(f"“/tend {name}” needs one of: {choices}.", example)
        sub = table.get(args[0].word)
        if sub is None:
            msg = f"“/tend {name}” needs one of: {choices}; not “{shown(args[0].raw)}”."
            return UsageError(msg, example)
        return sub(text, args[1:])

    return parse_


def members(args: list[Token], doing: str, example: str) -> People | UsageError:
    """Every word must be a mention: ``@sam @kim``."""
    if not args:
        return UsageError(f"Mention at least one person to {doing}.", example)
    for t in args:
        if not t.person:
            return UsageError(f"“{shown(t.raw)}” isn't a person; mention people with @.", example)
    return unique_people(t.person for t in args if t.person)


def people_cmd(make: Callable[[People], Command], doing: str, example: str) -> Parser:
    def parse_(text: str, args: list[Token]) -> Result:
        found = members(args, doing, example)
        return found if isinstance(found, UsageError) else make(found)

    return parse_


def positive_id(args: list[Token], what: str, example: str) -> int | UsageError:
    if not args:
        return UsageError(f"Give the {what} id; the list command shows them.", example)
    m = ID.fullmatch(args[0].raw)
    if not m or int(m[1]) == 0:
        msg = f"A {what} id is a positive whole number, like 12; not “{shown(args[0].raw)}”."
        return UsageError(msg, example)
    return int(m[1])


def id_cmd(make: Callable[[int], Command], what: str, example: str) -> Parser:
    """``<word> <id>``: exactly one positive id."""

    def parse_(text: str, args: list[Token]) -> Result:
        ident = positive_id(args, what, example)
        if isinstance(ident, UsageError):
            return ident
        if len(args) > 1:
            return UsageError(f"I only need the {what} id; remove “{shown(args[1].raw)}”.", example)
        return make(ident)

    return parse_
