"""Neutral cards and forms → Adaptive Cards 1.5: pure functions, plain dicts, kept inside Teams' limits.

Every card validates against ``shared/reference/adaptive-card-1.5.schema.json`` (the tests check each
shape this module makes). That schema forbids unknown properties, so there is no ``msteams`` key on
the card. Buttons and forms submit with ``Action.Submit``; Tend's own hidden data travels under one
key, ``"tend"`` (``adapters/teams/translate.py`` reads it back):

- a button: ``{"tend": {"kind": KIND_CLICK, "action": <Button.action>, "value": <Button.value>}}``
- a form:   ``{"tend": {"kind": KIND_FORM, "form_id": <Form.form_id>, "state": <Form.state>}}``; Teams
  puts each input's value beside it, keyed by the input id, which is the field's name.

Text: a TextBlock reads Markdown, so what a person typed (``Said``) has every character Markdown could
read as syntax escaped (a ``[login](https://evil)`` stays text, not a link); Tend's own ``*bold*``
becomes ``**bold**``. People in a card body are their names in bold (a card cannot carry mention
entities under the 1.5 schema); a ``When`` uses Teams' ``{{DATE()}}``/``{{TIME()}}`` so each reader
sees their own time zone. Teams has no slash commands: Tend's own words and every ``Example`` spell
``/kudos``/``/tend`` as ``kudos``/``tend`` (``typed_on``), and an example is escaped so its asterisks
stay asterisks (``cron 25 9 * * mon``). Real mentions go on the message: ``split_lead`` moves a
card's title and its first paragraph that names people into the message text (XML text format:
HTML-escaped, so neither Markdown nor tags act) as ``<at>Name</at>`` with a mention entity each,
which notifies them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC
from pathlib import PurePath
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
    typed_on,
)

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
DATA_KEY = "tend"  # the one key of Tend's hidden submit data (translate.py reads it)
KIND_CLICK = "click"
KIND_FORM = "form"
CHARTS_PATH = "/charts/"  # where bot/server.py serves index charts

# Teams rejects a message over ~28 KB (the whole activity); the card keeps room for the rest.
MAX_CARD_BYTES = 24_000
MAX_TITLE = 200
MAX_FALLBACK = 1_000
MAX_BUTTON_LABEL = 80
MAX_ACTIONS_PER_SET = 6  # Teams shows up to six buttons in a row before hiding the rest in "..."
ROW_CHARACTERS = 48  # about what a row of buttons shows in a channel card before labels are cut
BUTTON_PADDING = 4  # a button's frame, counted in characters
MAX_CHOICES = 100
ELLIPSIS = "…"

# User-facing text.
REQUIRED = "Please fill in “{label}”."
TOO_LONG = "Please keep “{label}” to {limit:,} characters."
REQUIRED_TOO_LONG = "Please fill in “{label}”, in at most {limit:,} characters."
PERSON_PLACEHOLDER = "Their name, as shown in Teams"
CHOICE_PLACEHOLDER = "Choose one"
IMAGE_MISSING = "[{alt}]"

Element = dict[str, Any]
# The element ids of a hidden field's hint and of the toggle that shows it: the field's name and these.
HINT = ".hint"
REVEAL = ".reveal"
# The neutral field kinds Teams draws with its own pickers (both answer in Tend's neutral text format).
PICKERS = {"date": "Input.Date", "time": "Input.Time"}

SOMEONE = "someone"
A_CHANNEL = "a channel"
XML = "xml"  # the message text format whose only markup is tags, all of which Tend writes itself
CHANNEL_ID_PREFIX = "19:"  # a Teams conversation id, never shown and never mentioned (it would ping all)

# Slack-style *bold* (what practices write) → Markdown **bold**; _italic_ is the same in both.
_BOLD = re.compile(r"(?<![\w*\\])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_\\])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
# What the Markdown of a TextBlock could read as syntax: emphasis, links, code, strike, autolinks,
# template expressions ({{DATE()}}), and the escape itself; lists only at the start of a line.
_MARKDOWN = re.compile(r"([\\`*_\[\]~<>{}])")
_MARKS = re.compile(
    r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"
)
_LIST = re.compile(r"^([ \t]*)([-+]|[0-9]+[.)])", re.MULTILINE)
_LINK = re.compile(r"\]\s*\(")
_WHEN = {"date": "{{{{DATE({0}, SHORT)}}}}", "time": "{{{{TIME({0})}}}}",
         "date_time": "{{{{DATE({0}, SHORT)}}}} {{{{TIME({0})}}}}"}  # fmt: skip


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, marked with "…" when it had to be shortened."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def markdown(text: str) -> str:
    """The card's ``*bold*`` / ``_italic_`` as the Markdown subset TextBlocks render; Tend never writes
    a link, so a ``](`` is broken up wherever it comes from."""
    return _LINK.sub("]\u200b(", _BOLD.sub(r"**\1**", text))


def escape_markdown(text: str) -> str:
    """Text shown as typed in a TextBlock: nothing in it is read as Markdown (no link, no emphasis)."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    escaped = _LIST.sub(lambda found: found[1] + found[2][:-1] + "\\" + found[2][-1], escaped)
    return escaped.replace("\\](", "\\]\u200b(").replace("\\]\\(", "\\]\u200b\\(")


def _stamp(when: When) -> str:
    return when.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def teams_words(text: str) -> str:
    """Tend's words as Teams people read them: commands spelled as they type them (no slash)."""
    return typed_on(text, slash_commands=False)


def _card_span(part: object) -> str:
    if isinstance(part, str):
        return markdown(teams_words(part))
    if isinstance(part, Example):
        return escape_markdown(teams_words(part.text))
    if isinstance(part, Said):
        return escape_markdown(part.text)
    if isinstance(part, Mention):
        return f"**{escape_markdown(part.name or SOMEONE)}**"
    if isinstance(part, Place):
        return f"**{escape_markdown(part.name)}**" if part.name else A_CHANNEL
    if isinstance(part, When):
        return _WHEN[part.show].format(_stamp(part))
    raise TypeError(f"not a part of a text: {type(part).__name__}")


def _run(text: str, **style: Any) -> Element:
    return {"type": "TextRun", "text": text, **style}


def _word_runs(text: str, style: dict[str, Any]) -> list[Element]:
    """Tend's words as runs: ``*bold*`` a bolder run, ``_italic_`` an italic one (runs read no Markdown)."""
    runs: list[Element] = []
    last = 0
    for found in _MARKS.finditer(text):
        if found.start() > last:
            runs.append(_run(text[last : found.start()], **style))
        bold, italic = found[1], found[2]
        runs.append(
            _run(bold, weight="bolder", **style) if bold is not None else _run(italic, italic=True, **style)
        )
        last = found.end()
    if last < len(text):
        runs.append(_run(text[last:], **style))
    return runs


def has_example(wording: Wording) -> bool:
    return any(isinstance(part, Example) for part in spans(wording))


def rich_text(wording: Wording, **style: Any) -> Element:
    """A paragraph holding an example, as a RichTextBlock: the example a monospace run (TextBlock
    Markdown has no code), spelled as Teams people type it; no run reads Markdown, so nothing in an
    example or in what people typed is taken for emphasis or a link."""
    inlines: list[Element] = []
    for part in spans(wording):
        if isinstance(part, str):
            inlines += _word_runs(teams_words(part), style)
        elif isinstance(part, Example):
            inlines.append(_run(teams_words(part.text), fontType="Monospace", **style))
        elif isinstance(part, Mention | Place):
            shown = part.name or (SOMEONE if isinstance(part, Mention) else "")
            inlines.append(_run(shown, weight="bolder", **style) if shown else _run(A_CHANNEL, **style))
        else:  # what someone typed, or a time as Tend wrote it for the reader
            inlines.append(_run(plain_span(part), **style))
    return {"type": "RichTextBlock", "inlines": inlines or [_run(" ")]}


def card_text(wording: Wording) -> str:
    """A paragraph as TextBlock Markdown: each part drawn by its kind, what people typed escaped."""
    return "".join(_card_span(part) for part in spans(wording))


def _mentionable(part: Mention) -> bool:
    return bool(part.user_id) and not part.user_id.startswith(CHANNEL_ID_PREFIX)


def _xml_tend(text: str) -> str:
    escaped = html.escape(teams_words(text), quote=False)
    return _ITALIC.sub(r"<i>\1</i>", _BOLD.sub(r"<b>\1</b>", escaped)).replace("\n", "<br>")


def message_text(wording: Wording) -> tuple[str, list[dict[str, Any]]]:
    """A paragraph as message text (XML format) and the mention entity of each person it names."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    for part in spans(wording):
        if isinstance(part, str):
            out.append(_xml_tend(part))
        elif isinstance(part, Mention) and _mentionable(part):
            tag = f"<at>{html.escape(part.name or SOMEONE, quote=False)}</at>"
            out.append(tag)
            entities.append(
                {"type": "mention", "text": tag, "mentioned": {"id": part.user_id, "name": part.name}}
            )
        elif isinstance(part, Mention | Said):  # no Markdown in XML text; a link stays broken anyway
            shown = _LINK.sub("]\u200b(", html.escape(plain_span(part), quote=False))
            out.append(shown.replace("\n", "<br>"))
        elif isinstance(part, Place):
            out.append(f"<b>{html.escape(part.name, quote=False)}</b>" if part.name else A_CHANNEL)
        elif isinstance(part, Example):
            out.append(html.escape(teams_words(part.text), quote=False))
        else:
            out.append(html.escape(plain_span(part), quote=False))
    return "".join(out), entities


def split_lead(card: Card) -> tuple[Card | None, dict[str, Any]]:
    """The card's title and first paragraph naming people, moved to the message with real mentions.

    Returns what stays on the card (None when nothing does) and the message's ``text``, ``textFormat``
    and ``entities``; a card that names nobody stays whole, with no message text."""
    lead = next(
        (
            block
            for block in card.blocks
            if isinstance(block, Text)
            and any(_mentionable(m) for m in spans(block.text) if isinstance(m, Mention))
        ),
        None,
    )
    if lead is None:
        return card, {}
    text, entities = message_text(lead.text)
    if card.title:
        text = f"<b>{html.escape(card.title, quote=False)}</b><br>{text}"
    rest = tuple(block for block in card.blocks if block is not lead)
    fields: dict[str, Any] = {"text": text, "textFormat": XML, "entities": entities}
    return (replace(card, title="", blocks=rest) if rest else None), fields


def size_of(content: Any) -> int:
    """Bytes on the wire, as Teams counts them."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def text_block(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": text or " ", "wrap": True, **style}


def heading(title: str) -> Element:
    """A title: Tend's words, which may carry a person's name, shown as plain text."""
    return text_block(escape_markdown(cut(title, MAX_TITLE)), size="large", weight="bolder", style="heading")


def _button(button: Button) -> Element:
    action: Element = {
        "type": "Action.Submit",
        "title": cut(button.label or " ", MAX_BUTTON_LABEL),
        "data": {DATA_KEY: {"kind": KIND_CLICK, "action": button.action, "value": button.value}},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def button_rows(buttons: tuple[Button, ...]) -> list[list[Button]]:
    """Rows short enough that Teams shows every label whole and hides no button in an overflow menu."""
    rows: list[list[Button]] = []
    width = 0
    for button in buttons:
        needed = len(cut(button.label, MAX_BUTTON_LABEL)) + BUTTON_PADDING
        if not rows or len(rows[-1]) == MAX_ACTIONS_PER_SET or width + needed > ROW_CHARACTERS:
            rows.append([])
            width = 0
        rows[-1].append(button)
        width += needed
    return rows


def _action_sets(buttons: Buttons) -> list[Element]:
    return [
        {"type": "ActionSet", "actions": [_button(button) for button in row]}
        for row in button_rows(buttons.buttons)
    ]


def image_url(image: Image, public_url: str | None) -> str | None:
    """A URL Teams can fetch: the image's own http(s) URL, or a local chart served under public_url."""
    if image.url.startswith(("https://", "http://")):
        return image.url
    if image.path and public_url:
        return public_url.rstrip("/") + CHARTS_PATH + PurePath(image.path).name
    return None


def _image(image: Image, public_url: str | None) -> Element:
    url = image_url(image, public_url)
    if url is None:  # nowhere Teams could load it from: say what it shows
        return text_block(IMAGE_MISSING.format(alt=image.alt or "image"), size="small", isSubtle=True)
    return {"type": "Image", "url": url, "altText": image.alt or "image"}


def _elements(card: Card, public_url: str | None) -> list[Element]:
    body: list[Element] = []
    if card.title:
        body.append(heading(card.title))
    separate = False
    for block in card.blocks:
        made: list[Element] = []
        if isinstance(block, Text) and has_example(block.text):
            made = [rich_text(block.text)]
        elif isinstance(block, Text):
            made = [text_block(card_text(block.text))]
        elif isinstance(block, Fine) and has_example(block.text):
            made = [{**rich_text(block.text, size="small", isSubtle=True), "spacing": "small"}]
        elif isinstance(block, Fine):
            made = [text_block(card_text(block.text), size="small", isSubtle=True, spacing="small")]
        elif isinstance(block, Facts):
            facts = [{"title": fact.label, "value": card_text(fact.value)} for fact in block.facts]
            made = [{"type": "FactSet", "facts": facts}] if facts else []
        elif isinstance(block, Image):
            made = [_image(block, public_url)]
        elif isinstance(block, Buttons):
            made = _action_sets(block)
        elif isinstance(block, Divider):
            separate = True  # Adaptive Cards draw a line above an element, not a divider element
            continue
        if made and separate:
            made[0]["separator"] = True
            separate = False
        body += made
    return body


def _fit(body: list[Element], shell: Element) -> list[Element]:
    """As much of ``body`` as fits in ``MAX_CARD_BYTES``; a cut card ends with a visible "…"."""
    if size_of({**shell, "body": body}) <= MAX_CARD_BYTES:
        return body
    marker = text_block(ELLIPSIS, isSubtle=True)
    budget = MAX_CARD_BYTES - size_of({**shell, "body": [marker]})
    kept: list[Element] = []
    used = 0
    for element in body:
        cost = size_of(element) + 1  # the comma
        if used + cost <= budget:
            kept.append(element)
            used += cost
            continue
        if element.get("type") == "TextBlock":  # keep the start of a long paragraph
            room = budget - used - 1
            text = element["text"]
            low, high = 0, len(text)
            while low < high:  # the longest start of the text that fits, "…" included
                middle = (low + high + 1) // 2
                fits = size_of({**element, "text": text[:middle] + ELLIPSIS}) <= room
                low, high = (middle, high) if fits else (low, middle - 1)
            if low > 0:
                kept.append({**element, "text": text[:low].rstrip() + ELLIPSIS})
                return kept
        break
    return [*kept, marker]


def _shell(fallback: str) -> Element:
    return {
        "$schema": SCHEMA_URL,
        "type": "AdaptiveCard",
        "version": VERSION,
        "fallbackText": cut(fallback or " ", MAX_FALLBACK),
    }


def adaptive_card(card: Card, public_url: str | None = None) -> dict[str, Any]:
    """A neutral card as an Adaptive Card 1.5; ``public_url`` lets local charts be shown as images."""
    shell = _shell(teams_words(card.plain))
    return {**shell, "body": _fit(_elements(card, public_url), shell)}


# --- forms ------------------------------------------------------------------------------------------


def _error_message(field: FormField) -> str | None:
    limit = field.max_length if field.kind not in PICKERS else None  # a picker's answer has one length
    if field.required and limit:
        return REQUIRED_TOO_LONG.format(label=field.label, limit=limit)
    if field.required:
        return REQUIRED.format(label=field.label)
    if limit:
        return TOO_LONG.format(label=field.label, limit=limit)
    return None


def _input(field: FormField) -> Element:
    element: Element
    if field.kind == "choice":
        element = {
            "type": "Input.ChoiceSet",
            "style": "compact",
            "placeholder": CHOICE_PLACEHOLDER,
            "choices": [
                {"title": choice.label, "value": choice.value} for choice in field.choices[:MAX_CHOICES]
            ],
        }
    elif field.kind in PICKERS:  # Teams' own date or time picker; answers YYYY-MM-DD or HH:MM
        element = {"type": PICKERS[field.kind]}
    else:
        # A person is typed by name: the 1.5 schema has no people picker (Data.Query came later), and a
        # picker answers with AAD ids while Tend knows people by their Teams ids.
        element = {"type": "Input.Text"}
        if field.kind == "long_text":
            element["isMultiline"] = True
        if field.kind == "person":
            element["placeholder"] = PERSON_PLACEHOLDER
        if field.max_length:
            element["maxLength"] = field.max_length
            element["regex"] = f"^[\\s\\S]{{0,{field.max_length}}}$"  # Teams enforces regex, not maxLength
    element.update({"id": field.name, "label": field.label, "isRequired": field.required})
    if field.initial and field.kind != "person":  # a picker's YYYY-MM-DD or HH:MM, a choice's value
        element["value"] = field.initial
    message = _error_message(field)
    if message:
        element["errorMessage"] = message
    return element


def form_card(form: Form) -> dict[str, Any]:
    """A form as a card with inputs; its id and state ride in the submit button's data."""
    body: list[Element] = [heading(form.title)]
    for field in form.fields:
        if field.name == DATA_KEY:
            raise ValueError(f"a form field may not be called {DATA_KEY!r}: Tend's own submit data uses it")
        hidden = field.only_if is not None and not field.applies({f.name: f.initial for f in form.fields})
        if hidden:  # a card cannot follow a choice as it changes: the field waits behind a toggle
            toggle = {
                "type": "Action.ToggleVisibility",
                "title": cut(field.reveal or field.label, MAX_BUTTON_LABEL),
                "targetElements": [field.name, field.name + HINT],
            }
            body.append({"type": "ActionSet", "id": field.name + REVEAL, "actions": [toggle]})
        body.append({**_input(field), **({"isVisible": False} if hidden else {})})
        if field.hint:
            hint = text_block(field.hint, size="small", isSubtle=True, spacing="none")
            body.append({**hint, "id": field.name + HINT, "isVisible": False} if hidden else hint)
    submit = {
        "type": "Action.Submit",
        "title": cut(form.submit_label or "Send", MAX_BUTTON_LABEL),
        "style": "positive",
        "data": {DATA_KEY: {"kind": KIND_FORM, "form_id": form.form_id, "state": form.state}},
    }
    return {**_shell(form.title), "body": body, "actions": [submit]}


def revealed(card: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``card`` (a ``form_card``) with the hidden fields among ``names`` shown and their toggles gone:
    a form sent again shows every field that was answered or needs fixing."""
    shown = {name + suffix for name in names for suffix in ("", HINT)}
    gone = {name + REVEAL for name in names}
    body = [
        {key: value for key, value in element.items() if key != "isVisible"}
        if element.get("id") in shown
        else element
        for element in card["body"]
        if element.get("id") not in gone
    ]
    return {**card, "body": body}


def card_attachment(content: dict[str, Any]) -> dict[str, Any]:
    """An Adaptive Card as a Bot Framework attachment (what ``Activity.attachments`` holds)."""
    return {"contentType": CONTENT_TYPE, "content": content}
