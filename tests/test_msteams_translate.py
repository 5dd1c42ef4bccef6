"""Teams activities → neutral events: real recorded activities replayed, plus hand-made ones.

The recordings (``../shared/reference/teams-activity-*.json``) are real Teams client traffic captured
by the botbuilder-js integration bot; the Activity is their ``body``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.teams.cards import adaptive_card, form_card
from adapters.teams.translate import activity_event, activity_events, place_of
from bot import commands as c
from bot.events import ButtonClicked, CommandReceived, DirectText, FormSubmitted, MemberSeen, PersonRef
from practices.messages import Button, Buttons, Card, Choice, Form, FormField
from practices.org_teams import TeamAdd
from practices.rituals import RitualAdd, RitualList
from practices.shoutouts import Kudos

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # copies of ../shared/reference (SOURCES.md)

RECORDED_APP_ID = "eac5e5c6-ab14-4f50-80cb-49213fe51b1a"  # the recording bot's app id (28:<id>)
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CHANNEL = "19:097e6717fd7245bdbeba6baa13840db8@thread.skype"
DAVE = "29:1CFIxRJBLjT_io3iNsDZxMk_4YPWQmr3DZUM1I6ihf5L2ocCDqg9S1vkHK6kRdGfK1P_2LFE2nQqFIvdu-GBOZA"

APP_ID = "11111111-2222-3333-4444-555555555555"
BOT = f"28:{APP_ID}"
ADA, BO, CY = "29:ada-teams-id", "29:bo-teams-id", "29:cy-teams-id"
PERSONAL = "a:personal-chat-with-ada"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / f"teams-activity-{name}.json").read_text())["body"]


def activity(
    text: str = "",
    *,
    kind: str = "message",
    conversation_type: str = "personal",
    conversation_id: str = PERSONAL,
    entities: list[dict[str, Any]] | None = None,
    activity_id: str = "1700000000001",
    **extra: Any,
) -> dict[str, Any]:
    """A Teams activity as the Bot Connector posts it, with only the fields Tend reads."""
    body: dict[str, Any] = {
        "type": kind,
        "id": activity_id,
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": ADA, "name": "Ada Lovelace", "aadObjectId": "aad-ada"},
        "recipient": {"id": BOT, "name": "Tend"},
        "conversation": {
            "conversationType": conversation_type,
            "tenantId": "tenant-1",
            "id": conversation_id,
        },
        "channelData": {"tenant": {"id": "tenant-1"}},
        "entities": entities or [],
        **extra,
    }
    if text:
        body["text"] = text
    return body


def mention(user_id: str, name: str) -> dict[str, Any]:
    return {"type": "mention", "mentioned": {"id": user_id, "name": name}, "text": f"<at>{name}</at>"}


def in_channel(text: str, entities: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return activity(
        text,
        conversation_type="channel",
        conversation_id=f"{CHANNEL};messageid=1700000000000",
        entities=entities,
        **extra,
    )


# --- the recordings ------------------------------------------------------------------------------------


def test_recorded_personal_message_is_private_text_from_the_person_in_their_tenant():
    event = activity_event(recorded("message-personal"), "cd59cf47-aca1-41e0-8441-387faee8331e")
    assert isinstance(event, DirectText)
    assert event.text == "file"
    origin = event.origin
    assert (origin.platform, origin.workspace_id, origin.is_direct) == ("teams", TENANT, True)
    assert origin.actor == PersonRef(
        "29:1kbOecyrymSn1FtrbJlQNF_BvhIpb7CLGbmjaTldT8A8tXXphjq4BcA2KfWGwoI-ahbEJ_Og1syGOt68MsLId1Q",
        "Tien Suwandy",
    )
    assert origin.place_id.startswith("a:1VF4K2uXl")
    assert event.event_id and event.event_id.startswith("1571691217375@")


def test_recorded_channel_mention_of_the_bot_is_a_tend_command_in_the_channel_not_the_thread():
    event = activity_event(recorded("message-mention-channel"), RECORDED_APP_ID)
    assert isinstance(event, CommandReceived)
    # "<at>My Combined</at>1": the bot's own mention is gone, the rest is read as /tend words
    assert (event.command, event.text, event.mentions) == ("tend", "1", ())
    assert event.origin.place_id == CHANNEL  # ";messageid=1571537152320" folded away
    assert event.origin.is_direct is False
    assert event.origin.actor == PersonRef(DAVE, "Dave Taniguchi")
    # and the grammar answers it with a friendly usage error, not silence
    assert isinstance(c.parse(event.command, event.text, event.mentions), c.UsageError)


def test_recorded_submit_from_a_card_tend_did_not_make_is_ignored():
    assert activity_events(recorded("message-actionsubmit-value"), RECORDED_APP_ID) == ()


def test_recorded_submit_carrying_tends_button_data_is_a_click_on_that_card():
    body = recorded("message-actionsubmit-value")
    body["value"] = {"tend": {"kind": "click", "action": "opener.answer", "value": "7:4"}}
    event = activity_event(body, RECORDED_APP_ID)
    assert isinstance(event, ButtonClicked)
    assert (event.action, event.value) == ("opener.answer", "7:4")
    assert event.message_ref == "1:1TWmOfxTUmAF9e9ZcTMaIyn0BMDfPsLjrHyCqUsBSERw"  # the card's message
    assert event.origin.place_id == CHANNEL
    assert event.origin.actor.user_id == DAVE
    assert event.event_id and event.event_id.startswith("f:6208521873967276741@")


def test_recorded_nameless_legacy_invoke_is_ignored():
    assert activity_event(recorded("invoke-actionsubmit-msteams-invoke"), RECORDED_APP_ID) is None


@pytest.mark.parametrize(
    ("name", "member", "place"),
    [
        (
            "conversationupdate-membersadded-groupchat",
            "29:1QbGyCsJVZc3VhWF9ytyMM7d9wEd3-UB7DQ6BAtDADGS58gEyiTZd5ftjYt-k3MNG59Ea-eV7DwaqPY0hCnEf5g",
            "19:444d246d19234aab86db1a0cb3d13cb8@thread.v2",
        ),
        (
            "conversationupdate-teammemberadded",
            "29:1OeqZAirv1xrSRIofsdOhqfIoSEZImcZoJELvXmhzoyn811wFf3whJ557yiWNHLw5VKK3DvhMMFh_Gpdo74o_XIy16bH3DjLUoxphFX5Pi_A",
            CHANNEL,
        ),
    ],
)
def test_recorded_member_added_is_member_seen_for_the_added_person_not_the_one_who_added(name, member, place):
    events = activity_events(recorded(name), RECORDED_APP_ID)
    assert len(events) == 1
    [seen] = events
    assert isinstance(seen, MemberSeen)
    assert seen.origin.actor.user_id == member
    assert (seen.origin.workspace_id, seen.origin.place_id) == (TENANT, place)
    assert seen.is_bot is False and seen.origin.actor_is_bot is False


# --- commands ------------------------------------------------------------------------------------------


def test_kudos_with_the_bot_mentioned_and_another_person_mentioned_reads_like_slash_kudos():
    event = activity_event(
        in_channel(
            "<at>Tend</at> kudos <at>Bo Builder</at> thanks for the review #craft",
            [mention(BOT, "Tend"), mention(BO, "Bo Builder")],
        ),
        APP_ID,
    )
    assert isinstance(event, CommandReceived)
    assert event.command == "kudos"
    assert event.text == f"<@{BO}> thanks for the review #craft"
    assert event.mentions == (PersonRef(BO, "Bo Builder"),)
    parsed = c.parse(event.command, event.text, event.mentions)
    assert parsed == Kudos((PersonRef(BO, "Bo Builder"),), "thanks for the review", ("craft",))


def test_a_leading_slash_and_any_letter_case_are_accepted_in_a_personal_chat():
    event = activity_event(activity("/Tend ritual list"), APP_ID)
    assert isinstance(event, CommandReceived)
    assert (event.command, event.text) == ("tend", "ritual list")
    assert event.origin.is_direct is True and event.origin.place_id == PERSONAL
    assert c.parse(event.command, event.text) == RitualList()


def test_two_people_mentioned_and_one_mentioned_twice_keep_order_and_ids():
    text = "tend team add platform <at>Bo</at> <at>Cy</at> <at>Bo</at>"
    event = activity_event(
        activity(text, entities=[mention(BO, "Bo"), mention(CY, "Cy"), mention(BO, "Bo")]), APP_ID
    )
    assert isinstance(event, CommandReceived)
    assert event.text == f"team add platform <@{BO}> <@{CY}> <@{BO}>"
    assert event.mentions == (PersonRef(BO, "Bo"), PersonRef(CY, "Cy"))
    parsed = c.parse(event.command, event.text, event.mentions)
    assert parsed == TeamAdd("platform", (PersonRef(BO, "Bo"), PersonRef(CY, "Cy")))


def test_a_channel_mention_becomes_a_place_the_ritual_grammar_understands():
    other = "19:other-channel@thread.tacv2"
    text = "<at>Tend</at> ritual add opener <at>General</at> mon 09:25"
    event = activity_event(in_channel(text, [mention(BOT, "Tend"), mention(other, "General")]), APP_ID)
    assert isinstance(event, CommandReceived)
    parsed = c.parse(event.command, event.text, event.mentions)
    assert isinstance(parsed, RitualAdd)
    assert parsed.place == c.PlaceRef(other) and parsed.schedule == "mon 09:25"


def test_in_a_channel_words_after_the_bot_mention_are_a_tend_command():
    event = activity_event(in_channel("<at>Tend</at> help", [mention(BOT, "Tend")]), APP_ID)
    assert isinstance(event, CommandReceived)
    assert (event.command, event.text) == ("tend", "help")
    assert event.origin.place_id == CHANNEL


def test_a_channel_message_that_does_not_mention_tend_is_not_for_tend():
    assert activity_event(in_channel("lunch at noon?", []), APP_ID) is None


def test_text_without_a_command_in_a_personal_chat_is_direct_text():
    event = activity_event(activity("I'd like to talk to someone"), APP_ID)
    assert isinstance(event, DirectText)
    assert event.text == "I'd like to talk to someone"
    assert event.origin.is_direct is True


def test_words_that_only_start_like_a_command_are_not_one():
    assert isinstance(activity_event(activity("tendencies are odd"), APP_ID), DirectText)


def test_html_entities_are_decoded_and_a_typed_mention_token_cannot_pose_as_a_real_mention():
    event = activity_event(activity(f"kudos <@{BO}> fish &amp; chips&nbsp;night"), APP_ID)
    assert isinstance(event, CommandReceived)
    assert event.mentions == ()
    assert f"<@{BO}>" not in event.text
    assert event.text.endswith("fish & chips night")


def test_html_formatting_is_dropped_but_words_in_angle_brackets_stay():
    text = "<p>kudos <at>Bo</at> for the <b>demo</b> of &lt;tend&gt; and <name></p>"
    event = activity_event(activity(text, entities=[mention(BO, "Bo")]), APP_ID)
    assert isinstance(event, CommandReceived)
    assert event.text == f"<@{BO}> for the demo of <tend> and <name>"


def test_local_time_zone_is_taken_from_the_activity_when_it_is_a_real_zone():
    seen = activity_event(activity("tend settings", localTimezone="Europe/Berlin"), APP_ID)
    assert seen is not None and seen.origin.actor_time_zone == "Europe/Berlin"
    snake = activity_event(activity("tend settings", local_timezone="America/New_York"), APP_ID)
    assert snake is not None and snake.origin.actor_time_zone == "America/New_York"
    bogus = activity_event(activity("tend settings", localTimezone="Mars/Olympus_Mons"), APP_ID)
    assert bogus is not None and bogus.origin.actor_time_zone is None


def test_a_message_from_another_bot_is_marked_as_a_bot():
    body = activity("tend help")
    body["from"] = {"id": "28:some-other-bot", "name": "Other"}
    event = activity_event(body, APP_ID)
    assert event is not None and event.origin.actor_is_bot is True


def test_tenant_falls_back_to_the_conversation_when_channel_data_has_none():
    body = activity("tend help")
    body["channelData"] = {}
    event = activity_event(body, APP_ID)
    assert event is not None and event.origin.workspace_id == "tenant-1"


def test_the_same_message_id_in_two_conversations_are_two_events_and_a_retry_is_the_same_event():
    one = activity_event(activity("tend help"), APP_ID)
    retry = activity_event(activity("tend help"), APP_ID)
    elsewhere = activity_event(activity("tend help", conversation_id="a:another-chat"), APP_ID)
    assert one is not None and retry is not None and elsewhere is not None
    assert one.event_id == retry.event_id
    assert one.event_id != elsewhere.event_id
    assert len(one.event_id or "") <= 200  # fits the de-duplication table


def test_place_of_folds_only_channel_threads():
    assert place_of(f"{CHANNEL};messageid=123") == CHANNEL
    assert place_of(PERSONAL) == PERSONAL


# --- buttons and forms ----------------------------------------------------------------------------------


def submit_value(action: dict[str, Any], inputs: dict[str, str] | None = None) -> dict[str, Any]:
    """What Teams sends back for an Action.Submit: its data with the card's input values beside it."""
    return {**copy.deepcopy(action["data"]), **(inputs or {})}


def test_every_button_tend_draws_comes_back_as_a_click_with_its_action_and_value():
    card = Card(
        "Check-in", (Buttons((Button("Great", "opener.answer", "12:5"), Button("Help", "stress.start"))),)
    )
    [action_set] = [e for e in adaptive_card(card)["body"] if e["type"] == "ActionSet"]
    clicks = []
    for action in action_set["actions"]:
        body = activity(value=submit_value(action), replyToId="1700000000000", activity_id="f:1")
        clicks.append(activity_event(body, APP_ID))
    assert [(e.action, e.value, e.message_ref) for e in clicks] == [
        ("opener.answer", "12:5", "1700000000000"),
        ("stress.start", "", "1700000000000"),
    ]


def test_a_submitted_form_comes_back_with_its_id_state_and_each_field_by_name():
    form = Form(
        "kudos",
        "Send a shout-out",
        (
            FormField("person", "Who?", kind="person"),
            FormField("reason", "Why?", kind="long_text"),
            FormField("value", "Value", kind="choice", choices=(Choice("Care", "care"),), required=False),
        ),
        state="opaque-7",
    )
    [submit] = form_card(form)["actions"]
    inputs = {"person": "Bo Builder", "reason": "stayed late", "value": "care"}
    event = activity_event(activity(value=submit_value(submit, inputs), activity_id="f:2"), APP_ID)
    assert isinstance(event, FormSubmitted)
    assert (event.form_id, event.state) == ("kudos", "opaque-7")
    assert event.values == inputs


def test_action_execute_invoke_is_read_like_a_submit():
    data = {"tend": {"kind": "click", "action": "kudos.open", "value": ""}}
    body = activity(
        kind="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "tend", "data": data}, "trigger": "manual"},
        replyToId="1700000000009",
        activity_id="f:3",
    )
    event = activity_event(body, APP_ID)
    assert isinstance(event, ButtonClicked)
    assert (event.action, event.message_ref) == ("kudos.open", "1700000000009")


def test_an_invoke_with_another_name_is_not_tends():
    body = activity(kind="invoke", name="composeExtension/query", value={"action": {"data": {}}})
    assert activity_event(body, APP_ID) is None


def test_members_added_yields_one_member_seen_per_person_and_none_for_bots():
    body = activity(
        kind="conversationUpdate",
        conversation_type="groupChat",
        conversation_id="19:group@thread.v2",
        membersAdded=[{"id": BOT}, {"id": BO, "name": "Bo"}, {"id": "28:another-bot"}, {"id": CY}],
    )
    events = activity_events(body, APP_ID)
    assert [(e.origin.actor.user_id, e.display_name) for e in events] == [(BO, "Bo"), (CY, "")]
    assert all(isinstance(e, MemberSeen) for e in events)
    assert activity_event(body, APP_ID) == events[0]


def test_the_bot_alone_being_added_is_no_event():
    body = activity(kind="conversationUpdate", membersAdded=[{"id": BOT}])
    assert activity_events(body, APP_ID) == ()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"type": "typing"},
        {"type": "messageReaction", "reactionsAdded": [{"type": "like"}]},
        {"type": "message", "value": "not a dict"},
        {"type": "message", "value": {"tend": {"kind": "click"}}},  # no action
        {"type": "message", "value": {"tend": "garbage"}},
        {"type": "conversationUpdate", "membersAdded": "nope"},
        {"type": "message", "text": None, "entities": None, "from": None, "conversation": None},
    ],
)
def test_odd_or_foreign_activities_are_ignored_without_raising(body):
    assert activity_events(body, APP_ID) == ()
