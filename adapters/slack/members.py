"""People's names, time zones and roles from Slack (``users.info``), remembered per (team, user) for a while.

Slash commands carry only a legacy user name and no time zone, so the adapter asks ``users.info``
after the ack and hands the answer to the engine on the event's origin. Answers are kept for
``ttl`` (``users.info`` is tier 4, but a busy channel would still call it for every tap) and replaced
at once when Slack sends ``user_change`` or ``team_join``. The time is read from the engine's clock,
so tests move it instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.logs import log_event
from bot.recurrence import valid_time_zone

logger = logging.getLogger("tend.slack")

PROFILE_TTL = timedelta(hours=1)
FAILED_TTL = timedelta(minutes=5)  # a failed look-up (missing scope, outage) is not retried on every tap
LOOKUP_TIMEOUT = 3.0  # seconds; the person's answer should not wait longer for a name
MAX_PROFILES = 50_000


@dataclass(frozen=True)
class Profile:
    """What Tend uses of a Slack user: the name people know them by, their time zone, whether the
    account is a bot or has been deactivated (Slack's ``deleted``), and whether Slack says they may
    administer the workspace (an admin or an owner: they are Tend admins too)."""

    name: str
    time_zone: str | None
    is_bot: bool = False
    deactivated: bool = False
    may_administer: bool = False


def profile_of(user: Mapping[str, Any]) -> Profile:
    """A ``users.info`` / ``user_change`` user object → ``Profile`` (display name first, as Slack shows)."""
    profile = user.get("profile") or {}
    name = (
        str(profile.get("display_name") or "").strip()
        or str(profile.get("real_name") or user.get("real_name") or "").strip()
        or str(user.get("name") or "").strip()
    )
    zone = str(user.get("tz") or "").strip() or None
    zone = zone if zone and valid_time_zone(zone) else None  # Tend's one zone check
    is_bot = bool(user.get("is_bot")) or user.get("id") == "USLACKBOT"
    # Slack's own roles: a workspace admin, an owner or the primary owner (``is_owner`` implies
    # ``is_admin`` in Slack's answers, but each is read so a partial object still counts).
    administers = any(user.get(key) is True for key in ("is_admin", "is_owner", "is_primary_owner"))
    return Profile(
        name=name,
        time_zone=zone,
        is_bot=is_bot,
        deactivated=bool(user.get("deleted")),
        may_administer=administers and not is_bot and not user.get("deleted"),
    )


class MemberProfiles:
    """The cache: fresh entries answer at once, stale or missing ones are looked up again."""

    def __init__(self, clock: Clock, ttl: timedelta = PROFILE_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._entries: dict[tuple[str, str], tuple[Profile | None, datetime]] = {}
        self._told: set[tuple[str, str]] = set()  # entries already handed to the engine (``news``)

    def known(self, team_id: str, user_id: str) -> Profile | None:
        """The last profile seen, however old (to tell whether Slack's time zone changed)."""
        entry = self._entries.get((team_id, user_id))
        return entry[0] if entry else None

    def fresh(self, team_id: str, user_id: str) -> tuple[bool, Profile | None]:
        """(True, profile) while the entry is within its time to live (a failed look-up: (True, None))."""
        entry = self._entries.get((team_id, user_id))
        if entry is None:
            return False, None
        profile, expires = entry
        return self.clock.now() < expires, profile

    def remember(self, team_id: str, user_id: str, profile: Profile) -> Profile | None:
        """Stores what Slack just said; returns the profile known before, if any."""
        previous = self.known(team_id, user_id)
        self._store(team_id, user_id, profile, self.ttl)
        return previous

    def news(self, team_id: str, user_id: str) -> bool:
        """True once per stored entry: whether the engine still has to be told this person's profile.

        A person named in many commands is handed to the engine once per look-up, not once per command.
        """
        key = (team_id, user_id)
        if key not in self._entries or key in self._told:
            return False
        self._told.add(key)
        return True

    def _store(self, team_id: str, user_id: str, profile: Profile | None, ttl: timedelta) -> None:
        if len(self._entries) >= MAX_PROFILES:
            oldest = next(iter(self._entries))  # the oldest insertion goes first
            self._entries.pop(oldest)
            self._told.discard(oldest)
        self._entries.pop((team_id, user_id), None)
        self._told.discard((team_id, user_id))
        self._entries[(team_id, user_id)] = (profile, self.clock.now() + ttl)

    async def lookup(self, client: AsyncWebClient, team_id: str, user_id: str) -> Profile | None:
        """The person's profile: from the cache while fresh, else from ``users.info`` (None if it fails)."""
        is_fresh, cached = self.fresh(team_id, user_id)
        if is_fresh:
            return cached
        try:
            response = await asyncio.wait_for(client.users_info(user=user_id), LOOKUP_TIMEOUT)
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as error:
            log_event(logger, "slack users.info failed", level=logging.WARNING, outcome=type(error).__name__)
            known = self.known(team_id, user_id)
            self._store(team_id, user_id, known, FAILED_TTL)
            return known
        user = response.get("user")
        if not isinstance(user, dict):
            self._store(team_id, user_id, self.known(team_id, user_id), FAILED_TTL)
            return self.known(team_id, user_id)
        profile = profile_of(user)
        self._store(team_id, user_id, profile, self.ttl)
        return profile
