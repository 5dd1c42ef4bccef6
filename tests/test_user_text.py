"""What people type stays words on every platform, and the people a message is about are mentioned.

Through the real adapters: Slack requests signed and answered by the fake Web API, Teams activities
with real tokens answered by the fake Bot Connector. A Slack payload may hold no ``<…>`` token but the
mentions Tend means (``<@U…>``, ``<#C…>``, ``<!date^…>``): no ``<!channel>``, ``<!here>``, group ping
or ``<url|label>`` link. A Teams card or message, read with a CommonMark renderer (Markdown) or as
HTML (the message text), holds no link at all.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt
from sqlmodel import select

from adapters.console.render import render_card
from adapters.slack.blocks import card_blocks, fallback_text, modal_view, text_of
from adapters.slack.translate import typed_text
from adapters.teams.cards import adaptive_card, card_text, escape_markdown, split_lead
from practices import shoutouts
from practices.messages import (
    Card,
    Fact,
    Facts,
    Fine,
    Mention,
    Place,
    Said,
    Text,
    When,
    card_from_dict,
    card_to_dict,
    compose,
    words,
)
from practices.stress_reports import ask_card
from storage.identity import find_workspace
from storage.models import Shoutout, StressReport
from tests import test_msteams, test_slack
from tests.test_msteams import ANA, BO, BOT, CHANNEL, TENANT, Teams, assert_valid_card, sends_to
from tests.test_slack import Slack, assert_valid_sent, posts_in

slack = test_slack.slack  # the suites' own fixtures: a real server, the fake Web API, the fake Connector
teams = test_msteams.teams

EVIL = "<!channel> <!here> <!everyone> <!subteam^S0G1|@devs> <https://evil.example/login|Slack login>"
TYPED_EVIL = "<!channel> <!here> <https://evil.example/login|Slack login> [login](https://evil.example/x)"
_SLACK_TOKEN = re.compile(r"<[^<>]*>")
_MARKDOWN = MarkdownIt("commonmark")


# --- reading what a platform would draw --------------------------------------------------------------


def slack_texts(payload: Any) -> list[str]:
    """Every string Slack reads as mrkdwn in a payload: the fallback ``text`` and each text object."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") != "plain_text" and isinstance(payload.get("text"), str):
            found.append(payload["text"])
        for value in payload.values():
            found += slack_texts(value)
    elif isinstance(payload, list):
        for value in payload:
            found += slack_texts(value)
    return found


def slack_tokens(payload: Any) -> set[str]:
    """What Slack would act on: every ``<…>`` left unescaped in mrkdwn."""
    return {token for text in slack_texts(payload) for token in _SLACK_TOKEN.findall(text)}


def assert_inert_on_slack(payload: Any, allowed: set[str]) -> None:
    tokens = slack_tokens(payload)
    assert tokens <= allowed, tokens - allowed
    assert not [
        t for t in tokens if t.startswith(("<!channel", "<!here", "<!everyone", "<!subteam", "<http"))
    ]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_of(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    return parser


def card_markdown(content: dict[str, Any]) -> list[str]:
    """The Markdown of every TextBlock and fact value in an Adaptive Card."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            if node.get("type") == "FactSet":
                found.extend(fact["value"] for fact in node["facts"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(content)
    return found


def assert_no_link_in_card(content: dict[str, Any]) -> None:
    for markdown in card_markdown(content):
        rendered = _MARKDOWN.render(markdown)
        assert "<a " not in rendered, (markdown, rendered)


def assert_message_text_is_safe(body: dict[str, Any]) -> None:
    """Teams message text (XML format): only tags Tend writes itself, no link, no Markdown link."""
    text = body.get("text") or ""
    parsed = html_of(text)
    assert {tag for tag, _ in parsed.tags} <= {"b", "i", "br", "at"}, parsed.tags
    assert "<a " not in _MARKDOWN.render("".join(parsed.text))


# --- the parts, drawn by each adapter ----------------------------------------------------------------

MOMENT = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def test_slack_escapes_every_text_and_writes_only_the_tokens_a_card_names():
    typed = Said("a & b <!channel> <https://evil.example|login> <@U9>")
    text = compose(
        "{who} in {where} at {when}: {typed} *bold* & <!here>",
        who=Mention("U2", "bo"),
        where=Place("C1"),
        when=When(MOMENT, "Tue 04 Mar 15:00", "date_time"),
        typed=typed,
    )
    drawn = text_of(text)
    assert drawn.startswith(
        "<@U2> in <#C1> at <!date^1741100400^{date_short_pretty} {time}|Tue 04 Mar 15:00>"
    )
    assert "a &amp; b &lt;!channel&gt; &lt;https://evil.example|login&gt; &lt;@U9&gt;" in drawn
    assert drawn.endswith("*bold* &amp; &lt;!here&gt;")  # Tend's own words cannot ping either
    # An id that is not Slack's cannot become a token: it reads as a name.
    assert text_of((Mention("29:bo", "bo <!here>"), Place("19:x@thread"))) == "@bo &lt;!here&gt;a channel"


def test_a_cut_never_leaves_half_a_token_or_an_escape():
    card = Card("t", (Text((Mention("U2", "bo"), Said("<" * 2000))),))
    [_, section] = card_blocks(card)
    text = section["text"]["text"]
    assert len(text) <= 3000 and text.endswith("…") and not re.search(r"&[a-z]*…$", text)


def test_slack_command_text_is_decoded_to_what_was_typed_keeping_real_mentions():
    assert typed_text("<@U2|bo> thanks " + EVIL + " &lt;!here&gt; &amp; <#C1|general>") == (
        "<@U2|bo> thanks @channel @here @everyone @devs Slack login (https://evil.example/login)"
        " <!here> & <#C1|general>"
    )
    assert typed_text("&lt;@U9&gt; <https://example.com> <mailto:a@b.example|a@b.example>") == (
        "@U9> https://example.com a@b.example"  # a typed mention is no mention
    )


def test_teams_escapes_markdown_in_what_people_typed_and_keeps_tends_own_bold():
    for typed in ("[login](https://evil.example)", "*big* _news_ `code` ~~gone~~", "- a\n1. b", "<b>hi</b>"):
        rendered = _MARKDOWN.render(card_text(("*Tend* says: ", Said(typed))))
        assert "<strong>Tend</strong>" in rendered or "<em>Tend</em>" in rendered
        assert "<a " not in rendered and "<li>" not in rendered and "<code>" not in rendered
        assert rendered.count("<em>") + rendered.count("<strong>") == 1, rendered  # only Tend's
    assert escape_markdown("{{DATE(2025-01-01T00:00:00Z)}}") == "\\{\\{DATE(2025-01-01T00:00:00Z)\\}\\}"
    assert card_text((When(MOMENT, "15:00", "time"),)) == "{{TIME(2025-03-04T15:00:00Z)}}"


def test_teams_moves_the_paragraph_naming_people_into_the_message_with_mentions():
    card = Card(
        "Shout-out",
        (
            Text(
                compose(
                    "{a} thanked {b}: {r}",
                    a=Mention("29:ana", "Ana"),
                    b=Mention("29:bo", "Bo"),
                    r=Said("x&<y>"),
                )
            ),
            Fine("#teamwork"),
        ),
    )
    rest, fields = split_lead(card)
    assert fields["textFormat"] == "xml"
    assert fields["text"] == "<b>Shout-out</b><br><at>Ana</at> thanked <at>Bo</at>: x&amp;&lt;y&gt;"
    assert [e["mentioned"] for e in fields["entities"]] == [
        {"id": "29:ana", "name": "Ana"},
        {"id": "29:bo", "name": "Bo"},
    ]
    assert rest == Card("", (Fine("#teamwork"),))
    assert_valid_card(adaptive_card(rest))
    # A card naming nobody stays whole; a channel is never mentioned (that would notify everyone in it).
    assert split_lead(Card("t", (Text("hi"),))) == (Card("t", (Text("hi"),)), {})
    assert split_lead(Card("t", (Text((Mention("19:general@thread.tacv2", "General"),)),)))[1] == {}


def test_the_console_shows_people_places_and_words_as_typed():
    card = Card(
        "Shout-out",
        (
            Text(
                compose(
                    "{a} thanked {b} in {p}: {r}",
                    a=Mention("ana", "ana"),
                    b=Mention("bo", "bo"),
                    p=Place("general"),
                    r=Said("*so* <!here>"),
                )
            ),
        ),
    )
    assert "@ana thanked @bo in #general: *so* <!here>" in render_card(card)


def test_cards_with_parts_survive_the_outbox():
    card = Card(
        "t",
        (
            Text(
                compose(
                    "{a} {p} {w} {s}",
                    a=Mention("U1", "ana"),
                    p=Place("C1", "design"),
                    w=When(MOMENT, "Tue", "date"),
                    s=Said("x"),
                )
            ),
            Fine((Said("#care"),)),
            Facts((Fact("Name", (Said("ana"),)), Fact("Role", "member"))),
            Text("plain, as rows written before parts existed"),
        ),
    )
    assert card_from_dict(json.loads(json.dumps(card_to_dict(card)))) == card


def test_stress_report_words_reach_the_rota_as_words_on_every_platform():
    report = StressReport(
        organization_id=1, intensity=4, category="workload", week="2025-W10", text=TYPED_EVIL
    )
    card = ask_card(report, "token")
    assert_inert_on_slack({"text": fallback_text(card), "blocks": card_blocks(card)}, set())
    content = adaptive_card(card)
    assert_valid_card(content)
    assert_no_link_in_card(content)
    assert split_lead(card) == (card, {})  # it names nobody, so nobody is mentioned
    shown = " ".join(line.strip("│ ") for line in render_card(card).splitlines())
    assert TYPED_EVIL in shown  # the console shows it exactly as typed


# --- Slack, end to end -----------------------------------------------------------------------------


async def settle(slack: Slack) -> None:
    """What was acked is handled and what it queued is sent (the suite's own way, where it has one)."""
    if hasattr(slack, "settle"):
        await slack.settle()
    else:
        await slack.adapter.drain()


async def test_slack_kudos_pings_nobody_but_the_people_thanked_and_links_nowhere(slack: Slack):
    text = f"<@U2|bo> thanks {EVIL} &lt;!here&gt; for the review"
    assert (await slack.command("/kudos", text)).status == 200
    await settle(slack)
    [public] = await slack.fake.wait_for(posts_in("C1", "for the review"))
    await settle(slack)
    [private] = await slack.fake.wait_for(posts_in("DU2", "for the review"))
    for call in (public, private):
        assert_inert_on_slack(call.args, {"<@U1>", "<@U2>", "<#C1>"})
    public_text = public.args["blocks"][1]["text"]["text"]
    assert public_text.startswith("<@U1> thanked <@U2>: thanks @channel @here")
    assert "Slack login (https://evil.example/login) &lt;!here&gt; for the review" in public_text
    assert "<#C1>" in json.dumps(private.args)  # the private note names the channel as a channel
    assert_valid_sent(slack.fake.calls)

    async with slack.database.session() as session:  # the weekly read-back, posted by the same sender
        workspace = await find_workspace(session, "slack", "T1")
        assert workspace is not None and workspace.id is not None
        digest = await shoutouts.digest(session, workspace.id, slack.clock.now() + timedelta(hours=1), "C1")
    await slack.engine.senders["slack"].post("T1", "C9", digest)
    [posted] = await slack.fake.wait_for(posts_in("C9", "for the review"))
    assert_inert_on_slack(posted.args, {"<@U1>", "<@U2>"})
    assert "<@U1> → <@U2>: thanks @channel" in posted.args["text"]


async def test_slack_modal_reason_is_shown_as_typed(slack: Slack):
    await slack.command("/kudos", "<@U2|bo> thanks for the careful review")  # Tend meets U1 and U2
    await settle(slack)
    await slack.fake.wait_for(posts_in("C1", "careful review"))
    form = shoutouts.kudos_form()
    reason = TYPED_EVIL + " <@U3> & co"
    submission = {
        **slack.envelope("view_submission", "U1"),
        "view": {
            **modal_view(form, "C1"),
            "id": "V1",
            "state": {
                "values": {
                    "person": {"person": {"type": "users_select", "selected_user": "U2"}},
                    "reason": {"reason": {"type": "plain_text_input", "value": reason}},
                    "value": {"value": {"type": "static_select", "selected_option": {"value": "care"}}},
                }
            },
        },
    }
    slack.clock.advance(timedelta(seconds=2))
    assert (await slack.interaction(submission)).status == 200
    await settle(slack)
    [public] = await slack.fake.wait_for(posts_in("C1", "&amp; co"))
    assert_inert_on_slack(public.args, {"<@U1>", "<@U2>"})
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;https://evil.example/login|Slack login&gt;" in json.dumps(
        public.args
    )
    async with slack.database.session() as session:
        stored = (await session.exec(select(Shoutout).where(Shoutout.text.contains("& co")))).one()  # type: ignore[attr-defined]
    assert "<@U3>" not in stored.text  # a typed "<@U3>" is kept as words, never stored as a mention


async def test_stress_words_sent_to_the_rota_on_slack_are_inert(slack: Slack):
    report = StressReport(
        organization_id=1, intensity=3, category="conflict", week="2025-W10", text=TYPED_EVIL
    )
    await slack.engine.senders["slack"].direct("T1", "U3", ask_card(report, "token"))
    [sent] = await slack.fake.wait_for(lambda calls: [c for c in calls if c.method == "chat.postMessage"])
    assert_inert_on_slack(sent.args, set())
    assert "&lt;!channel&gt;" in json.dumps(sent.args)


# --- Teams, end to end -------------------------------------------------------------------------------


async def test_teams_kudos_mentions_the_people_and_a_markdown_link_in_the_reason_is_no_link(teams: Teams):
    await teams.say(
        "<at>Tend</at> kudos <at>Bo</at> thanks [login](https://evil.example/login) **now** &lt;b&gt;",
        mentions=(BOT, BO),
    )
    await teams.say("<at>Tend</at> tend help", user=BO, mentions=(BOT,))
    [public] = await teams.connector.wait_for(sends_to(CHANNEL, "evil.example"))
    [private] = await teams.connector.wait_for(sends_to(f"a:personal-{BO['id']}", "evil.example"))
    for call in (public, private):
        assert_message_text_is_safe(call.body)
        for attachment in call.attachments:
            assert_valid_card(attachment["content"])
            assert_no_link_in_card(attachment["content"])
        shown = json.dumps(call.body)
        assert CHANNEL not in shown.replace(json.dumps(call.conversation_id)[1:-1], "")  # no raw channel id
    mentioned = {e["mentioned"]["id"]: e["text"] for e in public.body["entities"]}
    assert mentioned == {ANA["id"]: "<at>Ana</at>", BO["id"]: "<at>Bo</at>"}
    assert public.body["textFormat"] == "xml"
    assert public.body["text"].startswith(
        "<b>Shout-out</b><br><at>Ana</at> thanked <at>Bo</at>: thanks [login]"
    )
    assert {e["mentioned"]["id"] for e in private.body["entities"]} == {ANA["id"]}
    assert "thanked you in a channel" in private.body["text"]  # never "in #19:general@thread.tacv2"

    async with teams.database.session() as session:  # the weekly read-back, posted by the same sender
        workspace = await find_workspace(session, "teams", TENANT)
        assert workspace is not None and workspace.id is not None
        digest = await shoutouts.digest(
            session, workspace.id, teams.clock.now() + timedelta(hours=1), CHANNEL
        )
    teams.clock.advance(timedelta(seconds=2))
    await teams.sender.post(TENANT, CHANNEL, digest)
    [posted] = await teams.connector.wait_for(sends_to(CHANNEL, "This week"))
    assert_message_text_is_safe(posted.body)
    assert "<at>Ana</at> → <at>Bo</at>: thanks [login]" in posted.body["text"]
    assert {e["mentioned"]["id"] for e in posted.body["entities"]} == {ANA["id"], BO["id"]}
    for attachment in posted.attachments:
        assert_valid_card(attachment["content"])
        assert_no_link_in_card(attachment["content"])


def test_a_shout_out_reason_with_tokens_names_the_people_in_it():
    parts = words("thanks <@U3> and <#C2|ops> for <b>", {"U3": "cy"})
    assert parts == (
        Said("thanks "),
        Mention("U3", "cy"),
        Said(" and "),
        Place("C2", "ops"),
        Said(" for <b>"),
    )
