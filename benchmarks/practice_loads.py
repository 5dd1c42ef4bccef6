"""The ``/tend stress`` and opener-tap loads of ``benchmarks/kudos_cpu.py`` (issue 18): Slack's payloads
as a person's taps and submissions make them, and the bare Bolt listeners that do the least equivalent work.

Every payload after the first request is built from what the server under test sent the fake Web API
(the modal its ``views.open`` carried, the card its ``chat.postMessage`` carried), as Slack builds it,
so each server parses its own views and cards back. Interactivity payloads are form-encoded
``payload=<JSON>``, signed like a command by the caller.

- A stress report: ``/tend stress`` (Tend opens its form: ``views.open``), the choice "Just count it"
  in the form's "What would help?" (a ``dispatch_action`` select: Tend redraws the modal,
  ``views.update``), then the submission (Tend stores the anonymous report before the ack and answers
  privately: ``chat.postEphemeral``). Bare Bolt: the same three calls with a one-field modal.
- An opener tap: an admin adds a daily opener in a channel (``/tend ritual add opener here daily HH:MM
  UTC`` for the next minute; Tend's scheduler fires it and posts the card), then people tap a weather
  button. Tend stores the sealed answer, updates the card's count (``chat.update``) and thanks the
  person through the response URL. Bare Bolt posts a card like it at the setup command and, per tap,
  acks, updates the count and answers the response URL on its keep-alive session.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp

TEAM = {"id": "T1", "domain": "acme"}
ADMIN = "U1"  # the fake's users.info calls U1 the workspace's primary owner: Tend makes them admin
# The stress form as a person fills it: the least alarming answer, which asks nobody for anything.
ANSWERS = {
    "intensity": "2",
    "category": "workload",
    "words": "A long week; it helps to say so.",
    "support": "count",
}
CHOICE_FIELD = "support"  # the form's field whose change redraws the modal
OPENER_CHANNEL = "C{tag}OPEN"  # where each run's opener is posted (the fake keeps cards posted there)


def person(tag: str, index: int) -> str:
    return f"U{tag}{index:05d}"


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM["id"]}


def interactive(payload: dict[str, Any]) -> dict[str, str]:
    """An interactivity request's form: Slack sends the JSON as one ``payload`` field."""
    return {"payload": json.dumps(payload)}


def command_form(
    user_id: str, channel: str, text: str, trigger: str, fake_port: int, command: str = "/tend"
) -> dict[str, str]:
    return {
        "team_id": TEAM["id"], "team_domain": TEAM["domain"], "channel_id": channel,
        "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(), "command": command,
        "api_app_id": "A1", "text": text, "trigger_id": trigger, "response_url": f"http://127.0.0.1:{fake_port}/response/{user_id}",
    }  # fmt: skip


# --- a stress report ----------------------------------------------------------------------------------


def stress_command(index: int, fake_port: int, tag: str) -> dict[str, str]:
    """``/tend stress`` typed by person ``index`` of run ``tag`` in their own channel."""
    user_id = person(tag, index)
    return command_form(user_id, f"C{tag}{index:05d}", "stress", f"{tag}.{index}", fake_port)


def _state(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``view.state`` as Slack sends it: each input block's element with the value given for its block."""
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or block.get("block_id") not in values:
            continue
        element, value = block["element"], values[block["block_id"]]
        if element["type"] == "static_select":
            chosen = [option for option in element.get("options") or [] if option["value"] == value]
            answer: dict[str, Any] = {
                "type": "static_select",
                "selected_option": chosen[0] if chosen else None,
            }
        else:
            answer = {"type": element["type"], "value": value}
        state[block["block_id"]] = {element["action_id"]: answer}
    return {"values": state}


def _submitted_view(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The opened view (``id`` and ``hash`` from the fake's answer) as it comes back filled in."""
    return {**view, "team_id": TEAM["id"], "state": _state(view, values)}


def choice_payload(index: int, tag: str, view: dict[str, Any]) -> dict[str, str]:
    """The person picks "Just count it" in the open form: a ``block_actions`` from the modal."""
    filled = {key: value for key, value in ANSWERS.items() if key != CHOICE_FIELD}
    block = next(b for b in view.get("blocks") or [] if b.get("block_id") == CHOICE_FIELD)
    element = block["element"]
    chosen = next(
        (option for option in element.get("options") or [] if option["value"] == ANSWERS[CHOICE_FIELD]), None
    )
    return interactive({
        "type": "block_actions", "team": TEAM, "user": _user(person(tag, index)), "api_app_id": "A1",
        "token": "verification-token", "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": f"{tag}.{index}.c", "view": _submitted_view(view, filled),
        "is_enterprise_install": False,
        "actions": [{
            "type": element["type"], "action_id": element["action_id"], "block_id": CHOICE_FIELD,
            "selected_option": chosen, "action_ts": f"1700000000.{index:06d}",
        }],
    })  # fmt: skip


def submission_payload(index: int, tag: str, view: dict[str, Any]) -> dict[str, str]:
    """The form sent: a ``view_submission`` with every answer."""
    return interactive({
        "type": "view_submission", "team": TEAM, "user": _user(person(tag, index)), "api_app_id": "A1",
        "token": "verification-token", "trigger_id": f"{tag}.{index}.s",
        "view": _submitted_view(view, ANSWERS), "response_urls": [], "is_enterprise_install": False,
    })  # fmt: skip


# --- an opener tap -------------------------------------------------------------------------------------


def opener_command(fake_port: int, tag: str, now: datetime) -> dict[str, str]:
    """The admin adds a daily opener in the run's channel, due the next whole minute (at least 20 s off)."""
    due = (now + timedelta(seconds=80)).strftime("%H:%M")
    channel = OPENER_CHANNEL.format(tag=tag)
    text = f"ritual add opener here daily {due} UTC"
    return command_form(ADMIN, channel, text, f"{tag}.opener", fake_port)


def tap_payload(index: int, fake_port: int, tag: str, card: dict[str, Any]) -> dict[str, str]:
    """Person ``index`` taps a weather button (scores 1 to 5 in turn) on the posted ``card``
    (``channel``, ``ts``, ``text`` and ``blocks`` as the server sent them)."""
    score = index % 5 + 1
    user_id = person(tag, index)
    block, button = next(
        (block, element)
        for block in card["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"].startswith("opener.answer") and element["value"].endswith(f":{score}")
    )
    return interactive({
        "type": "block_actions", "team": TEAM, "user": _user(user_id), "api_app_id": "A1",
        "token": "verification-token", "trigger_id": f"{tag}.{index}", "is_enterprise_install": False,
        "container": {"type": "message", "message_ts": card["ts"], "channel_id": card["channel"],
                      "is_ephemeral": False},
        "channel": {"id": card["channel"], "name": "standup"},
        "message": {"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": card["ts"],
                    "text": card["text"], "blocks": card["blocks"]},
        "state": {"values": {}}, "response_url": f"http://127.0.0.1:{fake_port}/response/{user_id}",
        "actions": [{**button, "block_id": block.get("block_id", "answers"),
                     "action_ts": f"1700000000.{index:06d}"}],
    })  # fmt: skip


# --- bare Bolt: the least a Slack app doing the same can spend ----------------------------------------


def _bare_modal(channel: str) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": "Just count it"}, "value": "count"}]
    return {
        "type": "modal", "callback_id": "stress.report", "title": {"type": "plain_text", "text": "Stress"},
        "submit": {"type": "plain_text", "text": "Send"},
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": [{
            "type": "input", "block_id": CHOICE_FIELD, "dispatch_action": True,
            "label": {"type": "plain_text", "text": "What would help?"},
            "element": {"type": "static_select", "action_id": CHOICE_FIELD, "options": options},
        }],
    }  # fmt: skip


def add_bare_stress(bolt: Any) -> None:
    """``/tend``: open a one-field modal; its choice: redraw it; its submission: ack, answer privately."""
    from slack_bolt.async_app import AsyncAck
    from slack_sdk.web.async_client import AsyncWebClient

    @bolt.command("/tend")
    async def stress(ack: AsyncAck, command: dict[str, str], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=_bare_modal(command["channel_id"]))

    @bolt.block_action(CHOICE_FIELD)
    async def choice(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        channel = json.loads(view["private_metadata"])["channel"]
        await client.views_update(view_id=view["id"], hash=view["hash"], view=_bare_modal(channel))

    @bolt.view("stress.report")
    async def submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel = json.loads(body["view"]["private_metadata"])["channel"]
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text="It is counted.")


def _bare_card(count: int) -> list[dict[str, Any]]:
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": label},
         "action_id": "opener.answer" if score == 1 else f"opener.answer~{score - 1}", "value": f"1:{score}"}
        for score, label in enumerate(("Stormy", "Rainy", "Cloudy", "Partly sunny", "Sunny"), 1)
    ]  # fmt: skip
    text = {"type": "mrkdwn", "text": f"How are you arriving today? {count} answers"}
    return [
        {"type": "section", "text": text},
        {"type": "actions", "block_id": "answers", "elements": buttons},
    ]


def add_bare_tap(bolt: Any, session: aiohttp.ClientSession) -> None:
    """``/tend``: post the card; a tap: ack, the count updated (``chat.update``), thanks to the response
    URL on the app's keep-alive session (Bolt's ``respond`` would open one per answer)."""
    from slack_bolt.async_app import AsyncAck
    from slack_sdk.web.async_client import AsyncWebClient

    answered: dict[str, set[str]] = {}  # message ts -> who tapped

    @bolt.command("/tend")
    async def opener(ack: AsyncAck, command: dict[str, str], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_postMessage(channel=command["channel_id"], text="How are you arriving today?",
                                      blocks=_bare_card(0))  # fmt: skip

    @bolt.block_action(re.compile(r"opener\.answer(~\d+)?"))
    async def tap(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        ts, channel = body["container"]["message_ts"], body["container"]["channel_id"]
        people = answered.setdefault(ts, set())
        people.add(body["user"]["id"])
        await client.chat_update(
            channel=channel, ts=ts, text=f"{len(people)} answers", blocks=_bare_card(len(people))
        )
        thanks = {
            "text": "Thanks, counted anonymously.",
            "response_type": "ephemeral",
            "replace_original": False,
        }
        async with session.post(body["response_url"], json=thanks) as answer:
            await answer.read()
