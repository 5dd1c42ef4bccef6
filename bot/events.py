"""Neutral inbound events: what adapters translate platform payloads into.

Small, typed and frozen, so an adapter's only job is a pure payload -> event function, and the
engine never sees a Slack or Teams shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from practices.grammar import PersonRef

Platform = Literal["slack", "teams", "console"]


@dataclass(frozen=True)
class Origin:
    """Where an event came from and who caused it."""

    platform: Platform
    workspace_id: str  # Slack team id, Teams tenant id, "console"
    actor: PersonRef
    place_id: str | None = None  # channel / conversation; None when there is none (App Home)
    is_direct: bool = False  # a private conversation between the person and Tend
    workspace_name: str = ""
    actor_time_zone: str | None = None  # as the platform reports it, when it does
    actor_is_installer: bool = False
    actor_is_bot: bool = False
    # The platform says the actor may administer the workspace (Slack: admin or owner; Teams: team
    # owner on the roster); None when it did not say. Only the platform's word: never from user input.
    actor_may_administer: bool | None = None


@dataclass(frozen=True)
class CommandReceived:
    """``/kudos ...`` or ``/tend ...`` (in Teams: the same words sent as a message).

    ``text`` is everything after the command word. Mentions are written into it as ``<@USER_ID>``;
    ``mentions`` carries their display names.
    """

    origin: Origin
    command: Literal["kudos", "tend"]
    text: str
    mentions: tuple[PersonRef, ...] = ()
    event_id: str | None = None
    # The time zones the platform reports for people the command names (user id -> IANA zone), added
    # by the adapter after the ack: the one transaction that meets a kudos receiver also learns their
    # zone, instead of a second one (``MemberSeen``) releasing the private note held for it.
    named_zones: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ButtonClicked:
    origin: Origin
    action: str
    value: str = ""
    message_ref: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class FormSubmitted:
    origin: Origin
    form_id: str
    values: dict[str, str] = field(default_factory=dict)
    state: str = ""
    event_id: str | None = None


@dataclass(frozen=True)
class DirectText:
    """Free text a person sent to Tend privately (used by the anonymous support relay)."""

    origin: Origin
    text: str
    event_id: str | None = None


@dataclass(frozen=True)
class MemberSeen:
    """A platform told us about a person (joined, changed name or time zone, was deactivated)."""

    origin: Origin
    display_name: str = ""
    time_zone: str | None = None
    is_bot: bool = False
    deactivated: bool = False  # the platform says the account is gone or disabled (Slack: ``deleted``)
    # The platform says the person just joined (Slack ``team_join``, Teams ``membersAdded``): practices
    # that welcome newcomers hear of it (``Practice.on_join``).
    joined: bool = False


@dataclass(frozen=True)
class HomeOpened:
    """A person opened their own page of Tend (Slack's App Home); the answer is their home card."""

    origin: Origin
    event_id: str | None = None


@dataclass(frozen=True)
class WorkspaceRemoved:
    """The platform removed Tend from a workspace (Slack: app uninstalled or its bot token revoked).

    The engine marks the workspace inactive: its rituals and deliveries stop.
    """

    origin: Origin
    event_id: str | None = None


InboundEvent = (
    CommandReceived | ButtonClicked | FormSubmitted | DirectText | MemberSeen | HomeOpened | WorkspaceRemoved
)
