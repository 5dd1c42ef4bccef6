"""Conversation references and reachability, for adapters that send proactively (Teams).

``bot.ports.ConversationReferences`` over storage: adapters never touch storage, and ``app.py`` hands
them this. References are the platform's own JSON (a dict here), stored per workspace as ``place``
(a channel or chat id) or ``person`` (a user id, the reference being their personal chat with Tend).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bot.clock import Clock
from bot.ports import PERSON, PLACE
from storage import addresses
from storage.db import Database
from storage.identity import ensure_workspace, find_workspace

__all__ = ["PERSON", "PLACE", "Addresses"]


class Addresses:
    """Remembers where Tend can write later, and who may be written to."""

    def __init__(self, database: Database, clock: Clock, platform: str) -> None:
        self.database = database
        self.clock = clock
        self.platform = platform

    async def remember(
        self, workspace_external_id: str, kind: str, key: str, reference: dict[str, Any]
    ) -> None:
        """Stores or refreshes a reference; the workspace is created on first contact."""
        now = self.clock.now()
        async with self.database.session() as session:
            workspace = await ensure_workspace(session, self.platform, workspace_external_id, "", now)
            assert workspace.id is not None
            await addresses.save_reference(
                session, workspace.id, kind, key, json.dumps(reference, sort_keys=True), now
            )

    async def reference(self, workspace_external_id: str, kind: str, key: str) -> dict[str, Any] | None:
        async with self.database.session() as session:  # every proactive send asks: one statement
            raw = await addresses.reference_in(session, self.platform, workspace_external_id, kind, key)
        return json.loads(raw) if raw else None

    async def latest(self, workspace_external_id: str) -> dict[str, Any] | None:
        """Any recent reference of the workspace: its service URL is where new chats are created."""
        async with self.database.session() as session:
            workspace = await find_workspace(session, self.platform, workspace_external_id)
            if workspace is None or workspace.id is None:
                return None
            raw = await addresses.latest_reference(session, workspace.id)
        return json.loads(raw) if raw else None

    async def all_of(self, workspace_external_id: str, kind: str) -> dict[str, dict[str, Any]]:
        """Every stored reference of one kind in the workspace, by key."""
        async with self.database.session() as session:
            workspace = await find_workspace(session, self.platform, workspace_external_id)
            if workspace is None or workspace.id is None:
                return {}
            found = await addresses.references(session, workspace.id, kind)
        return {key: json.loads(raw) for key, raw in found}

    async def forget(self, workspace_external_id: str, kind: str, keys: Iterable[str]) -> None:
        """Drops references Tend can no longer use (it was removed from those places)."""
        async with self.database.session() as session:
            workspace = await find_workspace(session, self.platform, workspace_external_id)
            if workspace is None or workspace.id is None:
                return
            for key in keys:
                await addresses.forget_reference(session, workspace.id, kind, key)

    async def mark_reachable(self, workspace_external_id: str, user_id: str) -> bool:
        """The person wrote to Tend: private messages may reach them again. True if that changed."""
        async with self.database.session() as session:
            workspace = await find_workspace(session, self.platform, workspace_external_id)
            if workspace is None or workspace.id is None:
                return False
            return await addresses.set_unreachable_by_user(session, workspace.id, user_id, False)
