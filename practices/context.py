"""What a practice is given when it acts: who, where, when, and a session to read and write in.

The engine opens the session and commits it, so everything a practice writes (the action and its
signal counters) lands in one transaction or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Session
from storage.models import Member, Workspace


@dataclass
class PracticeContext:
    session: Session
    workspace: Workspace
    actor: Member
    now: datetime
    place_id: str | None = None
    is_direct: bool = False
    min_group_size: int = 5

    @property
    def workspace_id(self) -> int:
        assert self.workspace.id is not None
        return self.workspace.id

    @property
    def actor_id(self) -> int:
        assert self.actor.id is not None
        return self.actor.id

    @property
    def is_admin(self) -> bool:
        return self.actor.role == "admin"
