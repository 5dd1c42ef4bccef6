"""Tend removed from part of a workspace (a Teams team or chat), and added back.

Removal from one team stops what Tend posts into that team's places and nothing else: the channel
rituals posting there (check-ins, shout-out prompts and digests) are paused and marked with the
team they left with (``options["left"]``), and their next run is cleared. People, their private
prompts, 1:1 nudges, the team's figures and every other team's rituals carry on, because the people
of that team still use Tend elsewhere in the organisation. Adding Tend back to the same team (or an
upgrade's ``add-upgrade``) resumes exactly the rituals that removal paused, from their next
occurrence (missed ones are not made up for); a ritual an admin had paused before stays paused.

When Tend is gone from every conversation of the workspace the adapter reports the whole workspace
removed instead (``bot.events.WorkspaceRemoved``: all of it stops, as after Slack's
``app_uninstalled``), and a re-install makes it active again.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from practices.practice import NextRun
from practices.rituals import anchor_of, lead_of, options_of, recurrence_of
from storage import rituals as store
from storage.db import Session

LEFT = "left"  # the option a removal marks a ritual with: the scope (team or chat id) it left with


async def leave(session: Session, workspace_id: int, scope: str, place_ids: Collection[str]) -> int:
    """Pauses the workspace's running rituals that post into ``place_ids``; returns how many."""
    if not place_ids:
        return 0
    paused = 0
    for ritual in await store.running_in_places(session, workspace_id, sorted(place_ids)):
        ritual.paused = True
        ritual.next_run_at = None
        ritual.options = json.dumps({**options_of(ritual), LEFT: scope})
        session.add(ritual)
        paused += 1
    return paused


async def rejoin(session: Session, workspace_id: int, scope: str, now: datetime, next_run: NextRun) -> int:
    """Resumes the rituals that leaving ``scope`` paused, each from its next occurrence after ``now``."""
    resumed = 0
    for ritual in await store.paused_in_workspace(session, workspace_id):
        options = options_of(ritual)
        if options.get(LEFT) != scope:
            continue
        options.pop(LEFT)
        ritual.options = json.dumps(options)
        ritual.paused = False
        after = now + lead_of(ritual)
        following = next_run(recurrence_of(ritual), ritual.time_zone, after, anchor_of(ritual))
        ritual.next_run_at = following - lead_of(ritual) if following else None
        session.add(ritual)
        resumed += 1
    return resumed
