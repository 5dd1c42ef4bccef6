"""Anonymous in the schema, not in the UI: nothing stored or logged can lead back to who reported stress.

The whole flow runs through the engine, the scheduler and the outbox (every option: count, talk,
reach out), then the live database schema and every row of every stress table are read back, and
every log record of the run is checked, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from bot.events import PersonRef
from bot.logs import KeyValueFormatter, setup_logging
from practices import stress_reports as stress
from tests.helpers import at
from tests.scenario import Scenario

START = at("2025-03-03 10:00")  # a Monday, inside everyone's working hours

REPORTER = "U0QUILL42"
REPORTER_NAME = "Beatrix Quill"
SUPPORTER, CHOSEN, ADMIN = "U0SUPPORT", "U0CHOSEN", "U0ADMIN"
NAMES = {ADMIN: "ana", SUPPORTER: "kim", CHOSEN: "max", REPORTER: REPORTER_NAME}
FILLERS = 12  # people who join first, so the reporter's member id is not a number a report row holds anyway

WORDS = {
    "count": "Quietly drowning under the quarterly migration",
    "talk": "Pager every night and nobody notices",
    "reach_out": "Conflict with the release process is wearing me down",
}
AUTHOR_MESSAGE = "Thank you, tomorrow after standup works for me"
SUPPORTER_MESSAGE = "I read this and I am here whenever you want"

# Columns whose name alone would suggest a link to a person or an exact moment.
SUSPICIOUS_NAMES = ("member", "user", "author", "platform", "created", "time", "_at", "date", "name")


class Named(Scenario):
    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))


async def stress_tables(database) -> dict[str, list[dict[str, object]]]:
    """Every row of every table whose name starts with ``stress``, read from the live schema."""
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        tables = {}
        for name in sorted(n for n in names if n.startswith("stress")):
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))
            tables[name] = [dict(row._mapping) for row in result]
    return tables


async def report_columns(database) -> list[dict[str, object]]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(lambda sync: inspect(sync).get_columns("stressreport"))


def cells_pointing_at(tables, member_id: int) -> list[tuple[str, str]]:
    """(table, column) of every cell that holds the reporter's member id, platform id or name."""
    found = []
    for table, table_rows in tables.items():
        for row in table_rows:
            for column, value in row.items():
                if value is None:
                    continue
                as_text = str(value)
                if (
                    (isinstance(value, int) and not isinstance(value, bool) and value == member_id)
                    or as_text == str(member_id)
                    or REPORTER in as_text
                    or REPORTER_NAME.casefold() in as_text.casefold()
                ):
                    found.append((table, column))
    return found


@pytest.fixture
async def s(database) -> Scenario:
    scenario = Named(database, START)
    scenario.engine.delivery.pacing = {}
    await scenario.join(ADMIN, "ana", admin=True)
    for index in range(FILLERS):
        await scenario.join(f"U0FILL{index:02d}", f"filler{index:02d}")
    for user in (SUPPORTER, CHOSEN, REPORTER):
        await scenario.join(user, NAMES[user])
    await scenario.command(ADMIN, f"tend support add <@{SUPPORTER}|kim>")
    return scenario


async def reporter_id(database) -> int:
    async with database.engine.connect() as connection:
        result = await connection.execute(
            text("SELECT id FROM member WHERE platform_user_id = :user"), {"user": REPORTER}
        )
        return int(result.scalar_one())


async def run_every_option(s: Scenario, database, checkpoint=None) -> None:
    """Count it, talk (both directions, then close), and reach out (then "I reached out")."""
    base = {"intensity": "4", "category": "workload"}
    await s.submit(REPORTER, "stress.report", {**base, "words": WORDS["count"], "support": "count"})

    await s.submit(REPORTER, "stress.report", {**base, "words": WORDS["talk"], "support": "talk"})
    [ask] = s.sender.directs(SUPPORTER)[-1:]
    token = ask.card.buttons[0].value
    await s.click(SUPPORTER, stress.REPLY, token, direct=True)
    await s.submit(SUPPORTER, stress.MESSAGE_FORM, {"message": SUPPORTER_MESSAGE}, token)
    await s.click(REPORTER, stress.REPLY, token, direct=True)
    await s.submit(REPORTER, stress.MESSAGE_FORM, {"message": AUTHOR_MESSAGE}, token)
    if checkpoint is not None:
        await checkpoint()
    await s.click(REPORTER, stress.CLOSE, token, direct=True)

    await s.submit(
        REPORTER,
        "stress.report",
        {
            **base,
            "category": "conflict",
            "words": WORDS["reach_out"],
            "support": "reach_out",
            "person": CHOSEN,
        },
    )
    [reach] = s.sender.directs(CHOSEN)
    await s.click(CHOSEN, stress.REACHED, reach.card.buttons[0].value, direct=True)
    await s.advance(hours=1)  # a scheduler tick and a delivery pass, as a running server would do


async def test_no_stress_table_holds_anything_that_points_at_the_reporter(s, database):
    member_id = await reporter_id(database)
    assert member_id > FILLERS

    async def while_the_conversation_is_open() -> None:
        tables = await stress_tables(database)
        # Even the open relay holds its author only sealed under the server secret.
        assert cells_pointing_at(tables, member_id) == []

    await run_every_option(s, database, while_the_conversation_is_open)

    columns = {column["name"]: str(column["type"]).upper() for column in await report_columns(database)}
    assert {name for name in columns if any(word in name for word in SUSPICIOUS_NAMES)} == set()
    assert {name for name, type_ in columns.items() if "DATE" in type_ or "TIME" in type_} == set()

    tables = await stress_tables(database)
    assert set(tables) >= {"stressreport", "stressrelay"}
    assert len(tables["stressreport"]) == 3
    assert sorted(row["support"] for row in tables["stressreport"]) == ["count", "reach_out", "talk"]
    assert tables["stressrelay"] == []  # the conversation closed and the chosen person reached out
    assert cells_pointing_at(tables, member_id) == []


async def test_the_reporter_never_appears_in_any_log_line(s, database, caplog):
    member_id = await reporter_id(database)
    # Production logging at its most verbose (TEND_LOG_LEVEL=DEBUG), every logger captured.
    handler = setup_logging("DEBUG", stream=io.StringIO())
    caplog.set_level(logging.DEBUG)
    try:
        await run_every_option(s, database)
        await s.run_until(START + timedelta(days=31), step=timedelta(hours=12))  # reminders, expiry
    finally:
        logging.getLogger().removeHandler(handler)

    formatter = KeyValueFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("event handled" in line for line in lines)  # the capture did see the flow
    assert any("message sent" in line for line in lines)
    secrets = [REPORTER, REPORTER_NAME, AUTHOR_MESSAGE, SUPPORTER_MESSAGE, *WORDS.values()]
    id_field = re.compile(rf"\b(?:\w*(?:member|actor|author|user|reporter)\w*|id)={member_id}\b")
    for line in lines:
        for secret in secrets:
            assert secret.casefold() not in line.casefold(), line
        assert not id_field.search(line), line
