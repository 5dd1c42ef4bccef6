"""An in-memory sender: the outbound port as a list the tests can read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.errors import SendError
from practices.messages import Card


@dataclass
class Sent:
    kind: str  # "post" | "direct" | "update"
    workspace: str
    target: str  # channel id or platform user id
    card: Card
    ref: str
    at: datetime | None = None  # the test clock's time when it was sent


@dataclass
class InMemorySender:
    sent: list[Sent] = field(default_factory=list)
    fail_next: list[SendError] = field(default_factory=list)
    clock: Clock | None = None
    attempts: int = 0

    def _record(self, kind: str, workspace: str, target: str, card: Card, ref: str | None = None) -> str:
        self.attempts += 1
        if self.fail_next:
            raise self.fail_next.pop(0)
        ref = ref or f"msg-{len(self.sent) + 1}"
        self.sent.append(Sent(kind, workspace, target, card, ref, self.clock.now() if self.clock else None))
        return ref

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        return self._record("post", workspace_external_id, place_id, card)

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        return self._record("direct", workspace_external_id, user_id, card)

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        self._record("update", workspace_external_id, place_id, card, message_ref)

    async def open_group(
        self, workspace_external_id: str, user_ids: list[str], place_id: str, card: Card
    ) -> str:
        """Recorded as kind "group" with the people joined by commas as its target."""
        return self._record("group", workspace_external_id, ",".join(user_ids), card)

    def groups(self) -> list[Sent]:
        return [s for s in self.sent if s.kind == "group"]

    def posts(self, place: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.kind == "post" and (place is None or s.target == place)]

    def directs(self, user: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.kind == "direct" and (user is None or s.target == user)]
