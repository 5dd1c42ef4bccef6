"""A process serving thousands of Slack workspaces keeps Web API clients only for those sent to lately."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.oauth import RecentClients


def _client(token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url="http://127.0.0.1:9/")


def test_only_the_most_recently_used_workspaces_keep_a_client() -> None:
    kept = RecentClients(keep=2)
    first, second, third = _client("xoxb-1"), _client("xoxb-2"), _client("xoxb-3")
    kept.put("T1", first)
    kept.put("T2", second)
    assert kept.get("T1", "xoxb-1") is first  # T1 used again: T2 is now the oldest
    kept.put("T3", third)
    assert "T2" not in kept
    assert kept.get("T1", "xoxb-1") is first
    assert kept.get("T3", "xoxb-3") is third


def test_a_rotated_token_gets_a_new_client_and_an_uninstall_drops_it() -> None:
    kept = RecentClients(keep=10)
    kept.put("T1", _client("xoxb-old"))
    assert kept.get("T1", "xoxb-new") is None  # the caller builds one with the new token
    kept.pop("T1")
    assert "T1" not in kept
