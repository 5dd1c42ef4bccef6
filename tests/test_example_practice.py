"""One module is enough for a practice: a tiny one, declared and registered only here, is a command,
a button, a help topic and a ritual kind the moment it is registered, and nothing anywhere else knows it.

It is the walk-through of docs/architecture.md "Adding a practice", as a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.engine import Engine
from bot.practices_registry import RegistryError, build, default_registry, with_practices
from bot.scheduler import Scheduler
from practices.grammar import TEAM, Topic, Usage, only
from practices.messages import Button, Buttons, Card, Outcome, PostToPlace, Reply, Text, text_card
from practices.practice import FireContext, Practice, PracticeContext, RitualKind
from storage.db import Database
from tests.helpers import at
from tests.scenario import Scenario

# --- the practice: everything it is, in one place -----------------------------------------------------

JAR_OPEN = "Gratitude jar: add a note of thanks; the jar is read out on its day."
JAR_ADDED = "Your note is in the jar."
JAR_READ = "Time to open the gratitude jar: what are you grateful for this week?"


@dataclass(frozen=True)
class JarShow:
    async def run(self, ctx: PracticeContext) -> Outcome:
        card = Card(
            title="Gratitude jar", blocks=(Text(JAR_OPEN), Buttons((Button("Add a note", "jar.add"),)))
        )
        return Outcome((Reply(card),))


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    return Outcome.reply(JAR_ADDED)


async def fire(ctx: FireContext) -> Outcome:
    assert ctx.ritual.place_id is not None
    return Outcome((PostToPlace(ctx.ritual.place_id, text_card(JAR_READ)),))


GRACE = timedelta(minutes=30)
JAR = Practice(
    name="gratitude_jar",
    commands={"gratitude-jar": only(JarShow, "gratitude-jar")},
    topics=(
        Topic(
            "gratitude-jar",
            "notes of thanks, read out together",
            "Anyone adds a note; a ritual reads the jar out in a channel.",
            (Usage("/tend gratitude-jar", "", "the jar and its button", "/tend gratitude-jar", TEAM),),
        ),
    ),
    actions={"jar": on_action},
    rituals=(RitualKind("gratitude-jar", fire, GRACE, "the gratitude jar read out"),),
)

# --- the test: registered, it works end to end ---------------------------------------------------------


def with_jar(database: Database) -> Scenario:
    """A whole Tend whose engine and scheduler know the jar (a plain scenario knows the shipped ones)."""
    s = Scenario(database, at("2025-03-03 08:00"))
    registry = with_practices(JAR)
    s.engine = Engine(database, s.clock, {"slack": s.sender}, registry=registry)
    s.scheduler = Scheduler(database, s.clock, senders={"slack": s.sender}, registry=registry)
    return s


def posted(s: Scenario, text: str) -> list[str]:
    return [sent.target for sent in s.sender.sent if sent.kind == "post" and text in sent.card.fallback]


async def test_a_registered_practice_answers_its_command_routes_its_button_and_has_help(database):
    s = with_jar(database)
    await s.join("U1", "ana")
    assert JAR_OPEN in await s.command("U1", "tend gratitude-jar")
    assert JAR_ADDED in await s.click("U1", "jar.add")
    listed = await s.command("U1", "tend help")
    assert "*gratitude-jar*: notes of thanks, read out together" in listed
    topic = await s.command("U1", "tend help gratitude-jar")
    assert topic.startswith("Tend help: gratitude-jar") and "`/tend gratitude-jar`" in topic
    assert "did you mean “gratitude-jar”" in await s.command("U1", "tend gratitude-jr")


async def test_its_ritual_kind_is_added_like_any_other_and_fires_within_its_grace(database):
    s = with_jar(database)
    await s.join("U1", "ana", admin=True)
    added = await s.command("U1", "tend ritual add gratitude-jar here daily 09:00")
    assert added.startswith("Ritual added") and "gratitude-jar" in added
    assert "gratitude-jar" in await s.command("U1", "tend ritual list")
    kinds = "<opener|shoutout-prompt|shoutout-digest|gratitude-jar>"
    assert kinds in await s.command("U1", "tend help ritual")
    await s.run_until(at("2025-03-03 09:05"))
    assert posted(s, JAR_READ) == ["C1"]
    # Down from before the next one until past its declared grace: that occurrence is skipped, not sent late.
    s.clock.set(at("2025-03-04 09:00") + GRACE + timedelta(minutes=1))
    report = await s.tick()
    assert report.skipped == 1 and posted(s, JAR_READ) == ["C1"]


async def test_an_engine_without_it_does_not_know_it(database):
    s = Scenario(database, at("2025-03-03 08:00"))  # the shipped practices only
    await s.join("U1", "ana", admin=True)
    assert "I don't know “gratitude-jar”" in await s.command("U1", "tend gratitude-jar")
    refused = await s.command("U1", "tend ritual add gratitude-jar here daily 09:00")
    assert "I don't know the ritual kind “gratitude-jar”" in refused
    assert "no longer in use" in await s.click("U1", "jar.add")
    assert "gratitude-jar" not in await s.command("U1", "tend help")
    assert "<opener|shoutout-prompt|shoutout-digest> " in await s.command("U1", "tend help ritual")
    assert "gratitude-jar" not in default_registry().commands


def test_two_practices_claiming_the_same_word_or_kind_is_an_error_naming_both():
    shipped = default_registry().practices
    ritual_owner = default_registry().owner["ritual"]
    with pytest.raises(
        RegistryError, match=f"“ritual”.*{ritual_owner}.*gratitude_jar|gratitude_jar.*{ritual_owner}"
    ):
        build((*shipped, Practice("gratitude_jar", commands={"ritual": only(JarShow, "ritual")})))
    opener = next(p.name for p in shipped for k in p.rituals if k.name == "opener")
    with pytest.raises(RegistryError, match=f"“opener”.*{opener}"):
        build((*shipped, Practice("gratitude_jar", rituals=(RitualKind("opener", fire, GRACE),))))
    with pytest.raises(RegistryError, match="“jar”"):
        build((JAR, Practice("another_jar", actions={"jar": on_action})))
