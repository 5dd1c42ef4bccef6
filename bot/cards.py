"""Replacing a card Tend posted earlier (``UpdateCard``): the engine after a tap, the scheduler at close.

Updates go at once, not through the outbox: they answer something just shown, and an update that
fails leaves the card in its previous state, which is still true. A failure is logged and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.errors import SendError, UnsupportedByPlatform
from bot.logs import log_event
from bot.metrics import Metrics
from bot.ports import Sender
from practices.messages import Intent, UpdateCard
from storage.models import Workspace

logger = logging.getLogger("tend.cards")


async def update_cards(
    senders: Mapping[str, Sender], metrics: Metrics, workspace: Workspace, intents: Iterable[Intent]
) -> int:
    """Carries out the ``UpdateCard`` intents among ``intents``; returns how many cards were replaced."""
    sender = senders.get(workspace.platform)
    updated = 0
    for intent in intents:
        if not isinstance(intent, UpdateCard) or sender is None:
            continue
        try:
            await sender.update(workspace.external_id, intent.place_id, intent.message_ref, intent.card)
        except (SendError, UnsupportedByPlatform) as error:
            metrics.messages_failed.inc(platform=workspace.platform)
            log_event(
                logger,
                "card update failed",
                level=logging.WARNING,
                platform=workspace.platform,
                workspace=workspace.id or 0,
                outcome=type(error).__name__,
            )
            continue
        updated += 1
    return updated
