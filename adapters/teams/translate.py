"""Teams activities → neutral events: pure functions over the Activity JSON, tested with plain dicts.

Choices that the rest of Tend relies on:

- **Person id = the Teams user id** (``from.id``, ``29:...``), not the AAD object id. It is the one id
  every shape carries: the sender of an activity, each ``mention`` entity (``mentioned.id``; mention
  entities usually carry no AAD id), ``membersAdded`` and the roster; and it is what a proactive 1:1
  conversation is created with. So a member's ``platform_user_id`` is always this id.
- **Workspace = the tenant** (``channelData.tenant.id``, else ``conversation.tenantId``).
- **Place = the conversation, with a channel thread folded into its channel.** A channel message
  arrives in ``19:...@thread.skype;messageid=<root>``: Tend keeps ``19:...@thread.skype`` (the channel),
  because teams and rituals belong to a channel, "here" must mean the same channel whichever thread
  it was typed in, and a channel ``<at>`` mention names that same id. Chats keep their own id.
- **Event id = the activity id, qualified by a short hash of the conversation id**: Teams message ids
  are millisecond timestamps unique only within a conversation, and the de-duplication table is shared
  by every tenant. A retry carries the same activity and conversation ids, so it is still dropped.
- Commands are messages: ``kudos ...`` / ``tend ...`` (a leading ``/`` is fine) after the bot's own
  mention is removed. In a channel or group chat a message that mentions Tend but starts with no
  command word is read as ``tend <words>`` (so ``@Tend help`` works); in a personal chat it is
  ``DirectText`` (the anonymous support relay reads those).
- Cards carry ``{"tend": {...}}`` in their submit data (see ``adapters/teams/cards.py``); input values
  arrive beside it, keyed by field name. A submit without that key came from a card Tend did not make
  and is ignored.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal

from adapters.teams.cards import DATA_KEY, KIND_CLICK, KIND_FORM
from bot import recurrence
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    InboundEvent,
    MemberSeen,
    Origin,
    PersonRef,
)

PLATFORM: Final = "teams"
EXECUTE_INVOKE = "adaptiveCard/action"
COMMANDS = ("kudos", "tend")
BOT_ID_PREFIX = "28:"  # Teams prefixes bot ids with 28:, people with 29:
CHANNEL_PREFIX = "19:"  # channels and teams (mentionable as places)

_AT = re.compile(r"<at(?:\s[^>]*)?>(?P<name>.*?)</at>", re.IGNORECASE | re.DOTALL)
_COMMAND = re.compile(r"^/?(?P<word>kudos|tend)(?=\s|$)", re.IGNORECASE)
_FORGED = re.compile(r"<(?=[@#])")  # typed "<@id>" must not pass for a real mention token
# HTML some clients leave in text: block tags become line breaks, inline ones go; other <words> stay.
_BLOCK_TAGS = re.compile(r"<(?:br|/?p|/?div)(?:\s[^<>]*)?/?>", re.IGNORECASE)
_INLINE_TAGS = re.compile(r"</?(?:span|b|i|u|s|strong|em|a|code|pre)(?:\s[^<>]*)?>", re.IGNORECASE)


# --- small readers ------------------------------------------------------------------------------------


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    """A JSON array as a list; anything else (a string would iterate by character) as none."""
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def tenant_id(activity: Mapping[str, Any]) -> str:
    tenant = _dict(_dict(activity.get("channelData")).get("tenant")).get("id")
    return _str(tenant or _dict(activity.get("conversation")).get("tenantId"))


def place_of(conversation_id: str) -> str:
    """A channel thread's conversation id folded into its channel's id; any other id unchanged."""
    return conversation_id.split(";messageid=", 1)[0]


def event_id(activity: Mapping[str, Any]) -> str | None:
    """``<activity id>@<hash of conversation id>``; None when the activity has no id."""
    activity_id = _str(activity.get("id"))
    if not activity_id:
        return None
    conversation = _str(_dict(activity.get("conversation")).get("id"))
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:16]
    return f"{activity_id[:160]}@{digest}"


@lru_cache(maxsize=512)
def valid_time_zone(name: str) -> str | None:
    """An IANA zone name the scheduler can use, or None (a client may send anything)."""
    return name if name and recurrence.valid_time_zone(name) else None


def _time_zone(activity: Mapping[str, Any]) -> str | None:
    """``localTimezone`` (Teams sends it only on activities a person sent), else the clientInfo entity."""
    raw = activity.get("localTimezone") or activity.get("local_timezone")
    if not raw:
        for entity in _list(activity.get("entities")):
            if _dict(entity).get("type") == "clientInfo" and _dict(entity).get("timezone"):
                raw = _dict(entity)["timezone"]
                break
    return valid_time_zone(_str(raw)) if raw else None


def _is_bot_id(user_id: str) -> bool:
    return user_id.startswith(BOT_ID_PREFIX)


def bot_ids(activity: Mapping[str, Any], bot_app_id: str) -> set[str]:
    """Every id Tend itself may appear under: ``28:<app id>``, the bare app id, the recipient id."""
    ids = {f"{BOT_ID_PREFIX}{bot_app_id}", bot_app_id} if bot_app_id else set()
    recipient = _str(_dict(activity.get("recipient")).get("id"))
    if recipient:
        ids.add(recipient)
    return ids


def origin_of(activity: Mapping[str, Any], actor: Mapping[str, Any] | None = None) -> Origin:
    """Who acted where; ``actor`` overrides ``from`` (a member added to a conversation)."""
    conversation = _dict(activity.get("conversation"))
    person = _dict(actor if actor is not None else activity.get("from"))
    user_id = _str(person.get("id"))
    return Origin(
        platform=PLATFORM,
        workspace_id=tenant_id(activity),
        actor=PersonRef(user_id or None, _str(person.get("name"))),
        place_id=place_of(_str(conversation.get("id"))) or None,
        is_direct=conversation.get("conversationType") == "personal",
        actor_time_zone=_time_zone(activity) if actor is None else None,
        actor_is_bot=_is_bot_id(user_id) or person.get("role") == "bot",
    )


# --- text and mentions --------------------------------------------------------------------------------


def _plain(segment: str) -> str:
    """User text between mentions: entities decoded, tags dropped, no forged ``<@...>`` tokens."""
    segment = _INLINE_TAGS.sub("", _BLOCK_TAGS.sub("\n", segment))
    return _FORGED.sub("", html.unescape(segment)).replace("\xa0", " ")


def split_mentions(activity: Mapping[str, Any], bot_app_id: str) -> tuple[str, tuple[PersonRef, ...], bool]:
    """The text with mentions as grammar tokens, the people mentioned, and whether Tend was mentioned.

    ``<at>Sam</at>`` backed by a mention entity becomes ``<@29:...>`` (a person) or ``<#19:...>`` (a
    channel or team); Tend's own mention is removed; an ``<at>`` with no entity stays as ``@Name``.
    """
    text = _str(activity.get("text"))
    ours = bot_ids(activity, bot_app_id)
    entities = [
        _dict(e)
        for e in _list(activity.get("entities"))
        if _dict(e).get("type") == "mention" and _dict(_dict(e).get("mentioned")).get("id")
    ]
    unused = list(entities)
    people: dict[str, str] = {}
    mentioned_bot = False
    parts: list[str] = []
    last = 0
    for match in _AT.finditer(text):
        parts.append(_plain(text[last : match.start()]))
        last = match.end()
        tag = match.group()
        entity = next((e for e in unused if _str(e.get("text")) == tag), None)
        if entity is not None:
            unused.remove(entity)
        else:  # the same person mentioned twice may come with one entity
            entity = next((e for e in entities if _str(e.get("text")) == tag), None)
        name = " ".join(_plain(match["name"]).split())
        if entity is None:
            parts.append(f"@{name}" if name else "")
            continue
        mentioned = _dict(entity.get("mentioned"))
        mentioned_id = _str(mentioned.get("id"))
        name = " ".join(_str(mentioned.get("name")).split()) or name
        if mentioned_id in ours:
            mentioned_bot = True
            parts.append(" ")
        elif mentioned_id.startswith(CHANNEL_PREFIX):
            parts.append(f"<#{place_of(mentioned_id)}>")
        else:
            people.setdefault(mentioned_id, name)
            parts.append(f"<@{mentioned_id}>")
    parts.append(_plain(text[last:]))
    plain = re.sub(r"[ \t]+", " ", "".join(parts)).strip()
    return plain, tuple(PersonRef(uid, name) for uid, name in people.items()), mentioned_bot


def _message_event(activity: Mapping[str, Any], bot_app_id: str) -> InboundEvent | None:
    text, mentions, mentioned_bot = split_mentions(activity, bot_app_id)
    origin = origin_of(activity)
    ident = event_id(activity)
    command = _COMMAND.match(text)
    if command is not None:
        rest = text[command.end() :].strip()
        word: Literal["kudos", "tend"] = "kudos" if command["word"].lower() == "kudos" else "tend"
        return CommandReceived(origin, word, rest, mentions, ident)
    if origin.is_direct:
        return DirectText(origin, text, ident) if text else None
    if mentioned_bot:  # "@Tend help" in a channel: the words after the mention are a /tend command
        return CommandReceived(origin, "tend", text, mentions, ident)
    return None  # a channel message not addressed to Tend (bots with wider permissions see these)


# --- card submits -------------------------------------------------------------------------------------


def _submit_event(activity: Mapping[str, Any], data: Mapping[str, Any]) -> InboundEvent | None:
    """The submit data of one of Tend's cards → ``ButtonClicked`` or ``FormSubmitted``."""
    ours = _dict(data.get(DATA_KEY))
    kind = ours.get("kind")
    origin = origin_of(activity)
    ident = event_id(activity)
    message_ref = _str(activity.get("replyToId")) or None
    if kind == KIND_CLICK and _str(ours.get("action")):
        return ButtonClicked(origin, _str(ours["action"]), _str(ours.get("value")), message_ref, ident)
    if kind == KIND_FORM and _str(ours.get("form_id")):
        values = {
            str(name): _str(value)
            for name, value in data.items()
            if name != DATA_KEY and not isinstance(value, Mapping | list)
        }
        return FormSubmitted(origin, _str(ours["form_id"]), values, _str(ours.get("state")), ident)
    return None


# --- Tend added to or removed from a team or chat -----------------------------------------------------

INSTALL_ADD = ("add", "add-upgrade")
# "remove-upgrade" is the old version leaving during an app upgrade; "add-upgrade" follows at once,
# so it stops nothing.
INSTALL_REMOVE = ("remove",)
TEAM_DELETED = "teamDeleted"


@dataclass(frozen=True)
class Membership:
    """Tend itself joined or left a scope: a team (``scope`` = the team id) or a chat (its id).

    ``places`` are the conversations the activity names (the chat, or the team's channel and the team
    id, which is its General channel); a team's other channels are those whose stored reference
    carries the team id (``TEAM_KEY``, written by the adapter).
    """

    scope: str
    places: tuple[str, ...]
    is_team: bool
    personal_user: str | None = None  # the person whose personal chat with Tend it was


TEAM_KEY = "tendTeam"  # added to a stored place reference: the team the channel belongs to
LEFT_KEY = "tendLeft"  # added to a stored place reference when Tend was removed from that place


def team_of(activity: Mapping[str, Any]) -> str:
    """The team id of a team conversation (``channelData.team.id``), else ""."""
    return _str(_dict(_dict(activity.get("channelData")).get("team")).get("id"))


def _membership(activity: Mapping[str, Any]) -> Membership | None:
    conversation = _dict(activity.get("conversation"))
    place = place_of(_str(conversation.get("id")))
    team = team_of(activity)
    if team:
        return Membership(team, tuple(dict.fromkeys(p for p in (team, place) if p)), True)
    if not place:
        return None
    personal = conversation.get("conversationType") == "personal"
    user = _str(_dict(activity.get("from")).get("id")) if personal else ""
    return Membership(place, (place,), False, user or None)


def _names_tend(members: Any, ours: set[str]) -> bool:
    return any(_str(_dict(member).get("id")) in ours for member in _list(members))


def tend_left(activity: Mapping[str, Any], bot_app_id: str) -> Membership | None:
    """Tend was removed: ``installationUpdate`` ``remove``, ``membersRemoved`` naming Tend, or the
    team deleted. None for anything else (an upgrade's ``remove-upgrade`` included)."""
    kind = activity.get("type")
    if kind == "installationUpdate" and activity.get("action") in INSTALL_REMOVE:
        return _membership(activity)
    if kind == "conversationUpdate":
        deleted = _dict(activity.get("channelData")).get("eventType") == TEAM_DELETED
        if deleted or _names_tend(activity.get("membersRemoved"), bot_ids(activity, bot_app_id)):
            return _membership(activity)
    return None


def tend_joined(activity: Mapping[str, Any], bot_app_id: str) -> Membership | None:
    """Tend was added (or added back): ``installationUpdate`` ``add``/``add-upgrade``, or
    ``membersAdded`` naming Tend."""
    kind = activity.get("type")
    if kind == "installationUpdate" and activity.get("action") in INSTALL_ADD:
        return _membership(activity)
    if kind == "conversationUpdate" and _names_tend(
        activity.get("membersAdded"), bot_ids(activity, bot_app_id)
    ):
        return _membership(activity)
    return None


# --- entry points -------------------------------------------------------------------------------------


def activity_events(activity: Mapping[str, Any], bot_app_id: str) -> tuple[InboundEvent, ...]:
    """Every neutral event in one activity: several ``MemberSeen`` for a ``membersAdded``, else 0 or 1."""
    kind = activity.get("type")
    if kind == "message":
        value = activity.get("value")
        if isinstance(value, Mapping):  # Action.Submit
            event = _submit_event(activity, value)
        else:
            event = _message_event(activity, bot_app_id)
        return (event,) if event is not None else ()
    if kind == "invoke":
        if activity.get("name") != EXECUTE_INVOKE:
            return ()  # legacy nameless card invokes, message extensions, ...: not Tend's
        action = _dict(_dict(activity.get("value")).get("action"))
        event = _submit_event(activity, _dict(action.get("data")))
        return (event,) if event is not None else ()
    if kind == "conversationUpdate":
        ours = bot_ids(activity, bot_app_id)
        found: list[InboundEvent] = []
        for member in _list(activity.get("membersAdded")):
            member_id = _str(_dict(member).get("id"))
            if not member_id or member_id in ours or _is_bot_id(member_id):
                continue
            origin = origin_of(activity, _dict(member))
            found.append(MemberSeen(origin, _str(_dict(member).get("name")), joined=True))
        return tuple(found)
    return ()


def activity_event(activity: dict[str, Any], bot_app_id: str) -> InboundEvent | None:
    """The agreed single-event form: the first of ``activity_events`` (use that for ``membersAdded``)."""
    events = activity_events(activity, bot_app_id)
    return events[0] if events else None
