"""Neutral cards and forms → Adaptive Cards 1.5, each checked against the official 1.5 schema.

The cards are the practices' own (shout-outs, the opener check-in, the stress forms, the index with its
chart), so what a Teams user would see is what is validated.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from adapters.teams.cards import (
    BUTTON_PADDING,
    CONTENT_TYPE,
    MAX_ACTIONS_PER_SET,
    MAX_CARD_BYTES,
    ROW_CHARACTERS,
    adaptive_card,
    card_attachment,
    form_card,
    markdown,
    size_of,
)
from practices import (
    charts,
    compassion_index,
    data_rights,
    meeting_openers,
    one_on_ones,
    shoutouts,
    stress_reports,
)
from practices import compassion_index_maths as maths
from practices.messages import (
    Button,
    Buttons,
    Card,
    Divider,
    Fact,
    Facts,
    Fine,
    Form,
    FormField,
    Image,
    Text,
    text_card,
)
from storage.models import Member, Shoutout

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # copies of ../shared/reference (SOURCES.md)

PUBLIC = "https://tend.example.com"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft6Validator:
    schema = json.loads((REFERENCE / "adaptive-card-1.5.schema.json").read_text())
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)


def problems(validator: jsonschema.Draft6Validator, content: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(content)]


def body_types(content: dict[str, Any]) -> list[str]:
    return [element["type"] for element in content["body"]]


def texts(content: dict[str, Any]) -> list[str]:
    return [element["text"] for element in content["body"] if element["type"] == "TextBlock"]


def member(member_id: int, name: str) -> Member:
    return Member(
        id=member_id, workspace_id=1, platform_user_id=f"29:{name}", display_name=name, created_at=NOW
    )


def index_weeks() -> list[maths.WeekFigures]:
    weeks = []
    for number in range(40, 48):
        figures = {
            name: maths.Figure(name, raw=0.5 + number / 100, score=60.0 + number % 7)
            for name in maths.COMPONENTS
        }
        weeks.append(maths.WeekFigures(f"2026-W{number}", 55.0 + number % 9, figures))
    return weeks


def index_ctx() -> Any:
    return SimpleNamespace(
        min_group_size=5, index_weights=dict(maths.DEFAULT_WEIGHTS), support_window=timedelta(hours=48)
    )


# --- the practices' cards, valid ------------------------------------------------------------------------


def practice_cards(tmp_path: Path) -> dict[str, Card]:
    ada, bo = member(1, "ada"), member(2, "bo")
    weeks = index_weeks()
    chart = compassion_index.draw_chart("platform", weeks, charts.chart_path("A" * 22, tmp_path))
    assert chart is not None
    rows = [
        Shoutout(
            workspace_id=1,
            giver_member_id=1,
            receiver_member_id=2,
            text=f"thanks for fix {n}",
            created_at=NOW,
        )
        for n in range(5)
    ]
    return {
        "shout-out": shoutouts.public_card(ada, [bo], "covering the *on-call* shift", ("teamwork",)),
        "shout-out prompt": shoutouts.prompt_card(),
        "digest": shoutouts.build_digest(rows, {1: ada, 2: bo}),
        "opener check-in": meeting_openers.check_in_card(7, 6, 5),
        "opener closed": meeting_openers.closed_card({1: 2, 4: 3, 5: 1}, 5),
        "opener closed, too few": meeting_openers.closed_card({3: 1}, 5),
        "opener waiting": meeting_openers.check_in_card(7, 1, 5),
        "index with chart": compassion_index.index_card(index_ctx(), "platform", weeks, 8, chart),
        "index without chart": compassion_index.index_card(index_ctx(), "platform", weeks, 4),
        "text": text_card("Done.", "Settings"),
        "untitled": Card("", (Text("hello"),)),
    }


def practice_forms() -> dict[str, Form]:
    return {
        "kudos": shoutouts.kudos_form(),
        "stress report": stress_reports.report_form(),
        "stress message": stress_reports.message_form("token-1"),
        "1:1 prep": one_on_ones.prep_form("12"),
        "1:1 move": one_on_ones.move_form("12", NOW.date()),
    }


def test_every_practice_card_is_a_valid_adaptive_card_1_5(validator, tmp_path):
    for name, card in practice_cards(tmp_path).items():
        for public_url in (None, PUBLIC):
            content = adaptive_card(card, public_url)
            assert content["type"] == "AdaptiveCard" and content["version"] == "1.5"
            assert content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
            assert problems(validator, content) == [], name


def test_every_practice_form_is_a_valid_adaptive_card_1_5(validator):
    for name, form in practice_forms().items():
        assert problems(validator, form_card(form)) == [], name


def test_the_data_rights_confirmation_is_valid_and_its_danger_button_is_destructive(validator):
    card = Card(
        "Erase?",
        (
            Buttons(
                (
                    Button(data_rights.CONFIRM_LABEL, data_rights.CONFIRM, style="danger"),
                    Button(data_rights.CANCEL_LABEL, data_rights.CANCEL),
                )
            ),
        ),
    )
    content = adaptive_card(card)
    assert problems(validator, content) == []
    [confirm, cancel] = content["body"][-1]["actions"]
    assert confirm["style"] == "destructive" and "style" not in cancel


def test_a_broken_card_fails_the_schema_so_the_checks_above_can_fail(validator):
    good = adaptive_card(text_card("hello", "Hi"))
    assert problems(validator, good) == []
    unknown_property = {**good, "body": [{**good["body"][0], "colour": "red"}]}
    no_text = {**good, "body": [{"type": "TextBlock"}]}
    unknown_element = {**good, "body": [{"type": "Marquee", "text": "hi"}]}
    bad_fact = {**good, "body": [{"type": "FactSet", "facts": [{"title": "a"}]}]}
    for broken in (unknown_property, no_text, unknown_element, bad_fact, {**good, "type": "HeroCard"}):
        assert problems(validator, broken) != []


# --- what each block becomes ----------------------------------------------------------------------------


def test_blocks_map_to_their_adaptive_card_elements(validator):
    card = Card(
        "Weekly",
        (
            Text("*Ada* thanked _Bo_"),
            Divider(),
            Facts((Fact("Answers", "*7*"), Fact("Mood", "3.4"))),
            Fine("only the aggregate is shown"),
            Image("https://cdn.example.com/chart.png", "the chart"),
            Buttons((Button("Send one", "kudos.open", style="primary"),)),
        ),
    )
    content = adaptive_card(card)
    assert problems(validator, content) == []
    title, text, facts, fine, image, actions = content["body"]
    assert title["text"] == "Weekly" and title["weight"] == "bolder" and title["style"] == "heading"
    assert text == {"type": "TextBlock", "text": "**Ada** thanked _Bo_", "wrap": True}
    assert facts["type"] == "FactSet" and facts["separator"] is True  # the divider draws a line above it
    assert facts["facts"] == [{"title": "Answers", "value": "**7**"}, {"title": "Mood", "value": "3.4"}]
    assert (fine["size"], fine["isSubtle"], fine["text"]) == ("small", True, "only the aggregate is shown")
    assert image == {"type": "Image", "url": "https://cdn.example.com/chart.png", "altText": "the chart"}
    [button] = actions["actions"]
    assert button["type"] == "Action.Submit" and button["title"] == "Send one"
    assert button["style"] == "positive"
    assert button["data"] == {"tend": {"kind": "click", "action": "kudos.open", "value": ""}}
    assert content["fallbackText"] == "Weekly\nAda thanked Bo"  # read as it is shown: no markup


def test_only_slack_style_bold_is_rewritten():
    assert markdown("*bold* and 5 * 3 * 2 and a*b*c and _it_") == "**bold** and 5 * 3 * 2 and a*b*c and _it_"
    assert markdown("*two words*, *x*") == "**two words**, **x**"


def test_a_local_chart_is_linked_under_the_public_url_and_described_without_one(tmp_path):
    cards = practice_cards(tmp_path)
    with_url = adaptive_card(cards["index with chart"], PUBLIC)
    [image] = [e for e in with_url["body"] if e["type"] == "Image"]
    assert image["url"] == f"{PUBLIC}/charts/index-{'A' * 22}.png"
    assert image["altText"] == compassion_index.CHART_ALT.format(
        name="platform", first="2026-W40", last="2026-W47"
    )
    without = adaptive_card(cards["index with chart"])
    assert "Image" not in body_types(without)
    assert any(text == f"[{image['altText']}]" for text in texts(without))


def test_a_public_url_with_a_trailing_slash_makes_one_slash():
    image = Image("file:///tmp/tend-index/index-x.png", "chart", path="/tmp/tend-index/index-x.png")
    content = adaptive_card(Card("", (image,)), PUBLIC + "/")
    assert content["body"][0]["url"] == f"{PUBLIC}/charts/index-x.png"


def test_the_opener_buttons_each_carry_their_answer(tmp_path):
    content = adaptive_card(practice_cards(tmp_path)["opener check-in"])
    values = [
        action["data"]["tend"]["value"]
        for element in content["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
    ]
    assert values[: len(meeting_openers.CHOICES)] == [f"7:{score}" for score, _ in meeting_openers.CHOICES]


def test_many_buttons_are_split_into_rows_teams_shows_whole_without_an_overflow_menu(validator):
    buttons = tuple(Button(str(n), "pick", str(n)) for n in range(14))  # short labels: six a row
    content = adaptive_card(Card("Pick", (Buttons(buttons),)))
    assert problems(validator, content) == []
    rows = [element["actions"] for element in content["body"] if element["type"] == "ActionSet"]
    assert [len(row) for row in rows] == [MAX_ACTIONS_PER_SET, MAX_ACTIONS_PER_SET, 2]
    assert [a["data"]["tend"]["value"] for row in rows for a in row] == [str(n) for n in range(14)]


def test_the_opener_answers_are_split_so_no_label_is_cut(tmp_path):
    content = adaptive_card(practice_cards(tmp_path)["opener check-in"])
    rows = [[a["title"] for a in e["actions"]] for e in content["body"] if e["type"] == "ActionSet"]
    answers = [label for _, label in meeting_openers.CHOICES]
    assert [label for row in rows[:-1] for label in row] == answers  # in order, the support button apart
    assert len(rows) > 2  # five answers do not fit one row of a channel card
    for row in rows:
        assert sum(len(label) + BUTTON_PADDING for label in row) <= ROW_CHARACTERS or len(row) == 1


def test_a_very_long_card_is_cut_to_fit_a_teams_message_with_a_visible_ellipsis(validator):
    lines = [
        Text(f"• @giver{n} → @receiver{n}: thank you for the careful review number {n} " * 3)
        for n in range(800)
    ]
    card = Card("Shout-outs this week", (*lines, Fine("footer")))
    content = adaptive_card(card)
    assert problems(validator, content) == []
    assert size_of(content) <= MAX_CARD_BYTES < 28_000
    assert texts(content)[1] == markdown(lines[0].text)  # the start is kept, in order
    assert content["body"][-1]["text"].endswith("…")  # the reader sees that more was cut
    assert len(content["body"]) < len(lines)


def test_one_huge_paragraph_keeps_its_start_and_ends_with_an_ellipsis(validator):
    content = adaptive_card(Card("Digest", (Text("thanks! " * 20_000),)))
    assert problems(validator, content) == []
    assert size_of(content) <= MAX_CARD_BYTES
    body_text = content["body"][1]["text"]
    assert body_text.startswith("thanks! thanks!") and body_text.endswith("…")
    assert len(body_text) > 10_000  # most of the room is used, not thrown away


def test_multibyte_text_is_measured_in_bytes(validator):
    content = adaptive_card(Card("", (Text("☁️ " * 30_000),)))
    assert size_of(content) <= MAX_CARD_BYTES
    assert problems(validator, content) == []


# --- forms -----------------------------------------------------------------------------------------------


def test_the_kudos_form_has_a_person_box_a_long_reason_and_a_value_choice():
    content = form_card(shoutouts.kudos_form())
    inputs = {e["id"]: e for e in content["body"] if e["type"].startswith("Input.")}
    person, reason, value = inputs["person"], inputs["reason"], inputs["value"]
    assert person["type"] == "Input.Text" and person["placeholder"] and person["isRequired"] is True
    assert person["errorMessage"] == "Please fill in “Who do you want to thank?”."
    assert reason["isMultiline"] is True and reason["maxLength"] == shoutouts.MAX_REASON
    assert reason["regex"] == f"^[\\s\\S]{{0,{shoutouts.MAX_REASON}}}$"
    assert str(shoutouts.MAX_REASON) in reason["errorMessage"].replace(",", "")
    assert value["type"] == "Input.ChoiceSet" and value["isRequired"] is False and "errorMessage" not in value
    assert [c["value"] for c in value["choices"]] == ["care", "teamwork", "courage", "craft", "learning"]
    hint = "Be specific: what happened and why it mattered."
    assert any(e["type"] == "TextBlock" and e["text"] == hint and e.get("isSubtle") for e in content["body"])
    [submit] = content["actions"]
    assert submit["type"] == "Action.Submit" and submit["title"] == "Send"
    assert submit["data"] == {"tend": {"kind": "form", "form_id": shoutouts.FORM_ID, "state": ""}}


def test_a_forms_state_rides_in_the_submit_data():
    [submit] = form_card(stress_reports.message_form("token-9"))["actions"]
    assert submit["data"]["tend"]["state"] == "token-9"


def test_the_max_length_regex_accepts_up_to_the_limit_and_newlines():
    import re

    pattern = form_card(Form("f", "F", (FormField("a", "A", max_length=5),)))["body"][1]["regex"]
    assert re.fullmatch(pattern, "ab\ncd") and not re.fullmatch(pattern, "abcdef")


def test_a_field_named_like_tends_own_key_is_refused():
    with pytest.raises(ValueError, match="tend"):
        form_card(Form("f", "F", (FormField("tend", "Oops"),)))


def test_card_attachment_wraps_content_as_an_adaptive_card():
    content = adaptive_card(text_card("hi"))
    assert card_attachment(content) == {"contentType": CONTENT_TYPE, "content": content}
    assert CONTENT_TYPE == "application/vnd.microsoft.card.adaptive"
