"""Cards as readable terminal text, buttons numbered so ``/click N`` can press them.

Tend's own ``*bold*``/``_italic_`` marks are dropped; what a person typed is shown exactly as typed;
people read as ``@name``, channels as ``#name``, times as Tend wrote them in the reader's zone; an
example command exactly as it is typed here (``/kudos …``, its asterisks kept).
"""

from __future__ import annotations

import re
import textwrap

from practices.messages import (
    Button,
    Buttons,
    Card,
    Divider,
    Example,
    Facts,
    Fine,
    FormField,
    Image,
    Place,
    Text,
    Wording,
    plain_span,
    spans,
)

WIDTH = 78
_BOLD = re.compile(r"\*(.+?)\*")
_ITALIC = re.compile(r"(?<!\w)_(.+?)_(?!\w)")


def plain(markup: str) -> str:
    """Drops the little markup cards use; a terminal shows it as it is meant, not as asterisks."""
    return _ITALIC.sub(r"\1", _BOLD.sub(r"\1", markup))


def shown(wording: Wording) -> str:
    """A paragraph as the terminal shows it (console places are named by their ids)."""
    parts = spans(wording)
    return "".join(
        plain(part)
        if isinstance(part, str)
        else f"#{part.place_id}"
        if isinstance(part, Place)
        else f"`{part.text}`"  # as typed here, asterisks and all
        if isinstance(part, Example)
        else plain_span(part)
        for part in parts
    )


def _wrap(text: str, indent: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(
            paragraph,
            WIDTH - len(indent),
            initial_indent=indent,
            subsequent_indent=indent + "  " if paragraph.startswith("•") else indent,
        ) or [indent]
    return lines


def render_card(card: Card, first_button: int = 1) -> str:
    """The card as lines of text; buttons are numbered from ``first_button``."""
    lines: list[str] = []
    if card.title:
        lines.append(f"┌ {plain(card.title)}")
    number = first_button
    for block in card.blocks:
        if isinstance(block, Text):
            lines += _wrap(shown(block.text), "│ ")
        elif isinstance(block, Fine):
            lines += _wrap(f"({shown(block.text)})", "│ ")
        elif isinstance(block, Facts):
            lines += [f"│ {plain(fact.label)}: {shown(fact.value)}" for fact in block.facts]
        elif isinstance(block, Image):
            lines.append(f"│ [image: {block.alt}] {block.path or block.url}")
        elif isinstance(block, Divider):
            lines.append("│ " + "─" * 20)
        elif isinstance(block, Buttons):
            labels = []
            for button in block.buttons:
                labels.append(f"[{number}] {button.label}")
                number += 1
            lines += textwrap.wrap("   ".join(labels), WIDTH - 2, initial_indent="│ ", subsequent_indent="│ ")
    if card.title:
        lines.append("└")
    return "\n".join(lines)


def numbered_buttons(card: Card, first_button: int = 1) -> dict[int, Button]:
    return {first_button + index: button for index, button in enumerate(card.buttons)}


# What an optional field's answer is typed as to leave it empty when Enter would keep its prefilled value.
CLEAR = "-"

# A terminal has no picker: a date or time field is typed, in the text a practice parses.
FORMATS = {
    "date": "Type the date as YYYY-MM-DD, like 2027-03-31.",
    "time": "Type the time as 24-hour HH:MM, like 14:30.",
}


def prefilled(field: FormField) -> str:
    """The field's ``initial`` as the console can offer it: a choice's value only when it is one of the
    choices, cut to the field's length (as Slack does), and none for a person (no platform prefills one)."""
    if not field.initial or field.kind == "person":
        return ""
    if field.choices and field.initial not in {choice.value for choice in field.choices}:
        return ""
    return field.initial[: field.max_length] if field.max_length else field.initial


def field_prompt(field: FormField, keep: str = "") -> str:
    """How one form field is asked for: its format when it is a date or a time, its choices numbered,
    and ``keep`` in brackets, the prefilled answer Enter keeps (a choice shown by its label)."""
    shown_keep = next((choice.label for choice in field.choices if choice.value == keep), keep)
    optional = " (optional)" if keep else " (optional, Enter to skip)"
    lines = [f"{field.label}{'' if field.required else optional}{f' [{shown_keep}]' if keep else ''}"]
    if keep:
        empties = "" if field.required else f" Type {CLEAR} to leave it empty."
        lines.append(f"  Enter keeps it; type to change it.{empties}")
    if field.kind in FORMATS:
        lines.append(f"  {FORMATS[field.kind]}")
    if field.hint:
        lines.append(f"  {field.hint}")
    for index, choice in enumerate(field.choices, start=1):
        lines.append(f"  {index}) {choice.label}")
    return "\n".join(lines)
