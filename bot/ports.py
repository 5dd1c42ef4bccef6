"""The one small outbound port: how the engine reaches a platform.

Each adapter implements ``Sender``. What an adapter cannot do, it refuses with
``bot.errors.UnsupportedByPlatform``; what fails on the wire, it raises as ``bot.errors.SendError``
(with ``retry_after`` for a 429) so delivery can retry.
"""

from __future__ import annotations

from typing import Protocol

from practices.messages import Card


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
