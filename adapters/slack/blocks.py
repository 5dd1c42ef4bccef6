"""Neutral cards and forms → Block Kit: pure functions, kept inside Slack's published limits.

Tend's own words already speak Slack's mrkdwn (``*bold*``, ``_italic_``); every piece of text has
``&``, ``<`` and ``>`` escaped as Slack's formatting rules ask, so nothing Tend shows can become
``<!channel>``, ``<!here>``, a user-group ping or a disguised ``<url|label>`` link. Only the parts a
card names as such become Slack's own syntax: a ``Mention`` is ``<@U…>``, a ``Place`` ``<#C…>``, a
``When`` ``<!date^…>`` (shown in the reader's time zone), an ``Example`` inline code (Slack takes
``/kudos`` as typed, and its asterisks stay asterisks). What could exceed a limit is cut with "…"
rather than rejected by Slack at send time, never inside an escape or a ``<…>`` token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from practices.messages import (
    Button,
    Buttons,
    Card,
    Divider,
    Example,
    Facts,
    Fine,
    Form,
    FormField,
    Image,
    Mention,
    Place,
    Said,
    Text,
    When,
    Wording,
    plain_span,
    spans,
)

# Block Kit limits (https://api.slack.com/reference/block-kit).
MAX_BLOCKS = 50  # per message
MAX_MODAL_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10  # per section
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_ACTIONS = 25  # elements per actions block
MAX_ALT_TEXT = 2000
MAX_URL = 3000
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24
MAX_LABEL = 2000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_INPUT_LENGTH = 3000
MAX_PRIVATE_METADATA = 3000
MAX_FALLBACK = 3000  # the notification text; Slack allows more, nobody reads more
ELLIPSIS = "…"

Blocks = list[dict[str, Any]]

_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
_DATE_FORMATS = {"date": "{date_short_pretty}", "time": "{time}", "date_time": "{date_short_pretty} {time}"}
_OPEN_TOKEN = re.compile(r"(<[^>]*|&[a-z]{0,4})$")  # a cut that would leave "<@U1" or "&am" open


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, marked with "…" when it had to be shortened."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def cut_markup(text: str, limit: int) -> str:
    """Like ``cut``, for mrkdwn: never ends inside an ``&amp;`` escape or a ``<…>`` token."""
    if len(text) <= limit:
        return text
    return _OPEN_TOKEN.sub("", text[: limit - 1]) + ELLIPSIS


def escape(text: str) -> str:
    """Text shown as it is: Slack's three control characters escaped, as its formatting rules ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _span(part: object) -> str:
    if isinstance(part, str):  # Tend's own words: its *bold* and _italic_ stay, nothing else acts
        return escape(part)
    if isinstance(part, Said):
        return escape(part.text)
    if isinstance(part, Example):  # inline code: nothing inside is read as bold, italic or a link
        return "`" + escape(part.text.replace("`", "'")) + "`"
    if isinstance(part, Mention):
        return f"<@{part.user_id}>" if _USER_ID.fullmatch(part.user_id) else escape(plain_span(part))
    if isinstance(part, Place):
        return f"<#{part.place_id}>" if _CHANNEL_ID.fullmatch(part.place_id) else escape(plain_span(part))
    if isinstance(part, When):
        stamp = int(part.at.timestamp())
        return f"<!date^{stamp}^{_DATE_FORMATS[part.show]}|{escape(part.fallback)}>"
    raise TypeError(f"not a part of a text: {type(part).__name__}")


def text_of(wording: Wording) -> str:
    """A paragraph as Slack mrkdwn: each part drawn by its kind, everything else escaped."""
    return "".join(_span(part) for part in spans(wording))


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    """A mrkdwn object for text already drawn by ``text_of`` (escaped, tokens whole)."""
    return {"type": "mrkdwn", "text": cut_markup(text or " ", limit)}


def _button(button: Button, action_id: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(button.label, MAX_BUTTON_TEXT),
        "action_id": action_id[:MAX_ACTION_ID],
    }
    if button.value:
        element["value"] = button.value[:MAX_BUTTON_VALUE]
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _actions(buttons: tuple[Button, ...]) -> Blocks:
    """Buttons in rows of 25; an action repeated in one row gets a ``~n`` suffix (ids must be unique)."""
    rows: Blocks = []
    for start in range(0, len(buttons), MAX_ACTIONS):
        seen: set[str] = set()
        elements = []
        for index, button in enumerate(buttons[start : start + MAX_ACTIONS]):
            action_id = button.action if button.action not in seen else f"{button.action}~{index}"
            seen.add(button.action)
            elements.append(_button(button, action_id))
        rows.append({"type": "actions", "elements": elements})
    return rows


def _facts(facts: Facts) -> Blocks:
    fields = [
        mrkdwn(f"*{escape(fact.label)}*\n{text_of(fact.value)}", MAX_FIELD_TEXT) for fact in facts.facts
    ]
    return [
        {"type": "section", "fields": fields[start : start + MAX_FIELDS]}
        for start in range(0, len(fields), MAX_FIELDS)
    ]


def _image(image: Image) -> Blocks:
    if not image.url.startswith(("http://", "https://")) or len(image.url) > MAX_URL:
        # A local file only (Slack needs a public URL): say what it shows instead.
        return [{"type": "context", "elements": [mrkdwn(escape(f"[{image.alt}]"), MAX_CONTEXT_TEXT)]}]
    return [{"type": "image", "image_url": image.url, "alt_text": cut(image.alt or "image", MAX_ALT_TEXT)}]


def card_blocks(card: Card) -> Blocks:
    """The card as Block Kit blocks, at most 50; a longer card ends with a "…" line."""
    blocks: Blocks = []
    if card.title:
        blocks.append({"type": "header", "text": plain(card.title, MAX_HEADER_TEXT)})
    for block in card.blocks:
        if isinstance(block, Text):
            blocks.append({"type": "section", "text": mrkdwn(text_of(block.text))})
        elif isinstance(block, Fine):
            blocks.append({"type": "context", "elements": [mrkdwn(text_of(block.text), MAX_CONTEXT_TEXT)]})
        elif isinstance(block, Facts):
            blocks += _facts(block)
        elif isinstance(block, Image):
            blocks += _image(block)
        elif isinstance(block, Buttons):
            blocks += _actions(block.buttons)
        elif isinstance(block, Divider):
            blocks.append({"type": "divider"})
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], {"type": "context", "elements": [mrkdwn(ELLIPSIS)]}]
    return blocks


def fallback_text(card: Card) -> str:
    """The text Slack shows in notifications and where blocks cannot be drawn: mrkdwn too, so it is
    escaped like the blocks and names people with the same mentions (read as names, not ids)."""
    lines = [escape(card.title)] + [text_of(block.text) for block in card.blocks if isinstance(block, Text)]
    return cut_markup("\n".join(line for line in lines if line) or " ", MAX_FALLBACK)


def _element(field: FormField) -> dict[str, Any]:
    """The field's input, starting from ``field.initial`` where it has one."""
    element = _bare_element(field)
    if not field.initial:
        return element
    if field.kind == "date":
        element["initial_date"] = field.initial
    elif field.kind == "time":
        element["initial_time"] = field.initial
    elif field.kind == "choice":
        chosen = [option for option in element["options"] if option["value"] == field.initial]
        element.update({"initial_option": chosen[0]} if chosen else {})
    elif field.kind in ("text", "long_text"):
        element["initial_value"] = field.initial[: element.get("max_length", MAX_INPUT_LENGTH)]
    return element


def _bare_element(field: FormField) -> dict[str, Any]:
    action_id = field.name[:MAX_ACTION_ID]
    if field.kind == "person":
        return {"type": "users_select", "action_id": action_id}
    if field.kind == "choice":
        options = [
            {"text": plain(choice.label, MAX_OPTION_TEXT), "value": choice.value[:MAX_OPTION_VALUE]}
            for choice in field.choices[:MAX_OPTIONS]
        ]
        return {"type": "static_select", "action_id": action_id, "options": options}
    if field.kind == "date":  # answers ``selected_date``, YYYY-MM-DD
        return {"type": "datepicker", "action_id": action_id}
    if field.kind == "time":  # answers ``selected_time``, 24-hour HH:MM
        return {"type": "timepicker", "action_id": action_id}
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id}
    if field.kind == "long_text":
        element["multiline"] = True
    if field.max_length is not None:
        element["max_length"] = max(1, min(field.max_length, MAX_INPUT_LENGTH))
    return element


def _input(field: FormField, dispatch: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.name[:MAX_ACTION_ID],
        "label": plain(field.label, MAX_LABEL),
        "element": _element(field),
        "optional": not field.required,
    }
    if dispatch:  # another field depends on this one: a change comes back at once, to redraw the modal
        block["dispatch_action"] = True
    if field.hint:
        block["hint"] = plain(field.hint, MAX_LABEL)
    return block


def private_metadata(form: Form, channel_id: str | None, depends: dict[str, Any] | None = None) -> str:
    """What a modal carries back on submit: the form's state and where it was opened from; for a form
    with conditional fields, also the fields' order and each conditional one's condition and block, so
    a change can redraw the modal without asking anyone (the stress form is anonymous: nothing is stored)."""
    data: dict[str, Any] = {"state": form.state, "channel": channel_id}
    if depends:
        data.update(fields=[field.name for field in form.fields], depends=depends)
    text = json.dumps(data)
    if len(text) > MAX_PRIVATE_METADATA:
        raise ValueError("form state too long for a Slack modal")
    return text


def _depends(form: Form) -> dict[str, Any]:
    """Each conditional field: the field it depends on, the value that shows it, and its block."""
    return {
        field.name: [field.only_if[0], field.only_if[1], _input(field)]
        for field in form.fields
        if field.only_if is not None
    }


def modal_view(form: Form, channel_id: str | None = None) -> dict[str, Any]:
    """A form as a modal; each input's block id is the field name, so answers map straight back.

    A field with ``only_if`` is left out until the field it depends on has its value: that field is a
    ``dispatch_action`` input, and ``redrawn`` adds or removes the dependent block on each change. If
    the conditions would not fit in the modal's metadata, every field is shown (its hint says when)."""
    depends = _depends(form)
    try:
        metadata = private_metadata(form, channel_id, depends)
    except ValueError:
        depends, metadata = {}, private_metadata(form, channel_id)
    controls = {condition[0] for condition in depends.values()}
    initial = {field.name: field.initial for field in form.fields}
    fields = [f for f in form.fields if f.name not in depends or f.applies(initial)]
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "title": plain(form.title, MAX_MODAL_TITLE),
        "submit": plain(form.submit_label, MAX_MODAL_BUTTON),
        "close": plain("Cancel", MAX_MODAL_BUTTON),
        "private_metadata": metadata,
        "blocks": [_input(field, field.name in controls) for field in fields[:MAX_MODAL_BLOCKS]],
    }


_VIEW_KEYS = ("type", "callback_id", "title", "submit", "close", "private_metadata", "clear_on_close",
              "notify_on_close", "external_id")  # fmt: skip


def redrawn(view: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any] | None:
    """The modal ``view`` (as a ``block_actions`` payload carries it) with each conditional field shown
    exactly when ``values`` give the field it depends on the value that shows it; None for a modal
    without conditional fields. Blocks already shown are kept as they are, so Slack keeps what was
    typed in them. Drawn even when the payload's view already looks right: it may predate an update
    still on its way."""
    try:
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
    except json.JSONDecodeError:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("depends"), dict):
        return None
    depends = metadata["depends"]
    shown = {str(block.get("block_id")): block for block in view.get("blocks") or []}
    blocks: list[dict[str, Any]] = []
    for name in metadata.get("fields") or ():
        if name in depends:
            control, value, block = depends[name]
            if values.get(control) == value:
                blocks.append(shown.get(name) or block)
        elif name in shown:
            blocks.append(shown[name])
    return {**{key: view[key] for key in _VIEW_KEYS if key in view}, "blocks": blocks}
