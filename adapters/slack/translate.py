"""Slack payloads → neutral events: pure functions, no I/O, so they are tested with plain dicts.

Slash commands arrive form-encoded (Bolt hands them over as a dict), interactivity as JSON, Events
API envelopes as JSON. The engine never sees a Slack shape: only ``CommandReceived``,
``ButtonClicked`` (a tap, or a global shortcut standing for one), ``FormSubmitted`` and
``HomeOpened``. The answers that need a Slack shape of their own (the App Home view, a modal's field
errors, a notice modal) are built here too.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final, Literal

from adapters.slack.blocks import MAX_LABEL, MAX_MODAL_BUTTON, MAX_MODAL_TITLE, card_blocks, cut, plain
from bot.events import (
    ButtonClicked,
    CommandReceived,
    FormSubmitted,
    HomeOpened,
    InboundEvent,
    Origin,
    PersonRef,
)
from practices.messages import Card, FieldErrors

PLATFORM: Final = "slack"
DIRECT_CHANNEL_NAME = "directmessage"  # what Slack calls a person's DM with the app
COMMANDS: dict[str, Literal["kudos", "tend"]] = {"/kudos": "kudos", "/tend": "tend"}

# Slack escapes a mention as <@U123> or <@U123|name> (also <@W...> on Enterprise Grid).
_MENTION = re.compile(r"<@(?P<uid>[UW][A-Z0-9]+)(?:\|(?P<name>[^<>]*))?>")
# Anything Slack wraps in <...> in message text: mentions, channels, special mentions, links.
_SLACK_TOKEN = re.compile(r"<([^<>]*)>")
_KEPT = re.compile(r"(?:@[UW]|#[CG])[A-Z0-9]+(?:\|[^<>]*)?")  # people and channels: grammar tokens
_FORGED = re.compile(r"<(?=[@#])")  # typed "<@U1>" (it arrives as &lt;@U1&gt;) is no mention
# Two buttons with the same action in one actions block need distinct action ids: "kudos.open~1".
_DUPLICATE_SUFFIX = re.compile(r"~\d+$")


def event_id(kind: str, body: Mapping[str, Any]) -> str:
    """A stable id for a request: Slack's trigger id when there is one, else a hash of the payload.

    A retried delivery carries the same trigger id (or the same bytes), so the engine drops it.
    """
    trigger = body.get("trigger_id")
    if trigger:
        return f"{kind}:{trigger}"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f"{kind}:{digest[:32]}"


def _as_typed(escaped: str) -> str:
    """Slack-escaped text between tokens, back to what was typed; no forged mention token survives."""
    return _FORGED.sub("", html.unescape(escaped))


def _token_text(token: str) -> str:
    """One ``<...>`` as words: ``<!channel>`` → ``@channel``, a group → its handle, a link → its label
    and address, a date → its fallback. Nothing Tend later shows can ping or hide a link."""
    target, _, label = token.partition("|")
    label = _as_typed(label)
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        if word in ("subteam", "date"):
            return label or ("@group" if word == "subteam" else "")
        return label or f"@{word}"
    target = _as_typed(target)
    if not label or label == target or target.endswith(f":{label}") or target.endswith(f"/{label}"):
        return target.removeprefix("mailto:")
    return f"{label} ({target})"


def typed_text(text: str) -> str:
    """A command's text as Slack sends it (escaped, special mentions and links as ``<...>`` tokens) →
    what the person typed, with real mentions of people and channels kept as grammar tokens.

    ``thanks <!channel> <https://evil.example/login|Slack login> &lt;b&gt;`` →
    ``thanks @channel Slack login (https://evil.example/login) <b>``: Tend stores and shows words, and
    each adapter escapes them for its platform; only the platform's own mentions stay mentions."""
    out: list[str] = []
    last = 0
    for match in _SLACK_TOKEN.finditer(text):
        out.append(_as_typed(text[last : match.start()]))
        last = match.end()
        token = match[1]
        out.append(f"<{token}>" if _KEPT.fullmatch(token) else _token_text(token))
    out.append(_as_typed(text[last:]))
    return "".join(out)


def split_mentions(text: str) -> tuple[str, tuple[PersonRef, ...]]:
    """``<@U2|bo> thanks`` → (``<@U2> thanks``, (PersonRef("U2", "bo"),)); names stay out of the text."""
    people: dict[str, str] = {}
    for match in _MENTION.finditer(text):
        name = (match["name"] or "").strip()
        if name or match["uid"] not in people:
            people[match["uid"]] = name
    plain = _MENTION.sub(lambda match: f"<@{match['uid']}>", text)
    return plain, tuple(PersonRef(uid, name) for uid, name in people.items())


def _is_direct(channel_id: str | None, channel_name: str | None) -> bool:
    return channel_name == DIRECT_CHANNEL_NAME or bool(channel_id and channel_id.startswith("D"))


def command_event(body: Mapping[str, Any]) -> CommandReceived | None:
    """A slash command payload → ``CommandReceived``; None for a command Tend does not own."""
    command = COMMANDS.get(str(body.get("command", "")).strip().lower())
    if command is None:
        return None
    channel_id = body.get("channel_id") or None
    origin = Origin(
        platform=PLATFORM,
        workspace_id=str(body.get("team_id", "")),
        workspace_name=str(body.get("team_domain", "")),
        actor=PersonRef(str(body.get("user_id", "")) or None, str(body.get("user_name", ""))),
        place_id=channel_id,
        is_direct=_is_direct(channel_id, body.get("channel_name")),
    )
    text, mentions = split_mentions(typed_text(str(body.get("text", ""))))
    return CommandReceived(
        origin=origin,
        command=command,
        text=text,
        mentions=mentions,
        event_id=event_id("command", body),
    )


def mentioned_people(event: InboundEvent) -> tuple[str, ...]:
    """The people a command names, other than whoever typed it: looked up after the ack, so a private
    note to one of them waits for their own time zone rather than a guessed one."""
    if not isinstance(event, CommandReceived):
        return ()
    actor = event.origin.actor.user_id
    named = (ref.user_id for ref in event.mentions if ref.user_id and ref.user_id != actor)
    return tuple(dict.fromkeys(named))


def _interactive_origin(body: Mapping[str, Any], place_id: str | None) -> Origin:
    user = body.get("user") or {}
    team = body.get("team") or {}
    channel = body.get("channel") or {}
    return Origin(
        platform=PLATFORM,
        workspace_id=str(team.get("id") or user.get("team_id") or ""),
        workspace_name=str(team.get("domain", "")),
        actor=PersonRef(str(user.get("id", "")) or None, str(user.get("username") or user.get("name") or "")),
        place_id=place_id,
        is_direct=_is_direct(place_id, channel.get("name")),
    )


def neutral_action(action_id: str) -> str:
    """The practice's action id, without the suffix that kept duplicates apart in one block."""
    return _DUPLICATE_SUFFIX.sub("", action_id)


def action_event(body: Mapping[str, Any]) -> ButtonClicked | None:
    """A ``block_actions`` payload (a button tap) → ``ButtonClicked``; None when nothing was tapped."""
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    container = body.get("container") or {}
    channel = body.get("channel") or {}
    message = body.get("message") or {}
    place_id = channel.get("id") or container.get("channel_id") or None
    message_ref = message.get("ts") or container.get("message_ts") or None
    trigger = body.get("trigger_id")
    # One trigger per tap; the action's own timestamp separates taps without one (App Home replays).
    id_source = {"trigger_id": trigger} if trigger else {"action": action, "user": body.get("user")}
    return ButtonClicked(
        origin=_interactive_origin(body, place_id),
        action=neutral_action(str(action.get("action_id", ""))),
        value=str(action.get("value") or ""),
        message_ref=message_ref,
        event_id=event_id("action", id_source),
    )


# Global shortcuts (manifest.yml ``features.shortcuts``): each callback id is the action of a button
# that does the same, so the practice that opens a form for the button opens it for the shortcut too.
SHORTCUTS = ("kudos.open",)


def shortcut_event(body: Mapping[str, Any]) -> ButtonClicked | None:
    """A global ``shortcut`` payload → ``ButtonClicked`` on no message and no channel (a global
    shortcut has neither); None for a callback id Tend does not own."""
    callback_id = str(body.get("callback_id") or "")
    if body.get("type") != "shortcut" or callback_id not in SHORTCUTS:
        return None
    trigger = body.get("trigger_id")
    id_source = {"trigger_id": trigger} if trigger else {"shortcut": dict(body)}
    return ButtonClicked(
        origin=_interactive_origin(body, None),
        action=callback_id,
        event_id=event_id("shortcut", id_source),
    )


def form_metadata(private_metadata: str) -> tuple[str, str | None]:
    """The form's opaque state and the channel it was opened from, as ``blocks.modal_view`` stored them."""
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return "", None
    if not isinstance(data, dict):
        return "", None
    channel = data.get("channel")
    return str(data.get("state", "")), (str(channel) if channel else None)


def _field_value(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = element.get("selected_option") or {}
        return str(option.get("value", ""))
    if kind == "users_select":
        return str(element.get("selected_user") or "")
    if kind == "conversations_select":
        return str(element.get("selected_conversation") or "")
    if kind == "channels_select":
        return str(element.get("selected_channel") or "")
    if kind == "datepicker":  # YYYY-MM-DD, the text a practice parses
        return str(element.get("selected_date") or "")
    if kind == "timepicker":  # HH:MM, 24-hour
        return str(element.get("selected_time") or "")
    return str(element.get("value") or "")


def form_values(view: Mapping[str, Any]) -> dict[str, str]:
    """``view.state.values`` back to the neutral field names (each input's block id is its field name)."""
    values: dict[str, str] = {}
    state = (view.get("state") or {}).get("values") or {}
    for block_id, elements in state.items():
        for element in (elements or {}).values():
            values[str(block_id)] = _field_value(element or {})
    return values


def chosen_people(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The people picked in a submitted modal's user selects (the kudos form's receiver), other than
    the person submitting: looked up after the ack, like the people a command mentions."""
    actor = str((body.get("user") or {}).get("id") or "")
    state = (((body.get("view") or {}).get("state") or {}).get("values")) or {}
    chosen: list[str] = []
    for elements in state.values():
        for element in (elements or {}).values():
            if (element or {}).get("type") == "users_select":
                chosen.append(str(element.get("selected_user") or ""))
            elif (element or {}).get("type") == "multi_users_select":
                chosen += [str(user) for user in element.get("selected_users") or ()]
    return tuple(dict.fromkeys(user for user in chosen if user and user != actor))


def submission_event(body: Mapping[str, Any]) -> FormSubmitted | None:
    """A ``view_submission`` payload → ``FormSubmitted``; the channel comes back from private metadata."""
    view = body.get("view") or {}
    form_id = str(view.get("callback_id") or "")
    if not form_id:
        return None
    state, channel = form_metadata(str(view.get("private_metadata") or ""))
    return FormSubmitted(
        origin=_interactive_origin(body, channel),
        form_id=form_id,
        values=form_values(view),
        state=state,
        event_id=event_id("form", body if not body.get("trigger_id") else {"trigger_id": body["trigger_id"]}),
    )


# --- Events API -----------------------------------------------------------------------------------
# The event types Tend subscribes to (manifest.yml's bot_events lists exactly these); any other type
# that still arrives is acknowledged and dropped.
HANDLED_EVENTS = ("app_home_opened", "app_uninstalled", "team_join", "tokens_revoked", "user_change")


def envelope_event_id(body: Mapping[str, Any]) -> str | None:
    """Slack's ``event_id``: the same on every retry of one event, so the engine handles it once."""
    found = body.get("event_id")
    return f"event:{found}" if found else None


def home_event(body: Mapping[str, Any]) -> HomeOpened | None:
    """``app_home_opened`` on the Home tab → ``HomeOpened``; the Messages and About tabs → None."""
    event = body.get("event") or {}
    user = str(event.get("user") or "")
    if event.get("type") != "app_home_opened" or event.get("tab", "home") != "home" or not user:
        return None
    view = event.get("view") or {}
    team = str(body.get("team_id") or view.get("team_id") or "")
    if not team:
        return None
    origin = Origin(platform=PLATFORM, workspace_id=team, actor=PersonRef(user, ""))
    return HomeOpened(origin=origin, event_id=envelope_event_id(body))


def event_user(body: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(team id, user id, user object) from ``user_change`` / ``team_join``; None if it has none."""
    event = body.get("event") or {}
    user = event.get("user")
    if event.get("type") not in ("user_change", "team_join") or not isinstance(user, dict):
        return None
    user_id = str(user.get("id") or "")
    team = str(user.get("team_id") or body.get("team_id") or "")
    return (team, user_id, user) if user_id and team else None


def home_view(card: Card) -> dict[str, Any]:
    """The person's home card as an App Home view (within a message's 50 blocks; home allows 100)."""
    return {"type": "home", "blocks": card_blocks(card)}


def notice_view(card: Card) -> dict[str, Any]:
    """A card as a modal with only a Close button: the answer to a shortcut, which has no message or
    response URL to answer in."""
    return {
        "type": "modal",
        "title": plain(card.title or "Tend", MAX_MODAL_TITLE),
        "close": plain("Close", MAX_MODAL_BUTTON),
        "blocks": card_blocks(replace(card, title="")),
    }


def view_errors(answers: list[FieldErrors], view: Mapping[str, Any]) -> dict[str, str]:
    """Field errors keyed by the input block ids of the submitted modal (``modal_view`` names each
    input's block after its field); an error for a field the modal lacks goes on its first input."""
    blocks = view.get("blocks") or []
    inputs = [str(block.get("block_id")) for block in blocks if block.get("type") == "input"]
    errors: dict[str, str] = {}
    for answer in answers:
        for name, message in answer.errors:
            block_id = name[:255] if name[:255] in inputs else (inputs[0] if inputs else name[:255])
            text = f"{errors[block_id]} {message}" if block_id in errors else message
            errors[block_id] = cut(text, MAX_LABEL)
    return errors
