"""The one command grammar for ``/kudos`` and ``/tend``, shared by every platform.

Pure text in, a typed command or a friendly usage error out: the same words mean the same thing in
Slack, Teams and the console, and a typo earns a helpful answer with a working example, never a crash.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.events import PersonRef
from practices.hours import parse_clock, parse_days

People = tuple[PersonRef, ...]


@dataclass(frozen=True)
class PlaceRef:
    """A channel. ``place_id`` is None for a plain ``#name`` or ``here`` (resolved later, with context)."""

    place_id: str | None
    name: str = ""
    is_here: bool = False


@dataclass(frozen=True)
class UsageError:
    message: str
    example: str


@dataclass(frozen=True)
class Kudos:
    receivers: People
    reason: str
    value_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Stress:
    pass


@dataclass(frozen=True)
class RitualList:
    pass


@dataclass(frozen=True)
class RitualAdd:
    kind: str
    place: PlaceRef
    schedule: str
    time_zone: str | None = None


@dataclass(frozen=True)
class RitualPause:
    ritual_id: int


@dataclass(frozen=True)
class RitualResume:
    ritual_id: int


@dataclass(frozen=True)
class RitualRemove:
    ritual_id: int


@dataclass(frozen=True)
class TeamList:
    pass


@dataclass(frozen=True)
class TeamCreate:
    name: str
    place: PlaceRef | None = None


@dataclass(frozen=True)
class TeamAdd:
    name: str
    members: People


@dataclass(frozen=True)
class TeamRemove:
    name: str
    members: People


@dataclass(frozen=True)
class TeamManager:
    name: str
    members: People


@dataclass(frozen=True)
class TeamDelete:
    name: str


@dataclass(frozen=True)
class IndexShow:
    team: str | None = None
    weeks: int | None = None


@dataclass(frozen=True)
class IndexExport:
    pass


@dataclass(frozen=True)
class Privacy:
    pass


@dataclass(frozen=True)
class ForgetMe:
    confirmed: bool = False


@dataclass(frozen=True)
class ExportMyData:
    pass


@dataclass(frozen=True)
class AdminAdd:
    members: People


@dataclass(frozen=True)
class AdminRemove:
    members: People


@dataclass(frozen=True)
class AdminList:
    pass


@dataclass(frozen=True)
class AdminLog:
    pass


@dataclass(frozen=True)
class SupportAdd:
    members: People


@dataclass(frozen=True)
class SupportRemove:
    members: People


@dataclass(frozen=True)
class SupportList:
    pass


@dataclass(frozen=True)
class OneOnOneAdd:
    report: PersonRef
    schedule: str
    manager: PersonRef | None = None


@dataclass(frozen=True)
class OneOnOneList:
    pass


@dataclass(frozen=True)
class OneOnOneRemove:
    pair_id: int


@dataclass(frozen=True)
class OneOnOnePrep:
    pair_id: int
    enabled: bool


@dataclass(frozen=True)
class SettingsShow:
    pass


@dataclass(frozen=True)
class SettingsHours:
    start: dt.time
    end: dt.time
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class SettingsTimeZone:
    time_zone: str


@dataclass(frozen=True)
class PauseUntil:
    until: dt.date


@dataclass(frozen=True)
class PauseOff:
    pass


Command = (
    Kudos
    | Help
    | Stress
    | RitualList
    | RitualAdd
    | RitualPause
    | RitualResume
    | RitualRemove
    | TeamList
    | TeamCreate
    | TeamAdd
    | TeamRemove
    | TeamManager
    | TeamDelete
    | IndexShow
    | IndexExport
    | Privacy
    | ForgetMe
    | ExportMyData
    | AdminAdd
    | AdminRemove
    | AdminList
    | AdminLog
    | SupportAdd
    | SupportRemove
    | SupportList
    | OneOnOneAdd
    | OneOnOneList
    | OneOnOneRemove
    | OneOnOnePrep
    | SettingsShow
    | SettingsHours
    | SettingsTimeZone
    | PauseUntil
    | PauseOff
)
Result = Command | UsageError

RITUAL_KINDS = ("opener", "shoutout-prompt", "shoutout-digest")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TEXT = 10_000
MAX_REASON = 1_000
MAX_TAG = 30  # a value tag is a word (#teamwork), not a second reason

USAGE: dict[str, str] = {
    "kudos": "/kudos @person [@person ...] what they did [#value ...] — thank someone where the team sees it",
    "help": "/tend help [topic] — this list, or more about one command",
    "stress": "/tend stress — a private check-in when things feel heavy",
    "ritual": "/tend ritual list | add <opener|shoutout-prompt|shoutout-digest> <#channel|here> <schedule> "
    "[time zone] | pause|resume|remove <id>",
    "team": "/tend team list | create <name> [#channel] | add|remove|manager <name> @person ... "
    "| delete <name>",
    "index": "/tend index [team] [weeks] | export — the team compassion index",
    "privacy": "/tend privacy — what Tend stores about you and why",
    "forget-me": "/tend forget-me [confirm] — erase what Tend knows about you",
    "export-my-data": "/tend export-my-data — a copy of everything Tend stores about you",
    "admin": "/tend admin list | add @person ... | remove @person ... | log — who administers Tend, and "
    "every change",
    "support": "/tend support list | add @person ... | remove @person ... — who answers anonymous requests",
    "1on1": "/tend 1on1 list | add [@manager] @report <schedule> | remove <id> | prep <id> on|off",
    "settings": "/tend settings | hours 08:00-16:00 [mon-thu] | tz <Area/City>",
    "pause": "/tend pause until YYYY-MM-DD | off — quiet Tend for a while",
    "resume": "/tend resume — end a pause",
}

# One correct, complete example per subcommand; every UsageError points at one of these.
_EX: dict[str, str] = {
    "kudos": "/kudos @sam thanks for covering the on-call shift #teamwork",
    "help": "/tend help ritual",
    "stress": "/tend stress",
    "ritual": "/tend ritual add opener here mon,wed 09:25 Europe/Berlin",
    "ritual-id": "/tend ritual pause 12",
    "ritual-resume": "/tend ritual resume 12",
    "ritual-remove": "/tend ritual remove 12",
    "team": "/tend team add platform @sam @kim",
    "team-create": "/tend team create platform here",
    "team-delete": "/tend team delete platform",
    "index": "/tend index platform 8",
    "privacy": "/tend privacy",
    "forget-me": "/tend forget-me",
    "export-my-data": "/tend export-my-data",
    "admin": "/tend admin add @sam",
    "support": "/tend support add @kim",
    "1on1": "/tend 1on1 add @kim every 2 weeks thu 10:00",
    "1on1-id": "/tend 1on1 remove 3",
    "1on1-prep": "/tend 1on1 prep 3 on",
    "settings": "/tend settings hours 08:00-16:00 mon-thu",
    "settings-tz": "/tend settings tz Europe/Berlin",
    "pause": "/tend pause until 2030-01-31",
    "resume": "/tend resume",
}


def help_lines() -> list[str]:
    return list(USAGE.values())


# --- help topics: the one declaration help, the Teams command menu and the Slack hints come from --------

MenuScope = Literal["personal", "team"]


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


@dataclass(frozen=True)
class Topic:
    name: str
    summary: str  # one line, for the list of topics
    about: str  # what it is for, in a sentence or two
    usages: tuple[Usage, ...] = ()
    notes: tuple[str, ...] = ()  # more lines of Tend's words (the schedule grammar)
    examples: tuple[str, ...] = ()  # more examples shown under the notes
    aliases: tuple[str, ...] = ()


_P: tuple[MenuScope, ...] = ("personal",)
_T: tuple[MenuScope, ...] = ("team",)
_PT: tuple[MenuScope, ...] = ("personal", "team")

TOPICS: tuple[Topic, ...] = (
    Topic(
        "kudos",
        "thank someone where the team sees it",
        "A shout-out is posted in the channel (or the team's shout-out channel) and each person thanked "
        "gets a private note. There are no counts and no leaderboard.",
        (
            Usage(
                "/kudos",
                "@person [@person ...] what they did [#value ...]",
                "thank one or more people; value tags go at the end",
                _EX["kudos"],
                _PT,
            ),
        ),
        (
            "The reason is up to 1,000 characters; a value tag is one word of up to 30 letters, digits or "
            "dashes. You can't thank yourself.",
        ),
        aliases=("shoutout", "shout-out", "thanks"),
    ),
    Topic(
        "ritual",
        "scheduled openers and shout-out rounds in a channel (admins)",
        "Rituals post on a schedule: an anonymous meeting opener, a shout-out prompt, or the week's "
        "shout-outs read back. Admins add and change them; /tend help schedules explains the times.",
        (
            Usage(
                "/tend ritual list",
                "",
                "every ritual, where it posts and when it runs next",
                "/tend ritual list",
                _T,
            ),
            Usage(
                "/tend ritual add",
                "<opener|shoutout-prompt|shoutout-digest> <#channel|here> <schedule> [time zone]",
                "start a ritual",
                "/tend ritual add opener here mon,wed 09:25 Europe/Berlin",
                _T,
            ),
            Usage("/tend ritual pause", "<id>", "stop it for now", _EX["ritual-id"]),
            Usage("/tend ritual resume", "<id>", "start it again", _EX["ritual-resume"]),
            Usage("/tend ritual remove", "<id>", "delete it", _EX["ritual-remove"]),
        ),
        aliases=("rituals", "opener", "openers"),
    ),
    Topic(
        "1on1",
        "reminders before your 1:1s, with a question to ask",
        "A day before each 1:1 the manager gets a nudge with one check-in question and a feedback "
        "template. Managers add their own; admins can add one for any manager.",
        (
            Usage("/tend 1on1 list", "", "your 1:1s and their schedules", "/tend 1on1 list", _P),
            Usage("/tend 1on1 add", "[@manager] @report <schedule>", "start nudges for a 1:1", _EX["1on1"]),
            Usage("/tend 1on1 remove", "<id>", "stop them", _EX["1on1-id"]),
            Usage("/tend 1on1 prep", "<id> on|off", "also ask the report to prepare", _EX["1on1-prep"]),
        ),
        aliases=("1:1", "1-1", "one-on-one", "oneonone"),
    ),
    Topic(
        "stress",
        "a private, anonymous check-in when things feel heavy",
        "Tell Tend how heavy things feel; nobody, admins included, can see who said it. You may ask to "
        "talk with a support person without giving your name. Admins choose who answers.",
        (
            Usage("/tend stress", "", "open the private check-in", _EX["stress"], _P),
            Usage("/tend support list", "", "who answers anonymous requests", "/tend support list"),
            Usage("/tend support add", "@person ...", "add support people (admins)", _EX["support"]),
            Usage("/tend support remove", "@person ...", "remove them (admins)", "/tend support remove @kim"),
        ),
        aliases=("support", "check-in", "checkin"),
    ),
    Topic(
        "index",
        "the team compassion index, from aggregates only",
        "A weekly index per team built from counts, never per person, and only for groups of at least "
        "five people. Managers see their teams; admins see all and can export.",
        (
            Usage("/tend index", "[team] [weeks]", "the index card and its chart", _EX["index"], _PT),
            Usage("/tend index export", "", "the figures as CSV (admins)", "/tend index export"),
        ),
    ),
    Topic(
        "team",
        "which people and channel make up a team (admins)",
        "A team is what the index reports on and where its shout-outs go; it usually maps to a channel.",
        (
            Usage("/tend team list", "", "the teams and their channels", "/tend team list", _T),
            Usage("/tend team create", "<name> [#channel]", "a new team", _EX["team-create"]),
            Usage("/tend team add", "<name> @person ...", "add people", _EX["team"]),
            Usage(
                "/tend team remove", "<name> @person ...", "remove people", "/tend team remove platform @kim"
            ),
            Usage(
                "/tend team manager",
                "<name> @person ...",
                "make people its managers",
                "/tend team manager platform @sam",
            ),
            Usage("/tend team delete", "<name>", "delete the team", _EX["team-delete"]),
        ),
        aliases=("teams",),
    ),
    Topic(
        "settings",
        "your working hours, time zone, and a pause",
        "Tend only messages you inside your working hours, in your time zone.",
        (
            Usage(
                "/tend settings",
                "",
                "your working hours and time zone as Tend knows them",
                "/tend settings",
                _P,
            ),
            Usage("/tend settings hours", "<start-end> [days]", "your working hours", _EX["settings"]),
            Usage("/tend settings tz", "<Area/City>", "your time zone", _EX["settings-tz"]),
            Usage("/tend pause until", "<YYYY-MM-DD>", "no messages until then", _EX["pause"], _P),
            Usage("/tend pause off", "", "end a pause (or /tend resume)", "/tend pause off"),
        ),
        aliases=("hours", "tz", "pause", "resume", "time zone", "timezone"),
    ),
    Topic(
        "privacy",
        "what Tend stores, who can see it, and your data",
        "Tend keeps as little as it can; stress reports and opener answers never carry your name.",
        (
            Usage("/tend privacy", "", "what is stored and who can see it", _EX["privacy"], _PT),
            Usage(
                "/tend export-my-data",
                "",
                "a copy of everything Tend stores about you",
                _EX["export-my-data"],
                _P,
            ),
            Usage("/tend forget-me", "[confirm]", "erase what Tend knows about you", _EX["forget-me"], _P),
        ),
        aliases=("forget-me", "export-my-data", "data"),
    ),
    Topic(
        "schedules",
        "how to write when a ritual or 1:1 repeats",
        "A schedule is some days and a time, in the time zone you give (or your own).",
        notes=(
            "• Days and a time: “mon,wed 09:25”, “weekdays 9am”, “mon-fri 16:30”.",
            "• “daily” is every day, weekends included; “weekdays” is Monday to Friday.",
            "• Every few weeks: “every 2 weeks thu 10:00” (up to every 8 weeks).",
            "• Once a month: “first mon 10:00”, “last fri 16:00” (first to fourth, or last).",
            "• Anything else in crontab form: “cron” then minute, hour, day, month and weekday "
            "(0 and 7 are Sunday), as in the third example below.",
            "• A ritual's time zone goes last, like Europe/Berlin; without one, yours is used.",
        ),
        examples=(
            "/tend ritual add opener here weekdays 9am",
            "/tend ritual add shoutout-digest here last fri 16:00 Europe/Berlin",
            "/tend ritual add shoutout-prompt here cron 25 9 * * mon,wed",
            _EX["1on1"],
        ),
        aliases=("schedule", "time", "times", "cron"),
    ),
    Topic(
        "admin",
        "who administers Tend, and the log of every change",
        "Admins set up rituals, teams and the support rota. The last admin can't be removed.",
        (
            Usage("/tend admin list", "", "the admins", "/tend admin list"),
            Usage("/tend admin add", "@person ...", "make people admins", _EX["admin"]),
            Usage("/tend admin remove", "@person ...", "remove admins", "/tend admin remove @sam"),
            Usage("/tend admin log", "", "every change admins made", "/tend admin log"),
        ),
        aliases=("admins",),
    ),
)
HELP_EXAMPLE = "/tend help ritual"


def slash_hint(command: Literal["kudos", "tend"]) -> str:
    """The usage hint Slack shows beside ``/kudos`` or ``/tend`` as it is typed (adapters/slack/manifest.yml
    carries these; a test keeps them equal)."""
    if command == "kudos":
        return next(u.args for t in TOPICS for u in t.usages if u.command == "/kudos")
    words = [u.command.split()[1] for t in TOPICS for u in t.usages if u.command.startswith("/tend ")]
    return " | ".join(["help [topic]", *dict.fromkeys(words)])


def topic(name: str) -> Topic | None:
    """The topic a person asked for: its name, an alias, or the subcommand it documents (``ritual add``)."""
    wanted = " ".join(name.casefold().split())
    for candidate in (wanted, wanted.split(" ")[0] if wanted else ""):
        for found in TOPICS:
            if candidate == found.name or candidate in found.aliases:
                return found
    return None


def examples() -> list[str]:
    """Every example help shows, and every example a usage error can point at."""
    found = [HELP_EXAMPLE, *_EX.values()]
    for each in TOPICS:
        found += [usage.example for usage in each.usages] + list(each.examples)
    return list(dict.fromkeys(found))


# --- tokens ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<@(?P<uid>[^\s<>|]+)(?:\|(?P<uname>[^<>]*))?>"
    r"|<#(?P<pid>[^\s<>|]+)(?:\|(?P<pname>[^<>]*))?>"
    r"|(?:[^\s<]|<(?![@#]))+|<"
)
_TAG = re.compile(r"#[\w-]+")
_TEAM_NAME = re.compile(r"[\w.-]{1,80}")
_ID = re.compile(r"#?([0-9]{1,18})")
_ZONE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")
_JOINERS = {",", "&", "+", "and"}
_WORDY = re.compile(r"[^\W_]")  # a reason needs at least one letter or digit ("#" alone says nothing)
_TOKENS_ONLY = re.compile(r"<[@#][^<>]*>")  # platform mention tokens are people, not words


@dataclass(frozen=True)
class _Token:
    kind: Literal["mention", "place", "word"]
    raw: str
    start: int
    end: int
    person: PersonRef | None = None
    place: PlaceRef | None = None

    @property
    def word(self) -> str:
        return self.raw.casefold()


def _clean(name: str | None) -> str:
    return " ".join((name or "").split())


def _tokenize(text: str, mentions: Iterable[PersonRef]) -> list[_Token]:
    """Keep each token's span so free text (reasons, schedules) can be cut from the original."""
    known = {p.user_id: p.name for p in mentions if p.user_id}
    tokens: list[_Token] = []
    for m in _TOKEN.finditer(text):
        raw, span = m.group(), (m.start(), m.end())
        if m["uid"] is not None:
            person = PersonRef(m["uid"], _clean(m["uname"]) or _clean(known.get(m["uid"])))
            tokens.append(_Token("mention", raw, *span, person=person))
        elif m["pid"] is not None:
            tokens.append(_Token("place", raw, *span, place=PlaceRef(m["pid"], _clean(m["pname"]))))
        elif raw.startswith("@") and (name := raw[1:].rstrip(",.;:!?)")):
            tokens.append(_Token("mention", raw, *span, person=PersonRef(None, name)))
        elif raw.startswith("#") and len(raw) > 1:
            tokens.append(_Token("place", raw, *span, place=PlaceRef(None, raw[1:])))
        else:
            tokens.append(_Token("word", raw, *span))
    return tokens


def shown(text: str, limit: int = 40) -> str:
    """What a person typed, quoted back as one short printable line."""
    return _show(text, limit)


def _show(text: str, limit: int = 40) -> str:
    """User text quoted back must stay one short printable line."""
    shown = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _span(text: str, tokens: list[_Token]) -> str:
    return " ".join(text[tokens[0].start : tokens[-1].end].split()) if tokens else ""


def _unique_people(people: Iterable[PersonRef]) -> People:
    seen: dict[tuple[str, str], PersonRef] = {}
    for p in people:
        seen.setdefault(("id", p.user_id) if p.user_id else ("name", p.name.casefold()), p)
    return tuple(seen.values())


def _place(token: _Token) -> PlaceRef | None:
    if token.kind == "word" and token.word == "here":
        return PlaceRef(None, "here", is_here=True)
    return token.place


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    try:
        names = set(zoneinfo.available_timezones())
    except Exception:
        names = set()
    return {n.casefold(): n for n in names | {"UTC"}}


def _zone(raw: str) -> str | None:
    """Canonical IANA name (any letter case), or None; never raises on odd input."""
    if len(raw) > 64 or not _ZONE_SHAPE.fullmatch(raw):
        return None
    name = _zone_names().get(raw.casefold())
    if name is None and len(_zone_names()) > 1:
        return None
    try:
        zoneinfo.ZoneInfo(name or raw)
    except Exception:
        return None
    return name or raw


# --- parsers -----------------------------------------------------------------------------------------

Parser = Callable[[str, list[_Token]], Result]


def _kudos(text: str, toks: list[_Token]) -> Result:
    people: list[PersonRef] = []
    i = 0
    while i < len(toks):
        k = i
        while people and k < len(toks) and toks[k].word in _JOINERS:  # "@a, and @b"
            k += 1
        if k == len(toks) or (person := toks[k].person) is None:
            break
        people.append(person)
        i = k + 1
    if not people:
        if any(t.person for t in toks):
            return UsageError("Start with the people you're thanking, then say what they did.", _EX["kudos"])
        return UsageError("Tell me who to thank: mention at least one person.", _EX["kudos"])
    j = len(toks)
    while j > i and _TAG.fullmatch(toks[j - 1].raw):
        j -= 1
    tags = tuple(dict.fromkeys(t.raw[1:].lower() for t in toks[j:]))
    long_tag = next((tag for tag in tags if len(tag) > MAX_TAG), None)
    if long_tag is not None:
        msg = (
            f"A value tag is one short word of up to {MAX_TAG} characters, like #teamwork; "
            f"“#{_show(long_tag, 20)}” has {len(long_tag):,}. Put longer words in the reason."
        )
        return UsageError(msg, _EX["kudos"])
    reason = text[toks[i - 1].end : toks[j].start if j < len(toks) else len(text)] if j > i else ""
    reason = re.sub(r"^[:,;–—-]+(?=\s|$)", "", reason.strip()).strip()
    if not reason:
        return UsageError("Say what you're thanking them for after the mentions.", _EX["kudos"])
    if not _WORDY.search(_TOKENS_ONLY.sub("", reason)):
        msg = f"“{_show(reason)}” doesn't say what they did; add a few words after the mentions."
        return UsageError(msg, _EX["kudos"])
    if len(reason) > MAX_REASON:
        return UsageError(
            f"That reason is {len(reason):,} characters; please keep it to {MAX_REASON:,}.", _EX["kudos"]
        )
    return Kudos(_unique_people(people), reason, tags)


def _only(make: Callable[[], Command], name: str) -> Parser:
    """A subcommand that takes no words; extra words are an error, so a typo never acts silently."""

    def parse_(text: str, args: list[_Token]) -> Result:
        if args:
            msg = f"“/tend {name}” takes nothing after it; remove “{_show(args[0].raw)}”."
            return UsageError(msg, f"/tend {name}")
        return make()

    return parse_


def _group(name: str, table: dict[str, Parser]) -> Parser:
    def parse_(text: str, args: list[_Token]) -> Result:
        choices = ", ".join(table)
        if not args:
            return UsageError(f"“/tend {name}” needs one of: {choices}.", _EX[name])
        sub = table.get(args[0].word)
        if sub is None:
            msg = f"“/tend {name}” needs one of: {choices}; not “{_show(args[0].raw)}”."
            return UsageError(msg, _EX[name])
        return sub(text, args[1:])

    return parse_


def _members(args: list[_Token], doing: str, example: str) -> People | UsageError:
    if not args:
        return UsageError(f"Mention at least one person to {doing}.", example)
    for t in args:
        if not t.person:
            return UsageError(f"“{_show(t.raw)}” isn't a person; mention people with @.", example)
    return _unique_people(t.person for t in args if t.person)


def _people_cmd(make: Callable[[People], Command], doing: str, key: str) -> Parser:
    def parse_(text: str, args: list[_Token]) -> Result:
        members = _members(args, doing, _EX[key])
        return members if isinstance(members, UsageError) else make(members)

    return parse_


def _positive_id(args: list[_Token], what: str, example: str) -> int | UsageError:
    if not args:
        return UsageError(f"Give the {what} id; the list command shows them.", example)
    m = _ID.fullmatch(args[0].raw)
    if not m or int(m[1]) == 0:
        msg = f"A {what} id is a positive whole number, like 12; not “{_show(args[0].raw)}”."
        return UsageError(msg, example)
    return int(m[1])


def _id_cmd(make: Callable[[int], Command], what: str, key: str) -> Parser:
    def parse_(text: str, args: list[_Token]) -> Result:
        ident = _positive_id(args, what, _EX[key])
        if isinstance(ident, UsageError):
            return ident
        if len(args) > 1:
            return UsageError(f"I only need the {what} id; remove “{_show(args[1].raw)}”.", _EX[key])
        return make(ident)

    return parse_


def _ritual_add(text: str, args: list[_Token]) -> Result:
    ex, kinds = _EX["ritual"], ", ".join(RITUAL_KINDS)
    if not args:
        return UsageError(f"Say which ritual to add: {kinds}.", ex)
    if args[0].word not in RITUAL_KINDS:
        return UsageError(f"I don't know the ritual kind “{_show(args[0].raw)}”; pick one of {kinds}.", ex)
    place = _place(args[1]) if len(args) > 1 else None
    if place is None:
        return UsageError("After the kind, say where it runs: a #channel or the word here.", ex)
    rest, time_zone = args[2:], None
    if rest and (time_zone := _zone(rest[-1].raw)):
        rest = rest[:-1]
    elif rest and "/" in rest[-1].raw and _ZONE_SHAPE.fullmatch(rest[-1].raw):
        msg = f"“{_show(rest[-1].raw)}” isn't a time zone I know; use an Area/City name like Europe/Berlin."
        return UsageError(msg, ex)
    if not rest:
        return UsageError("Add a schedule after the channel, like mon,wed 09:25.", ex)
    return RitualAdd(args[0].word, place, _span(text, rest), time_zone)


def _team_name(args: list[_Token], example: str) -> str | UsageError:
    if not args or args[0].kind == "mention":
        return UsageError("Give the team's name first, like platform.", example)
    if args[0].kind != "word" or not _TEAM_NAME.fullmatch(args[0].raw):
        msg = f"“{_show(args[0].raw)}” can't be a team name: use 1–80 letters, digits, - _ or . (no spaces)."
        return UsageError(msg, example)
    return args[0].raw


def _team_create(text: str, args: list[_Token]) -> Result:
    name = _team_name(args, _EX["team-create"])
    if isinstance(name, UsageError):
        return name
    place = _place(args[1]) if len(args) > 1 else None
    extra = args[1] if len(args) > 1 and place is None else args[2] if len(args) > 2 else None
    if extra is not None:
        msg = f"After the team name I expected a #channel, not “{_show(extra.raw)}” (names have no spaces)."
        return UsageError(msg, _EX["team-create"])
    return TeamCreate(name, place)


def _team_people(make: Callable[[str, People], Command], doing: str) -> Parser:
    def parse_(text: str, args: list[_Token]) -> Result:
        name = _team_name(args, _EX["team"])
        if isinstance(name, UsageError):
            return name
        members = _members(args[1:], doing, _EX["team"])
        return members if isinstance(members, UsageError) else make(name, members)

    return parse_


def _team_delete(text: str, args: list[_Token]) -> Result:
    name = _team_name(args, _EX["team-delete"])
    if isinstance(name, UsageError):
        return name
    if len(args) > 1:
        return UsageError(f"I only need the team name; remove “{_show(args[1].raw)}”.", _EX["team-delete"])
    return TeamDelete(name)


def _index(text: str, args: list[_Token]) -> Result:
    if args and args[0].word == "export":
        return _only(IndexExport, "index export")(text, args[1:])
    team: str | None = None
    weeks: int | None = None
    for t in args:
        if t.word in ("week", "weeks"):
            continue
        if re.fullmatch(r"[0-9]+", t.raw) and weeks is None:
            weeks = int(t.raw) if len(t.raw) < 4 else 0
            if not 1 <= weeks <= 52:
                return UsageError(f"Weeks must be between 1 and 52, not {_show(t.raw)}.", _EX["index"])
        elif team is None:
            name = _team_name([t], _EX["index"])
            if isinstance(name, UsageError):
                return name
            team = name
        else:
            msg = f"“/tend index” takes one team and a number of weeks; “{_show(t.raw)}” is extra."
            return UsageError(msg, _EX["index"])
    return IndexShow(team, weeks)


def _forget_me(text: str, args: list[_Token]) -> Result:
    if not args:
        return ForgetMe(False)
    if len(args) == 1 and args[0].word == "confirm":
        return ForgetMe(True)
    msg = f"The only word forget-me takes is confirm, not “{_show(args[-1].raw)}”."
    return UsageError(msg, _EX["forget-me"])


def _one_add(text: str, args: list[_Token]) -> Result:
    ex = _EX["1on1"]
    n = next((i for i, t in enumerate(args) if not t.person), len(args))
    people = [t.person for t in args[:n] if t.person]
    if n == 0:
        return UsageError("Mention who the 1:1 is with, then the schedule.", ex)
    if n > 2:
        return UsageError("Mention at most two people: the manager (optional), then the report.", ex)
    if not args[n:]:
        return UsageError("Add a schedule after the person, like every 2 weeks thu 10:00.", ex)
    manager, report = (people[0], people[1]) if n == 2 else (None, people[0])
    if manager and len(_unique_people([manager, report])) == 1:
        return UsageError("The manager and the report must be two different people.", ex)
    return OneOnOneAdd(report, _span(text, args[n:]), manager)


def _one_prep(text: str, args: list[_Token]) -> Result:
    ex = _EX["1on1-prep"]
    ident = _positive_id(args, "1:1", ex)
    if isinstance(ident, UsageError):
        return ident
    if len(args) != 2 or args[1].word not in ("on", "off"):
        return UsageError("After the 1:1 id, say on or off.", ex)
    return OneOnOnePrep(ident, args[1].word == "on")


def _hours(text: str, args: list[_Token]) -> Result:
    ex = _EX["settings"]
    m = re.fullmatch(r"([^\s–-]+)\s*[–-]\s*([^\s–-]+)(?:\s+(.*))?", _span(text, args), re.S)
    if not m:
        return UsageError("Give working hours as start-end in 24-hour time, like 08:00-16:00.", ex)
    start, end = parse_clock(m[1]), parse_clock(m[2])
    if start is None or end is None:
        bad = m[1] if start is None else m[2]
        return UsageError(f"“{_show(bad)}” isn't a time; use 24-hour HH:MM, like 08:00.", ex)
    if start >= end:
        return UsageError(f"The start ({m[1]}) must be before the end ({m[2]}).", ex)
    days = parse_days(m[3]) if m[3] and m[3].strip() else WEEKDAYS[:5]
    if isinstance(days, str):
        return UsageError(f"“{_show(days)}” isn't a day; use names like mon or ranges like mon-thu.", ex)
    return SettingsHours(start, end, days)


def _tz(text: str, args: list[_Token]) -> Result:
    ex = _EX["settings-tz"]
    if len(args) != 1:
        return UsageError("Give one time zone name, like Europe/Berlin.", ex)
    zone = _zone(args[0].raw)
    if zone is None:
        return UsageError(f"“{_show(args[0].raw)}” isn't a time zone I know; try one like Europe/Berlin.", ex)
    return SettingsTimeZone(zone)


def _settings(text: str, args: list[_Token]) -> Result:
    return SettingsShow() if not args else _group("settings", {"hours": _hours, "tz": _tz})(text, args)


def _pause(text: str, args: list[_Token]) -> Result:
    ex = _EX["pause"]
    if len(args) == 1 and args[0].word == "off":
        return PauseOff()
    if args and args[0].word == "until":
        args = args[1:]
    if len(args) != 1:
        return UsageError("Say when to pause until, as a date like 2030-01-31, or pause off.", ex)
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", args[0].raw):
            raise ValueError
        return PauseUntil(dt.date.fromisoformat(args[0].raw))
    except ValueError:
        return UsageError(f"“{_show(args[0].raw)}” isn't a date; write it as YYYY-MM-DD.", ex)


def _help(text: str, args: list[_Token]) -> Result:
    return Help(" ".join(t.raw for t in args).casefold() or None)


_TEND: dict[str, Parser] = {
    "help": _help,
    "stress": _only(Stress, "stress"),
    "ritual": _group(
        "ritual",
        {
            "list": _only(RitualList, "ritual list"),
            "add": _ritual_add,
            "pause": _id_cmd(RitualPause, "ritual", "ritual-id"),
            "resume": _id_cmd(RitualResume, "ritual", "ritual-resume"),
            "remove": _id_cmd(RitualRemove, "ritual", "ritual-remove"),
        },
    ),
    "team": _group(
        "team",
        {
            "list": _only(TeamList, "team list"),
            "create": _team_create,
            "add": _team_people(TeamAdd, "add to the team"),
            "remove": _team_people(TeamRemove, "remove from the team"),
            "manager": _team_people(TeamManager, "make a manager of the team"),
            "delete": _team_delete,
        },
    ),
    "index": _index,
    "privacy": _only(Privacy, "privacy"),
    "forget-me": _forget_me,
    "export-my-data": _only(ExportMyData, "export-my-data"),
    "admin": _group(
        "admin",
        {
            "list": _only(AdminList, "admin list"),
            "log": _only(AdminLog, "admin log"),
            "add": _people_cmd(AdminAdd, "make an admin", "admin"),
            "remove": _people_cmd(AdminRemove, "remove as admin", "admin"),
        },
    ),
    "support": _group(
        "support",
        {
            "list": _only(SupportList, "support list"),
            "add": _people_cmd(SupportAdd, "add as a support contact", "support"),
            "remove": _people_cmd(SupportRemove, "remove as a support contact", "support"),
        },
    ),
    "1on1": _group(
        "1on1",
        {
            "list": _only(OneOnOneList, "1on1 list"),
            "add": _one_add,
            "remove": _id_cmd(OneOnOneRemove, "1:1", "1on1-id"),
            "prep": _one_prep,
        },
    ),
    "settings": _settings,
    "pause": _pause,
    "resume": _only(PauseOff, "resume"),
}


def _tend(text: str, toks: list[_Token]) -> Result:
    if not toks:
        return Help(None)
    first = toks[0]
    if first.person:
        return UsageError("To thank someone, use /kudos; /tend starts with a command word.", _EX["kudos"])
    parser = _TEND.get(first.word)
    if parser:
        return parser(text, toks[1:])
    close = difflib.get_close_matches(first.word[:40], list(_TEND), n=1, cutoff=0.6)
    if close:
        return UsageError(f"I don't know “{_show(first.raw)}”; did you mean “{close[0]}”?", _EX[close[0]])
    return UsageError(f"I don't know “{_show(first.raw)}”; /tend help lists what I can do.", "/tend help")


def _parse(command: str, text: str, mentions: tuple[PersonRef, ...]) -> Result:
    if len(text) > MAX_TEXT:
        example = _EX["kudos"] if command == "kudos" else "/tend help"
        return UsageError(f"That's {len(text):,} characters; I read up to {MAX_TEXT:,}.", example)
    toks = _tokenize(text, mentions)
    return _kudos(text, toks) if command == "kudos" else _tend(text, toks)


def parse(command: Literal["kudos", "tend"], text: str, mentions: tuple[PersonRef, ...] = ()) -> Result:
    """Never raises: a chat command must always get an answer, so even a bug becomes a usage error."""
    try:
        return _parse(command, text, mentions)
    except Exception:
        return UsageError("Sorry, I couldn't read that command.", "/tend help")
