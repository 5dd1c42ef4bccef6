"""The Slack app manifest: valid by Slack's own schema, and asking for exactly what Tend's code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # copies of ../shared/reference (SOURCES.md)
MANIFEST = ROOT / "adapters" / "slack" / "manifest.yml"

# The bot scope each Web API method Tend calls needs (https://api.slack.com/methods).
SCOPE_OF = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "views.open": "commands",
    "views.publish": "commands",
    "views.update": "commands",  # a modal redrawn (no scope of its own, like views.open)
    "users.info": "users:read",
}


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def validator() -> jsonschema.Draft7Validator:
    schema = json.loads((REFERENCE / "slack-app-manifest.schema.json").read_text())
    return jsonschema.Draft7Validator(schema)


def test_the_manifest_is_valid_by_slacks_schema():
    assert list(validator().iter_errors(manifest())) == []


def test_the_schema_check_accepts_slacks_example_and_rejects_a_broken_manifest():
    example = json.loads((REFERENCE / "slack-app-manifest-v1.valid.example.json").read_text())
    assert list(validator().iter_errors(example)) == []
    broken = manifest()
    del broken["display_information"]
    assert list(validator().iter_errors(broken)) != []


def test_both_commands_and_interactivity_reach_tends_one_endpoint():
    data = manifest()
    commands = {c["command"]: c["url"] for c in data["features"]["slash_commands"]}
    assert set(commands) == {"/kudos", "/tend"}
    assert all(url.endswith("/slack/events") for url in commands.values())
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")


def called_methods() -> set[str]:
    """Web API methods the Slack adapter calls (``client.chat_postMessage(`` -> ``chat.postMessage``)."""
    found: set[str] = set()
    for path in (ROOT / "adapters" / "slack").glob("*.py"):
        for family, rest in re.findall(r"client\.(chat|conversations|views|users)_(\w+)\(", path.read_text()):
            found.add(f"{family}.{rest}")
    return found


def test_every_method_the_adapter_calls_is_covered_by_a_requested_scope():
    methods = called_methods()
    assert "chat.postMessage" in methods  # the scan sees the adapter's calls
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    missing = {method: SCOPE_OF.get(method, "?") for method in methods if SCOPE_OF.get(method) not in scopes}
    assert missing == {}
