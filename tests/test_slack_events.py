"""Events API envelopes, replayed from Slack's own spec against Tend's real endpoint.

The envelopes come from ``shared/reference/slack-events-api-async-v1.json`` (the GenericEventWrapper
examples and its ``message`` example) and are checked against Slack's event wrapper schema before
they are sent, signed, to ``/slack/events``. Whatever Tend does not handle must answer 200 and change
nothing (Bolt's default is a 404 that makes Slack retry and, in the end, turn the subscription off).
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import yaml

from adapters.slack.listeners import EVENTS_PATH
from adapters.slack.translate import HANDLED_EVENTS
from storage.models import Member, Outbox, Workspace
from tests import test_slack
from tests.helpers import signed_headers
from tests.test_slack import SECRET, Slack, count

slack = test_slack.slack  # the fixture: Tend's server with Bolt, signed requests, a fake Web API

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # copies of ../shared/reference (SOURCES.md)


def spec() -> dict[str, Any]:
    return json.loads((REFERENCE / "slack-events-api-async-v1.json").read_text())


def wrapper_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((REFERENCE / "slack-common-event-wrapper.schema.json").read_text())
    return jsonschema.Draft7Validator(schema)


def missing(envelope: dict[str, Any]) -> set[str]:
    """What the wrapper schema says an envelope lacks (``event.x`` for the inner event)."""
    found = set()
    for error in wrapper_validator().iter_errors(envelope):
        if error.validator == "required":
            prefix = ".".join(str(part) for part in error.absolute_path)
            for name in error.validator_value:
                if name not in error.instance:
                    found.add(f"{prefix}.{name}" if prefix else name)
        else:
            found.add(error.message)
    return found


def completed(envelope: dict[str, Any]) -> dict[str, Any]:
    """The spec's example with what Slack always sends filled in (the examples omit a few)."""
    full = copy.deepcopy(envelope)
    full.setdefault("authed_users", ["UBOT"])
    full["event"].setdefault("event_ts", "1360782804.083113")
    return full


def spec_envelopes() -> dict[str, dict[str, Any]]:
    """The two full GenericEventWrapper examples and the field-level ``message`` example, wrapped
    with the wrapper's own field examples."""
    wrapper = spec()["components"]["schemas"]["GenericEventWrapper"]
    found = {example["event"]["type"]: example for example in wrapper["x-examples"]}
    fields = wrapper["properties"]
    found["message"] = {
        "token": "XXYYZZ",
        "team_id": fields["team_id"]["x-examples"][0],
        "api_app_id": fields["api_app_id"]["x-examples"][0],
        "event": fields["event"]["x-examples"][0],
        "type": fields["type"]["x-examples"][0],
        "event_id": fields["event_id"]["x-examples"][0],
        "event_time": fields["event_time"]["x-examples"][0],
        "authed_users": ["U061F7AUR"],
    }
    return found


async def post_event(
    slack: Slack, body: dict[str, Any], *, retry: int | None = None
) -> aiohttp.ClientResponse:
    raw = json.dumps(body)
    headers = signed_headers(SECRET, raw, "application/json")
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with slack.http.post(slack.url + EVENTS_PATH, data=raw.encode(), headers=headers) as response:
        await response.read()
        return response


async def nothing_changed(slack: Slack) -> None:
    await slack.settle()
    assert [call.method for call in slack.fake.calls if call.method != "auth.test"] == []
    assert await count(slack.database, Workspace) == 0
    assert await count(slack.database, Member) == 0
    assert await count(slack.database, Outbox) == 0


def test_the_schema_check_names_what_the_spec_examples_leave_out_and_passes_them_completed():
    envelopes = spec_envelopes()
    assert set(envelopes) == {"resources_added", "reaction_added", "message"}
    assert missing(envelopes["resources_added"]) == {"authed_users", "event.event_ts"}
    assert missing(envelopes["reaction_added"]) == {"authed_users"}
    assert missing(envelopes["message"]) == set()
    for envelope in envelopes.values():
        assert missing(completed(envelope)) == set()


@pytest.mark.parametrize("kind", ["resources_added", "reaction_added", "message"])
async def test_spec_envelopes_tend_does_not_handle_answer_200_and_change_nothing(slack: Slack, kind, caplog):
    caplog.set_level(logging.DEBUG)
    envelope = completed(spec_envelopes()[kind])
    assert missing(envelope) == set()
    response = await post_event(slack, envelope)
    assert response.status == 200
    await nothing_changed(slack)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "cats" not in logged and "thumbsup" not in logged and "Unhandled" not in logged  # no bodies


async def test_every_other_event_type_in_slacks_spec_is_acknowledged(slack: Slack):
    topics = [topic for topic in spec()["topics"] if topic != "url.verification"]
    assert len(topics) > 60
    types = {"message" if topic.startswith("message") else topic.replace(".", "_") for topic in topics}
    assert set(HANDLED_EVENTS) <= types | {"app_home_opened"}  # the spec predates app_home_opened
    template = completed(spec_envelopes()["reaction_added"])
    for number, kind in enumerate(sorted(types - set(HANDLED_EVENTS))):
        envelope = {**template, "event_id": f"Ev{number:08d}", "event": {**template["event"], "type": kind}}
        assert missing(envelope) == set()
        response = await post_event(slack, envelope)
        assert response.status == 200, kind
    await nothing_changed(slack)


async def test_url_verification_answers_the_challenge(slack: Slack):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"  # Slack's documented example
    body = {"token": "XXYYZZ", "challenge": challenge, "type": "url_verification"}
    response = await post_event(slack, body)
    assert response.status == 200
    assert challenge in (await response.text())
    await nothing_changed(slack)


async def test_a_retried_event_is_handled_once(slack: Slack):
    envelope = {
        **completed(spec_envelopes()["reaction_added"]),
        "team_id": "T1",
        "event_id": "Ev0HOME0001",
        "event": {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home", "event_ts": "1.2"},
    }
    assert missing(envelope) == set()
    assert (await post_event(slack, envelope)).status == 200
    await slack.settle()
    await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "views.publish"])
    for retry in (1, 2):
        assert (await post_event(slack, envelope, retry=retry)).status == 200
        await slack.settle()
    assert len(slack.fake.of("views.publish")) == 1
    for unknown_retry in (None, 1):  # an event Tend ignores is acked on every delivery
        response = await post_event(slack, completed(spec_envelopes()["message"]), retry=unknown_retry)
        assert response.status == 200


def test_the_manifest_subscribes_to_exactly_the_events_tend_handles_and_enables_app_home():
    manifest = yaml.safe_load((ROOT / "adapters" / "slack" / "manifest.yml").read_text())
    subscriptions = manifest["settings"]["event_subscriptions"]
    assert sorted(subscriptions["bot_events"]) == sorted(HANDLED_EVENTS)
    assert subscriptions["request_url"].endswith(EVENTS_PATH)
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "users:read" in manifest["oauth_config"]["scopes"]["bot"]  # user_change, team_join, users.info
