"""The neutral vocabulary practices speak: cards, forms and the intents they return.

Practices decide, the engine does: a practice returns intents ("post this card there", "DM this
person at their 09:30") and never sends anything itself. Adapters render cards to Block Kit,
Adaptive Cards or console text; nothing here knows any platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# --- card building blocks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A paragraph. ``*bold*`` and ``_italic_`` are the only markup adapters must understand."""

    text: str


@dataclass(frozen=True)
class Fine:
    """Small print under a card (context), e.g. "only the aggregate is shown"."""

    text: str


@dataclass(frozen=True)
class Fact:
    """A label and a value shown side by side (a Teams FactSet, a Slack field)."""

    label: str
    value: str


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
        lines = [self.title]
        lines += [block.text for block in self.blocks if isinstance(block, Text)]
        return "\n".join(line for line in lines if line)

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every button on the card, in reading order (the console numbers them this way)."""
        found: list[Button] = []
        for block in self.blocks:
            if isinstance(block, Buttons):
                found.extend(block.buttons)
        return tuple(found)


def text_card(text: str, title: str = "") -> Card:
    """The common case: a short answer with no buttons."""
    return Card(title=title, blocks=(Text(text),))


# --- forms ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True)
class FormField:
    """One input. ``kind`` decides the widget; ``choices`` only for ``choice``."""

    name: str
    label: str
    kind: Literal["text", "long_text", "choice", "person"] = "text"
    choices: tuple[Choice, ...] = ()
    required: bool = True
    max_length: int | None = None
    hint: str = ""


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
class OpenForm:
    """Open a private form for the person who acted."""

    form: Form


@dataclass(frozen=True)
class FieldErrors:
    """A submitted form had bad values: field name → what to fix. Returned INSTEAD of storing anything,
    so the person corrects the field in place (Slack marks it in the modal, the console asks again)."""

    errors: tuple[tuple[str, str], ...]

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


Intent = Reply | PostToPlace | DirectMessage | OpenForm | UpdateCard | FieldErrors


@dataclass(frozen=True)
class Outcome:
    """What a practice hands back: intents to carry out, in order."""

    intents: tuple[Intent, ...] = field(default_factory=tuple)

    @staticmethod
    def reply(text: str, title: str = "") -> Outcome:
        return Outcome((Reply(text_card(text, title)),))


# --- stored form -----------------------------------------------------------------------------------
# Cards wait in the outbox as JSON; these two functions are the only (de)serialisation, so a stored
# card always comes back equal to the one a practice built.

_BLOCKS: dict[str, type] = {cls.__name__: cls for cls in (Text, Fine, Facts, Image, Buttons, Divider)}


def card_to_dict(card: Card) -> dict[str, object]:
    blocks: list[dict[str, object]] = []
    for block in card.blocks:
        if isinstance(block, Facts):
            data: dict[str, object] = {"facts": [[f.label, f.value] for f in block.facts]}
        elif isinstance(block, Buttons):
            data = {"buttons": [[b.label, b.action, b.value, b.style] for b in block.buttons]}
        else:
            data = dict(block.__dict__)
        blocks.append({"type": type(block).__name__, **data})
    return {"title": card.title, "blocks": blocks}


def card_from_dict(data: dict[str, object]) -> Card:
    blocks: list[Block] = []
    for raw in data.get("blocks", []):  # type: ignore[union-attr]
        item = dict(raw)
        kind = _BLOCKS[item.pop("type")]
        if kind is Facts:
            blocks.append(Facts(tuple(Fact(label, value) for label, value in item["facts"])))
        elif kind is Buttons:
            blocks.append(Buttons(tuple(Button(*button) for button in item["buttons"])))
        else:
            blocks.append(kind(**item))
    return Card(title=str(data.get("title", "")), blocks=tuple(blocks))
