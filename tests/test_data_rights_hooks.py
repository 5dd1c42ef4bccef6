"""A practice's data is in /tend privacy, /tend export-my-data and /tend forget-me from its declaration alone.

The practice here exists only in this test: it keeps a private "jar" of notes per person (in memory,
to stay one module) and declares a privacy line, an export part and a forget part. Registered with
the engine, it shows up in all three with no other change; an engine without it knows nothing of it.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.practices_registry import with_practices
from practices.messages import Reply, Said, Text, compose, marked
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext
from storage.models import Member
from tests.helpers import at
from tests.scenario import Scenario

START = at("2025-03-03 10:00")
ADA, BO = "U0ADA", "U0BO"
JAR: dict[int, list[str]] = {}  # member id -> notes: the example practice's whole storage

PRIVACY_LINE = "*Gratitude jars* are private: only you read your notes, and teams of {size} see no counts."


async def export_jar(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    notes = JAR.get(ctx.actor_id, [])
    lines = tuple(compose("• {note}", note=Said(note)) for note in notes)
    return (ExportSection("*Your gratitude jar*", "gratitude_jar", list(notes), lines=lines),)


async def forget_jar(ctx: PracticeContext, erase: bool) -> Forgetting:
    if not erase:
        return Forgetting(erased=(f"notes in your gratitude jar emptied: {len(JAR.get(ctx.actor_id, []))}",))
    notes = JAR.pop(ctx.actor_id, [])
    return Forgetting(erased=(f"gratitude jar: {len(notes)}",), kept=("0 jar(s) shared with a team",))


JAR_PRACTICE = Practice(name="gratitude_jar", privacy=(PRIVACY_LINE,), export=export_jar, forget=forget_jar)


@pytest.fixture
async def s(database) -> Scenario:
    JAR.clear()
    scenario = Scenario(database, START, min_group_size=6)
    scenario.engine.registry = with_practices(JAR_PRACTICE)
    await scenario.join(ADA, "ada", admin=True)
    await scenario.join(BO, "bo")
    return scenario


async def _id(s: Scenario, user: str) -> int:
    async with s.database.session() as session:
        found = (await session.exec(select(Member).where(Member.platform_user_id == user))).one()
    assert found.id is not None
    return found.id


def json_texts(s: Scenario) -> list[str]:
    [reply] = [answer for answer in s.last_answers if isinstance(answer, Reply)]
    texts = [marked(block.text) for block in reply.card.blocks if isinstance(block, Text)]
    return texts[texts.index("*Machine-readable copy (JSON):*") + 1 :]


async def test_a_registered_practice_adds_its_line_to_the_privacy_page(s):
    answer = await s.command(BO, "tend privacy")
    assert "*Gratitude jars* are private" in answer and "teams of 6 see no counts" in answer
    # after the practices' own lines, before the group-size rule
    assert answer.index("Stress reports") < answer.index("Gratitude jars") < answer.index("Team figures")


async def test_a_registered_practice_is_in_the_export_readable_and_as_json(s):
    JAR[await _id(s, BO)] = ["the quiet fix on Friday", "lunch with the new team"]
    answer = await s.command(BO, "tend export-my-data", direct=True)
    assert "*Your gratitude jar*\n• the quiet fix on Friday\n• lunch with the new team" in answer
    # a practice not in data_rights.ORDER comes after those that are
    assert answer.index("Admin changes that name you") < answer.index("Your gratitude jar")
    data = json.loads("\n".join(json_texts(s)))
    assert data["gratitude_jar"] == ["the quiet fix on Friday", "lunch with the new team"]
    assert data["member"]["display_name"] == "bo" and data["teams"] == []


async def test_forget_me_asks_with_the_practice_line_then_erases_its_data(s):
    bo = await _id(s, BO)
    JAR[bo] = ["the quiet fix on Friday"]
    JAR[await _id(s, ADA)] = ["ada's own note"]
    ask = await s.command(BO, "tend forget-me")
    assert "• notes in your gratitude jar emptied: 1" in ask
    assert JAR[bo] == ["the quiet fix on Friday"]  # asking erases nothing
    done = await s.command(BO, "tend forget-me confirm")
    assert "• gratitude jar: 1" in done
    assert "0 jar(s) shared with a team." in done  # its kept line closes the list of what stays
    assert bo not in JAR and JAR  # bo's notes gone, ada's kept


async def test_an_engine_without_the_practice_knows_nothing_of_it(database):
    JAR.clear()
    plain = Scenario(database, START)
    await plain.join(BO, "bo")
    assert "Gratitude jars" not in await plain.command(BO, "tend privacy")
    assert "gratitude" not in await plain.command(BO, "tend export-my-data", direct=True)
    assert "gratitude" not in await plain.command(BO, "tend forget-me")
