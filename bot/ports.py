"""The ports: how the engine reaches a platform, and the only doors adapters have to Tend's data.

Each adapter implements ``Sender``. What an adapter cannot do, it refuses with
``bot.errors.UnsupportedByPlatform``; what fails on the wire, it raises as ``bot.errors.SendError``
(with ``retry_after`` for a 429) so delivery can retry.

Adapters never import ``storage`` nor hold a database connection (``tests/test_architecture.py``).
What they must keep is reached through the Protocols below, implemented over storage in ``bot/`` or
``storage/`` and handed to them by ``app.py``, the composition root: ``ConversationReferences``
(``bot.addresses.Addresses``: where Teams can write later) and ``SdkTables``
(``storage.external.ExternalTables``: the tables slack_sdk's own store keeps, and the locks that
serialise token refreshes across replicas).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from practices.messages import Card

# The kinds of conversation reference: a channel or chat id, or a person's own chat with Tend.
PLACE, PERSON = "place", "person"


class Sender(Protocol):
    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        """Posts a card in a channel; returns the platform's message reference."""
        ...

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        """Sends a card privately to one person; returns the platform's message reference."""
        ...

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        """Replaces a card posted earlier."""
        ...

    async def open_group(
        self, workspace_external_id: str, user_ids: Sequence[str], place_id: str, card: Card
    ) -> str:
        """Gathers several people in one conversation with ``card`` (Slack: a group DM; a platform
        that cannot start one posts in ``place_id`` mentioning them); returns the message reference."""
        ...


class ConversationReferences(Protocol):
    """Where a platform that sends proactively (Teams) can write later, and who may be written to.
    A reference is the platform's own JSON, kept per workspace as ``PLACE`` or ``PERSON`` by key."""

    async def remember(
        self, workspace_external_id: str, kind: str, key: str, reference: dict[str, Any]
    ) -> None: ...

    async def reference(self, workspace_external_id: str, kind: str, key: str) -> dict[str, Any] | None: ...

    async def latest(self, workspace_external_id: str) -> dict[str, Any] | None:
        """Any recent reference of the workspace (its service URL is where new chats start)."""
        ...

    async def all_of(self, workspace_external_id: str, kind: str) -> dict[str, dict[str, Any]]: ...

    async def forget(self, workspace_external_id: str, kind: str, keys: Iterable[str]) -> None: ...

    async def mark_reachable(self, workspace_external_id: str, user_id: str) -> bool:
        """The person wrote to Tend: private messages may reach them again. True if that changed."""
        ...


class SdkTables(Protocol):
    """Tables a platform SDK's own store keeps in Tend's database (slack_sdk's installations and
    OAuth states). The adapter hands ``bind`` to the SDK's store and asks for everything else Tend
    does with those tables here, so no adapter code runs a statement. A lock is two integers (a
    namespace and a key): one holder at a time across every replica."""

    @property
    def bind(self) -> Any: ...

    def lock(self, namespace: int, key: int) -> AbstractAsyncContextManager[None]: ...

    async def create(
        self, schemas: Iterable[Any], *, lock: tuple[int, int], text_columns: Mapping[str, Iterable[str]]
    ) -> None:
        """Creates the schemas' (SQLAlchemy metadata the SDK owns) missing tables; ``text_columns``
        may hold values longer than the SDK's VARCHARs (sealed credentials)."""
        ...

    async def first(self, name: str, wanted: str, *, equal: Mapping[str, Any], present: str) -> Any: ...

    async def rewrite(
        self,
        columns: Mapping[str, Iterable[str]],
        change: Callable[[str, Mapping[str, Any]], Mapping[str, Any]],
        *,
        read: Iterable[str],
        lock: tuple[int, int],
    ) -> None:
        """Rewrites columns row by row with ``change``, compare-and-set, under the lock."""
        ...
