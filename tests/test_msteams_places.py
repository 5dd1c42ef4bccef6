"""Teams people never read a channel's raw id (``19:…@thread.tacv2``) in what Tend writes about teams.

Tend learns no Teams channel names, so a channel in a team answer is "this channel" where the person
typed, and otherwise a ``Place`` part, which Teams draws as "a channel". Through real tokens, the real
adapter and the fake Bot Connector; what is read is every text the connector received.
"""

from __future__ import annotations

from typing import Any

from tests import test_msteams
from tests.test_msteams import BOT, CHANNEL, Teams, installed_by

teams = test_msteams.teams  # the suite's own fixture: identity and token servers, the fake Connector


def _read(node: Any) -> list[str]:
    """What people read: message texts, TextBlocks, and each RichTextBlock's runs joined."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "RichTextBlock":
            return ["".join(run.get("text", "") for run in node.get("inlines", []))]
        if isinstance(node.get("text"), str) and node.get("type") in (None, "message", "TextBlock"):
            found.append(node["text"])
        for key, value in node.items():
            if key not in ("conversation", "from", "recipient", "channelData", "entities"):
                found += _read(value)
    elif isinstance(node, list):
        for value in node:
            found += _read(value)
    return found


async def _after(teams: Teams, text: str, **kwargs: Any) -> str:
    before = len(teams.connector.calls)
    await teams.say(text, **kwargs)
    await teams.adapter.drain()
    await teams.engine.delivery.deliver_due()
    return "\n".join(_read([call.body for call in teams.connector.calls[before:]])).replace("**", "")


async def test_team_answers_in_teams_name_channels_without_their_ids(teams: Teams):
    await installed_by(teams)  # ana is the tenant's first installer, so an admin

    created = await _after(teams, "<at>Tend</at> tend team create platform here", mentions=(BOT,))
    assert "Created team platform for this channel. What happens there counts for platform" in created

    channel = {"id": CHANNEL, "name": "General"}  # the channel mentioned from a personal chat
    taken = await _after(teams, "tend team create web <at>General</at>", personal=True, mentions=(channel,))
    assert "Team platform already reports from a channel, and a channel counts for one team only" in taken
    assert "Pick another channel and type tend team create web here in it." in taken  # typable in Teams

    listed = await _after(teams, "tend team list", personal=True)
    assert "platform (a channel): " in listed

    for answer in (created, taken, listed):
        assert "19:" not in answer and "#" not in answer, answer
        assert "/tend" not in answer, answer
