"""The neutral vocabulary practices speak: cards, forms and the intents they return.

Practices decide, the engine does: a practice returns intents ("post this card there", "DM this
person at their 09:30") and never sends anything itself. Adapters render cards to Block Kit,
Adaptive Cards or console text; nothing here knows any platform.

Text on a card is composed of parts (``Rich``): Tend's own words (a ``str``, with ``*bold*`` and
``_italic_`` as its only markup), words a person typed (``Said``: shown exactly as typed, never read as
markup, a link or a ping), a member (``Mention``), a channel (``Place``), a moment (``When``) and a
command the reader can type (``Example``), so each adapter draws people, places, times and examples the
way its platform does and escapes what people typed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

# --- parts of a text --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """Words a person typed (a reason, a note, a message): shown as typed on every platform, never as
    markup, a link, an @channel or an HTML tag."""

    text: str


@dataclass(frozen=True)
class Mention:
    """A member, as the platform mentions people (it notifies them and shows their current name).

    ``user_id`` is the platform's id (Slack ``U…``, Teams ``29:…``, the console's name); ``name`` is the
    display name Tend knows, for platforms that need it and for plain readings."""

    user_id: str
    name: str = ""


@dataclass(frozen=True)
class Place:
    """A channel, as a reference the platform can draw (never a raw id in prose); ``name`` when known."""

    place_id: str
    name: str = ""


@dataclass(frozen=True)
class When:
    """A moment each platform may show in the reader's own time zone and language; ``fallback`` is how
    Tend would write it for the reader (in their time zone), for places that cannot localise."""

    at: datetime
    fallback: str
    show: Literal["date", "time", "date_time"] = "date_time"


@dataclass(frozen=True)
class Example:
    """A command the reader can type, in Tend's neutral spelling (``/kudos @sam thanks``, ``/tend help``).

    Each adapter draws it as code, spelled as its platform accepts it typed (``typed_on``): Slack and the
    console take ``/kudos``; Teams has no slash commands, so its people type ``kudos``/``tend``."""

    text: str


Span = str | Said | Mention | Place | When | Example
Rich = tuple[Span, ...]
Wording = str | Rich  # what a paragraph, a small print or a fact's value holds

_FIELDS = string.Formatter()
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")


def compose(template: str, **values: Span | Rich | int | float) -> Rich:
    """``template`` (Tend's words, with ``{name}`` fields) with each field replaced by its part.

    ``compose("{giver} thanked you: {reason}", giver=Mention("U1", "ana"), reason=Said(typed))``: a str
    or a number counts as Tend's own words (format specs apply); any other part keeps its kind, so it is
    drawn and escaped by kind.
    """
    parts: list[Span] = []
    for literal, name, spec, conversion in _FIELDS.parse(template):
        if literal:
            parts.append(literal)
        if name is None:
            continue
        value = values[name]
        if isinstance(value, tuple):
            parts.extend(value)
        elif isinstance(value, Said | Mention | Place | When | Example):
            parts.append(value)
        else:
            parts.append(_FIELDS.format_field(_FIELDS.convert_field(value, conversion), spec or ""))
    return merge(parts)


def merge(parts: list[Span] | Rich) -> Rich:
    """Adjacent pieces of Tend's words joined, empty ones dropped: the shortest equal reading."""
    merged: list[Span] = []
    for part in parts:
        if isinstance(part, str) and not part:
            continue
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return tuple(merged)


def spans(wording: Wording) -> Rich:
    return (wording,) if isinstance(wording, str) else wording


def joined(parts: Sequence[Span | Rich], separator: str = ", ", last: str = " and ") -> Rich:
    """``a``, ``a and b``, ``a, b and c``: a list of parts read as one phrase."""
    out: list[Span] = []
    for index, part in enumerate(parts):
        if index:
            out.append(last if index == len(parts) - 1 else separator)
        out.extend(part if isinstance(part, tuple) else (part,))
    return merge(out)


# The grammar's tokens for a person or a channel the platform itself marked in what someone typed.
_TOKEN = re.compile(r"<@(?P<uid>[^\s<>|]+)(?:\|[^<>]*)?>|<#(?P<pid>[^\s<>|]+)(?:\|(?P<pname>[^<>]*))?>")
_FORGED = re.compile(r"<(?=[@#])")
_OPAQUE_PLACE = re.compile(r"[:@;]")  # an id no person would call a channel by


COMMAND_WORDS = ("kudos", "tend")
_SLASHED = re.compile(r"(?<![\w/])/(kudos|tend)\b")


def typed_on(text: str, slash_commands: bool) -> str:
    """``text`` with each ``/kudos`` and ``/tend`` spelled as a platform takes them typed: unchanged where
    they are slash commands, ``kudos``/``tend`` where they are words sent to Tend (Teams). The one place
    the command word changes per platform; practices always write the slash form."""
    return text if slash_commands else _SLASHED.sub(r"\1", text)


_CODE = re.compile(r"`([^`\n]+)`")


def examples_in(text: str) -> Rich:
    """Tend's words in which each command to type is marked `like this`, as parts: each marked one an
    ``Example``, drawn as code and spelled as the reader's platform takes it typed. For words kept as
    plain ``str`` where they are declared (a usage error's message, a help line)."""
    parts: list[Span] = []
    last = 0
    for found in _CODE.finditer(text):
        parts += [text[last : found.start()], Example(found[1])]
        last = found.end()
    parts.append(text[last:])
    return merge(parts)


def people_in(text: str) -> set[str]:
    """The platform user ids a typed text mentions (to look their names up before ``words``)."""
    return {found["uid"] for found in _TOKEN.finditer(text) if found["uid"]}


def words(text: str, names: Mapping[str, str] | None = None) -> Rich:
    """What a person typed in a command, as parts: the people and channels the platform marked in it
    (``<@id>``, ``<#id>``) become a ``Mention`` (named from ``names``) or a ``Place``; the rest is
    ``Said``. Only the adapters write such tokens, so they are the platform's own mentions."""
    parts: list[Span] = []
    last = 0
    for found in _TOKEN.finditer(text):
        if found.start() > last:
            parts.append(Said(text[last : found.start()]))
        last = found.end()
        if found["uid"]:
            parts.append(Mention(found["uid"], (names or {}).get(found["uid"], "")))
        else:
            parts.append(Place(found["pid"], (found["pname"] or "").strip()))
    if last < len(text):
        parts.append(Said(text[last:]))
    return tuple(parts)


def as_typed(text: str) -> str:
    """Text typed into a form, where no platform marks mentions: a typed ``<@id>`` is kept as words."""
    return _FORGED.sub("", text)


def unmarked(text: str) -> str:
    """Tend's words without their ``*bold*`` / ``_italic_`` marks: how they read as plain text."""
    return _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text))


def plain_span(part: Span) -> str:
    """One part as plain text: people as ``@name``, places as ``#name``, times as Tend wrote them."""
    if isinstance(part, str):
        return unmarked(part)
    if isinstance(part, Said | Example):
        return part.text
    if isinstance(part, Mention):
        return f"@{part.name or part.user_id}"
    if isinstance(part, Place):  # a Teams conversation id ("19:…@thread.tacv2") is never shown
        if part.name or not _OPAQUE_PLACE.search(part.place_id):
            return f"#{part.name or part.place_id}"
        return "a channel"
    return part.fallback


def plain(wording: Wording) -> str:
    """A paragraph as plain text, for notifications and previews on any platform."""
    return "".join(plain_span(part) for part in spans(wording))


def marked(wording: Wording) -> str:
    """A paragraph as text in Tend's own markup: like ``plain``, but ``*bold*`` stays marked and an
    example is marked as code (`` `/tend help` ``)."""
    return "".join(
        part if isinstance(part, str) else f"`{part.text}`" if isinstance(part, Example) else plain_span(part)
        for part in spans(wording)
    )


def mentions_in(wording: Wording) -> tuple[Mention, ...]:
    return tuple(part for part in spans(wording) if isinstance(part, Mention))


# --- card building blocks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A paragraph: Tend's words (``*bold*`` and ``_italic_`` are the only markup adapters must
    understand) or, when it names people, places, times or holds what someone typed, its parts."""

    text: Wording


@dataclass(frozen=True)
class Fine:
    """Small print under a card (context), e.g. "only the aggregate is shown"."""

    text: Wording


@dataclass(frozen=True)
class Fact:
    """A label (Tend's words) and a value shown side by side (a Teams FactSet, a Slack field)."""

    label: str
    value: Wording


@dataclass(frozen=True)
class Facts:
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Image:
    url: str
    alt: str
    path: str | None = None  # a local file, for adapters that upload instead of linking


@dataclass(frozen=True)
class Button:
    """A tap. ``action`` routes it back to a practice; ``value`` carries its argument."""

    label: str
    action: str
    value: str = ""
    style: Literal["default", "primary", "danger"] = "default"


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Divider:
    pass


Block = Text | Fine | Facts | Image | Buttons | Divider


@dataclass(frozen=True)
class Card:
    """A message: a title, blocks, and a plain-text fallback for notifications and logs-free previews."""

    title: str
    blocks: tuple[Block, ...] = ()

    @property
    def fallback(self) -> str:
        """The card read as text in Tend's own markup (``*bold*``): people as ``@name``, what people
        typed as typed. Tests and the console read it; each adapter writes its own notification text."""
        lines = [self.title]
        lines += [marked(block.text) for block in self.blocks if isinstance(block, Text)]
        return "\n".join(line for line in lines if line)

    @property
    def plain(self) -> str:
        """The same with no markup at all, for platforms that show notification text as it is."""
        lines = [self.title]
        lines += [plain(block.text) for block in self.blocks if isinstance(block, Text)]
        return "\n".join(line for line in lines if line)

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every button on the card, in reading order (the console numbers them this way)."""
        found: list[Button] = []
        for block in self.blocks:
            if isinstance(block, Buttons):
                found.extend(block.buttons)
        return tuple(found)


def text_card(text: Wording, title: str = "") -> Card:
    """The common case: a short answer with no buttons."""
    return Card(title=title, blocks=(Text(text),))


# --- forms ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True)
class FormField:
    """One input. ``kind`` decides the widget; ``choices`` only for ``choice``.

    ``date`` and ``time`` are each platform's own picker where it has one (a Slack datepicker or
    timepicker, a Teams ``Input.Date``/``Input.Time``); the console asks for the text. Either way the
    value arrives as the same text a practice parses: ``YYYY-MM-DD`` and ``HH:MM`` (24-hour), so the
    field's hint need not teach the format (the console's prompt says it)."""

    name: str
    label: str
    kind: Literal["text", "long_text", "choice", "person", "date", "time"] = "text"
    choices: tuple[Choice, ...] = ()
    required: bool = True
    max_length: int | None = None
    hint: str = ""
    # Asked only when another field has this value, as (field name, value): the console skips it
    # otherwise; Slack and Teams show it always, so its label or hint must say when it applies.
    only_if: tuple[str, str] | None = None
    # What the field holds before anyone answers, in the text the field answers with (``YYYY-MM-DD``
    # for a date, ``HH:MM`` for a time, a choice's value; not for a person): the likeliest answer, so a
    # person only changes it when it is wrong. Slack's ``initial_*``, Teams' ``value``.
    initial: str = ""
    # Where a platform cannot follow ``only_if`` as the other field changes (Teams), the words of the
    # control that shows this field; the label when empty.
    reveal: str = ""

    def applies(self, values: Mapping[str, str]) -> bool:
        """Whether this field is asked, given the answers so far."""
        return self.only_if is None or values.get(self.only_if[0]) == self.only_if[1]


@dataclass(frozen=True)
class Form:
    """A private form (a Slack modal, an Adaptive Card with inputs, field-by-field in the console)."""

    form_id: str
    title: str
    fields: tuple[FormField, ...]
    submit_label: str = "Send"
    state: str = ""  # opaque to adapters; handed back on submit


# --- intents -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An answer to the person who acted, where they acted. Private (ephemeral) unless said otherwise."""

    card: Card
    private: bool = True


@dataclass(frozen=True)
class PostToPlace:
    """Post a card in a channel. ``key`` makes the post idempotent when it goes through the outbox."""

    place_id: str
    card: Card
    key: str | None = None


@dataclass(frozen=True)
class DirectMessage:
    """A private message to one member.

    ``not_before`` holds it until then; ``respect_hours`` keeps it inside the person's working hours
    in their own time zone (the engine moves it to the next window). ``sealed`` keeps who receives it
    and what it says encrypted under the server secret while it waits, and leaves no row once sent:
    for messages of an anonymous conversation, whose receiver must not be readable from the outbox.
    """

    member_id: int
    card: Card
    key: str | None = None
    not_before: datetime | None = None
    respect_hours: bool = True
    sealed: bool = False


@dataclass(frozen=True)
class OpenGroup:
    """Gather several members in one conversation and say ``card`` there (a compassion pod's start).

    Slack opens a group DM with them; Teams, where a bot cannot start a group chat, posts in
    ``place_id`` mentioning them; the console prints it. ``not_before`` holds it until then: the
    practice picks a moment inside everyone's working hours, since all of them are notified at once.
    """

    member_ids: tuple[int, ...]
    card: Card
    place_id: str
    key: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class OpenForm:
    """Open a private form for the person who acted."""

    form: Form


@dataclass(frozen=True)
class FieldErrors:
    """A submitted form had bad values: field name → what to fix. Returned INSTEAD of storing anything,
    so the person corrects the field in place (Slack marks it in the modal, the console asks again).
    ``form`` is the form that was submitted, for platforms whose form closed on submit: Teams sends it
    again with the answers kept and each message under its field."""

    errors: tuple[tuple[str, str], ...]
    form: Form | None = None

    @property
    def text(self) -> str:
        """All the messages as one answer, for platforms that can only reply."""
        return "\n".join(message for _, message in self.errors)


@dataclass(frozen=True)
class UpdateCard:
    """Replace a card Tend posted earlier (e.g. the opener aggregate after a tap)."""

    message_ref: str
    place_id: str
    card: Card


Intent = Reply | PostToPlace | DirectMessage | OpenGroup | OpenForm | UpdateCard | FieldErrors


@dataclass(frozen=True)
class Outcome:
    """What a practice hands back: intents to carry out, in order."""

    intents: tuple[Intent, ...] = field(default_factory=tuple)

    @staticmethod
    def reply(text: Wording, title: str = "") -> Outcome:
        return Outcome((Reply(text_card(text, title)),))


# --- stored form -----------------------------------------------------------------------------------
# Cards wait in the outbox as JSON; these two functions are the only (de)serialisation, so a stored
# card always comes back equal to the one a practice built.

_BLOCKS: dict[str, type] = {cls.__name__: cls for cls in (Text, Fine, Facts, Image, Buttons, Divider)}


def _wording_to_json(wording: Wording) -> object:
    """A str stays a str (rows written before parts existed read back unchanged); parts become a list."""
    if isinstance(wording, str):
        return wording
    out: list[object] = []
    for part in wording:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Said):
            out.append({"said": part.text})
        elif isinstance(part, Mention):
            out.append({"mention": [part.user_id, part.name]})
        elif isinstance(part, Place):
            out.append({"place": [part.place_id, part.name]})
        elif isinstance(part, Example):
            out.append({"example": part.text})
        else:
            out.append({"when": [part.at.isoformat(), part.fallback, part.show]})
    return out


def _wording_from_json(raw: object) -> Wording:
    if isinstance(raw, str):
        return raw
    parts: list[Span] = []
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, str):
            parts.append(item)
        elif "said" in item:
            parts.append(Said(str(item["said"])))
        elif "mention" in item:
            parts.append(Mention(*item["mention"]))
        elif "place" in item:
            parts.append(Place(*item["place"]))
        elif "example" in item:
            parts.append(Example(str(item["example"])))
        elif "when" in item:
            at, fallback, show = item["when"]
            parts.append(When(datetime.fromisoformat(at), fallback, show))
    return tuple(parts)


def card_to_dict(card: Card) -> dict[str, object]:
    blocks: list[dict[str, object]] = []
    for block in card.blocks:
        if isinstance(block, Facts):
            data: dict[str, object] = {"facts": [[f.label, _wording_to_json(f.value)] for f in block.facts]}
        elif isinstance(block, Buttons):
            data = {"buttons": [[b.label, b.action, b.value, b.style] for b in block.buttons]}
        elif isinstance(block, Text | Fine):
            data = {"text": _wording_to_json(block.text)}
        else:
            data = dict(block.__dict__)
        blocks.append({"type": type(block).__name__, **data})
    return {"title": card.title, "blocks": blocks}


def card_from_dict(data: dict[str, object]) -> Card:
    blocks: list[Block] = []
    for raw in cast("list[dict[str, Any]]", data.get("blocks", [])):  # as card_to_dict wrote them
        item = dict(raw)
        kind = _BLOCKS[item.pop("type")]
        if kind is Facts:
            facts = (Fact(label, _wording_from_json(value)) for label, value in item["facts"])
            blocks.append(Facts(tuple(facts)))
        elif kind is Buttons:
            blocks.append(Buttons(tuple(Button(*button) for button in item["buttons"])))
        elif kind in (Text, Fine):
            blocks.append(kind(_wording_from_json(item["text"])))
        else:
            blocks.append(kind(**item))
    return Card(title=str(data.get("title", "")), blocks=tuple(blocks))
