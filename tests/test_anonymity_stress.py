"""Playing the attacker against anonymous stress reports and the support relay.

The attacker holds, at four moments (right after a report, while its conversation is open, after it
closed, a month later): a dump of every table, the database files as bytes (SQLite's file and WAL;
PostgreSQL's heap pages with their dead tuples, and every row's ``xmin``), the log at DEBUG, the
member list and the support rota. They do NOT hold ``TEND_SECRET_KEY``. Each attack below is a join
someone tried (or could try) to tie a report, a support request or a relayed message to its author;
each must come up empty. ``test_with_the_secret_key_the_relay_can_be_opened`` shows the evidence is
real: with the key the same dump does name the author while the conversation is open (the documented
residual in docs/privacy.md).

Runs on SQLite and PostgreSQL, with Slack-shaped and Teams-shaped event ids (a Teams id carries a
hash of its conversation, which for a private chat names the person).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import inspect, text

from adapters.teams.translate import event_id as teams_event_id
from bot.addresses import Addresses
from bot.clock import FixedClock
from bot.events import PersonRef
from bot.logs import KeyValueFormatter, setup_logging
from practices import sealing
from practices import stress_reports as stress
from storage.addresses import save_reference
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import POSTGRES_SERVER_URL, create_postgres_database, drop_postgres_database
from tests.helpers import at
from tests.scenario import Scenario

REPORTED_AT = at("2025-03-03 10:03") + timedelta(seconds=17, microseconds=123456)  # a Monday morning
REPORTER, REPORTER_NAME = "U0QUILL42", "Beatrix Quill"
SUPPORTER, OTHER_SUPPORTER, CHOSEN, ADMIN = "U0KIMSUPP", "U0LEESUPP", "U0MAXCHOSEN", "U0ANAADMIN"
NAMES = {ADMIN: "ana", SUPPORTER: "kim", OTHER_SUPPORTER: "lee", CHOSEN: "max", REPORTER: REPORTER_NAME}
FILLERS = 12  # people who joined first, so the reporter's id is not a small number found anywhere

WORDS_TALK = "Pager every night and nobody notices"
WORDS_REACH = "Conflict with the release process is wearing me down"
FROM_SUPPORTER = "I read this and I am here whenever you want"
FROM_AUTHOR = "Thank you, tomorrow after standup works for me"
SECRET_TEXTS = (FROM_SUPPORTER, FROM_AUTHOR)  # relayed messages: never stored readable, at any moment


def personal_chat(user: str) -> str:
    return f"a:1personal-chat-of-{user}"


class Attacked(Scenario):
    """A scenario whose events carry platform-shaped ids, as the adapters give them."""

    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))

    async def _handle(self, event: Any) -> str:
        if getattr(event, "event_id", "absent") is None:
            user = event.origin.actor.user_id
            if self.platform == "teams":  # "<activity id>@<hash of the conversation>"
                activity = {"id": uuid.uuid4().hex, "conversation": {"id": personal_chat(user)}}
                event = replace(event, event_id=teams_event_id(activity))
            else:
                event = replace(event, event_id=f"{uuid.uuid4().hex}")
        return await super()._handle(event)


# --- what the attacker holds -----------------------------------------------------------------------


@dataclass
class Evidence:
    tables: dict[str, list[dict[str, object]]]
    raw: bytes  # every byte of the database's files / heap pages, dead rows included
    xmins: dict[str, list[tuple[int, dict[str, object]]]] = field(default_factory=dict)  # PostgreSQL

    def rows(self) -> list[tuple[str, dict[str, object]]]:
        return [(name, row) for name, rows in self.tables.items() for row in rows]


async def take(database: Database, url: str) -> Evidence:
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        tables = {}
        for name in sorted(names):
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))
            tables[name] = [dict(row._mapping) for row in result]
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        return Evidence(tables, raw)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CHECKPOINT")  # nothing needed: pages are read through the buffer
        raw_parts, xmins = [], {}
        for name in tables:
            blocks = await connection.fetchval(f"SELECT pg_relation_size('\"{name}\"') / 8192")
            for block in range(int(blocks)):
                raw_parts.append(await connection.fetchval("SELECT get_raw_page($1, $2)", name, block))
            live = await connection.fetch(f'SELECT xmin::text::bigint AS xmin_, * FROM "{name}"')
            xmins[name] = [(row["xmin_"], {k: v for k, v in row.items() if k != "xmin_"}) for row in live]
        return Evidence(tables, b"".join(raw_parts), xmins)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_url(request, tmp_path, sqlite_template) -> AsyncIterator[str]:
    """A database no other test wrote to, so its bytes and dead rows are this flow's alone."""
    if request.param == "sqlite":
        path = tmp_path / "tend.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if not POSTGRES_SERVER_URL:
        pytest.skip("TEND_TEST_POSTGRES_URL not set")
    url = await create_postgres_database()
    try:
        await upgrade(url)
        connection = await asyncpg.connect(url)
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        await connection.close()
        yield url
    finally:
        await drop_postgres_database(url)


@dataclass
class Flow:
    s: Attacked
    database: Database
    url: str
    reporter_id: int
    rota_ids: set[int]
    evidence: dict[str, Evidence] = field(default_factory=dict)
    report_tx: set[int] = field(default_factory=set)  # xmin of the report's and relay's rows
    tokens: list[str] = field(default_factory=list)

    async def checkpoint(self, moment: str) -> None:
        found = await take(self.database, self.url)
        self.evidence[moment] = found
        for name in ("stressreport", "stressrelay"):
            self.report_tx |= {xmin for xmin, _ in found.xmins.get(name, [])}


async def member_id(database: Database, user: str) -> int:
    async with database.engine.connect() as connection:
        result = await connection.execute(
            text("SELECT id FROM member WHERE platform_user_id = :user"), {"user": user}
        )
        return int(result.scalar_one())


async def run_flow(url: str, platform: str, *, reporter_on_rota: bool = False) -> Flow:
    database = Database(url)
    s = Attacked(database, REPORTED_AT - timedelta(days=3), platform=platform)
    s.engine.delivery.pacing = {}
    await s.join(ADMIN, "ana", tz="Europe/Berlin", admin=True)
    for index in range(FILLERS):
        await s.join(f"U0FILL{index:02d}", f"filler{index:02d}", tz="Europe/Berlin")
    for user in (SUPPORTER, OTHER_SUPPORTER, CHOSEN):
        await s.join(user, NAMES[user], tz="Europe/Berlin")
    rota = [SUPPORTER, OTHER_SUPPORTER, *([REPORTER] if reporter_on_rota else [])]
    if reporter_on_rota:
        await s.join(REPORTER, REPORTER_NAME, tz="Europe/Berlin")
    for user in rota:
        await s.command(ADMIN, f"tend support add <@{user}|{NAMES[user]}>")
    async with database.session() as session:  # where Teams would write back later (the adapter's job)
        for user in NAMES:
            await save_reference(
                session, 1, "person", user, f'{{"conversation": "{personal_chat(user)}"}}', s.clock.now()
            )
        await session.commit()

    # First contact through the check-in card's "I could use support" button, then the form.
    s.clock.set(REPORTED_AT - timedelta(minutes=2))
    await s.click(REPORTER, stress.START)
    if not reporter_on_rota:  # the platform's profile, looked up after the click's ack (as adapters do)
        await s.join(REPORTER, REPORTER_NAME, tz="Europe/Berlin")
    s.clock.set(REPORTED_AT)
    flow = Flow(s, database, url, await member_id(database, REPORTER), set())
    flow.rota_ids = {await member_id(database, user) for user in rota}
    base = {"intensity": "4", "category": "workload"}
    await s.submit(REPORTER, stress.REPORT_FORM, {**base, "words": WORDS_TALK, "support": "talk"})
    await s.tick()
    await flow.checkpoint("right after the report")

    [ask] = [d for d in s.sender.directs(SUPPORTER) if d.card.title == stress.ASK_TITLE]
    token = ask.card.buttons[0].value
    flow.tokens.append(token)
    s.clock.advance(timedelta(minutes=7, seconds=3))
    await s.click(SUPPORTER, stress.REPLY, token, direct=True)
    await s.submit(SUPPORTER, stress.MESSAGE_FORM, {"message": FROM_SUPPORTER}, token)
    s.clock.advance(timedelta(minutes=4, seconds=41))
    await s.submit(REPORTER, stress.MESSAGE_FORM, {"message": FROM_AUTHOR}, token)
    await flow.checkpoint("while the conversation is open, before delivery")
    await s.tick()
    await flow.checkpoint("while the conversation is open")
    s.clock.advance(timedelta(minutes=9))
    await s.click(REPORTER, stress.CLOSE, token, direct=True)
    await s.advance(hours=1)
    await flow.checkpoint("after it closed")

    await s.submit(
        REPORTER,
        stress.REPORT_FORM,
        {**base, "category": "conflict", "words": WORDS_REACH, "support": "reach_out", "person": CHOSEN},
    )
    await flow.checkpoint("right after a reach-out request")
    await s.tick()
    [reach] = s.sender.directs(CHOSEN)
    flow.tokens.append(reach.card.buttons[0].value)
    await s.click(CHOSEN, stress.REACHED, reach.card.buttons[0].value, direct=True)
    await s.run_until(s.clock.now() + timedelta(days=31), step=timedelta(hours=12))
    await flow.checkpoint("a month later")
    return flow


# --- the attacks ------------------------------------------------------------------------------------


def identifies_reporter(flow: Flow, value: object) -> bool:
    if value is None or isinstance(value, bool):
        return False
    as_text = str(value)
    return (
        (isinstance(value, int) and value == flow.reporter_id)
        or REPORTER in as_text
        or REPORTER_NAME.casefold() in as_text.casefold()
        or personal_chat(REPORTER) in as_text
    )


def about_a_report(flow: Flow, row: dict[str, object]) -> bool:
    """A row an attacker can tie to a report: it holds the report's words, a relay token or a message."""
    cells = " ".join(str(value) for value in row.values())
    markers = (WORDS_TALK, WORDS_REACH, *SECRET_TEXTS, *flow.tokens)
    return any(marker in cells for marker in markers)


def attack_rows_naming_both(flow: Flow, evidence: Evidence) -> list[str]:
    """One row that holds both a report (or its conversation) and the author."""
    found = []
    for table, row in evidence.rows():
        if table in ("stressreport", "stressrelay") or about_a_report(flow, row):
            named = [column for column, value in row.items() if identifies_reporter(flow, value)]
            if named:
                found.append(f"{table}.{named}")
    return found


def attack_messages_to_the_reporter(flow: Flow, evidence: Evidence) -> list[dict[str, object]]:
    """Everyone who received a private message around a support reply is a suspect: the relay's
    messages to the author must not be readable as messages to them."""
    return [
        row
        for row in evidence.tables["outbox"]
        if row["target_kind"] == "person" and row["target_id"] == str(flow.reporter_id)
    ]


def attack_bytes(flow: Flow, evidence: Evidence) -> list[str]:
    """The files themselves: relayed words, the old closing key, the author's id in an inner JSON."""
    found = [secret for secret in SECRET_TEXTS if secret.encode() in evidence.raw]
    for marker in (b"stress-closed:", b"stress-ask:", f'"member": {flow.reporter_id}'.encode()):
        if marker in evidence.raw:
            found.append(marker.decode())
    return found


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", value):
        return datetime.fromisoformat(value)
    return None


def attack_times(flow: Flow, evidence: Evidence) -> list[str]:
    """Rows that name a person and carry a time within a minute of the report: the person is a
    suspect unless they are on the rota (who are all asked at that moment)."""
    moment = REPORTED_AT.replace(tzinfo=None)
    found = []
    for table, row in evidence.rows():
        near = [
            column
            for column, value in row.items()
            if (when := _moment(value)) is not None
            and abs(when.replace(tzinfo=None) - moment) < timedelta(minutes=1)
        ]
        if not near:
            continue
        people: set[int] = set()
        if table == "member":
            people.add(int(str(row["id"])))
        if table == "outbox" and row["target_kind"] == "person":
            people.add(int(str(row["target_id"])))
        if any(identifies_reporter(flow, value) for value in row.values()) or people - flow.rota_ids:
            found.append(f"{table}.{near}")
    return found


def attack_coarse_times(evidence: Evidence) -> list[str]:
    """Times that anonymous rows (and first-contact rows) must not keep finer than an hour or a day."""
    found = []
    for row in evidence.tables["stressrelay"]:
        for column in ("support_due_at", "expires_at"):
            when = _moment(row[column])
            if when is None or (when.minute, when.second, when.microsecond) != (0, 0, 0):
                found.append(f"stressrelay.{column}={row[column]}")
    for row in evidence.tables["member"]:
        when = _moment(row["created_at"])
        if when is None or (when.hour, when.minute, when.second, when.microsecond) != (0, 0, 0, 0):
            found.append(f"member.created_at={row['created_at']}")
    for row in evidence.tables["processedevent"]:
        when = _moment(row["received_at"])
        if when is None or (when.minute, when.second, when.microsecond) != (0, 0, 0):
            found.append(f"processedevent.received_at={row['received_at']}")
    return found


def attack_event_ids(flow: Flow, evidence: Evidence) -> list[str]:
    """Teams event ids end in a hash of the conversation: hash each person's private chat (from the
    stored conversation references) and look for it among the handled events."""
    digest = hashlib.sha256(personal_chat(REPORTER).encode()).hexdigest()[:16]
    return [
        str(row["event_id"])
        for row in evidence.tables["processedevent"]
        if digest in str(row["event_id"]) or REPORTER in str(row["event_id"])
    ] + ([digest] if digest.encode() in evidence.raw else [])


def attack_transactions(flow: Flow, evidence: Evidence) -> list[str]:
    """PostgreSQL: rows written in the same transaction as a report or its relay (same ``xmin``)."""
    found = []
    for table, rows in evidence.xmins.items():
        for xmin, row in rows:
            if xmin not in flow.report_tx:
                continue
            if table in ("member", "conversationref", "teammembership") or any(
                identifies_reporter(flow, value) for value in row.values()
            ):
                found.append(f"{table} shares xmin {xmin} with a report")
            if (
                table == "outbox"
                and row["target_kind"] == "person"
                and row["target_id"] == str(flow.reporter_id)
            ):
                found.append("outbox row to the reporter shares a report's transaction")
    return found


ATTACKS = {
    "a row naming both the report and its author": attack_rows_naming_both,
    "a message readable as sent to the author": attack_messages_to_the_reporter,
    "the files' bytes": attack_bytes,
    "timing": attack_times,
    "event ids": attack_event_ids,
    "transactions": attack_transactions,
}


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_no_dump_at_any_moment_ties_a_report_or_a_relayed_message_to_its_author(fresh_url, platform):
    flow = await run_flow(fresh_url, platform)
    try:
        assert set(flow.evidence) == {
            "right after the report",
            "while the conversation is open, before delivery",
            "while the conversation is open",
            "after it closed",
            "right after a reach-out request",
            "a month later",
        }
        assert any(flow.evidence["right after the report"].tables["stressrelay"])  # the attack had a target
        for moment, evidence in flow.evidence.items():
            for name, attack in ATTACKS.items():
                assert attack(flow, evidence) in ([], set()), f"{name} at {moment!r}"
            assert attack_coarse_times(evidence) == [], moment
        # The relayed messages did reach both people (the sealing hides them, it does not drop them).
        assert any(FROM_SUPPORTER in d.card.fallback for d in flow.s.sender.directs(REPORTER))
        assert any(FROM_AUTHOR in d.card.fallback for d in flow.s.sender.directs(SUPPORTER))
    finally:
        await flow.database.dispose()


async def test_a_reporter_on_the_rota_is_not_singled_out_by_being_left_out(fresh_url):
    flow = await run_flow(fresh_url, "slack", reporter_on_rota=True)
    try:
        asks = [d for d in flow.s.sender.sent if d.card.title == stress.ASK_TITLE]
        assert {d.target for d in asks} == {SUPPORTER, OTHER_SUPPORTER, REPORTER}
        evidence = flow.evidence["right after the report"]
        asked = {
            int(str(row["target_id"]))
            for row in evidence.tables["outbox"]
            if row["target_kind"] == "person"
            and int(str(row["target_id"])) in flow.rota_ids
            and str(row["idempotency_key"]).startswith(("slack:", "teams:"))
        }
        assert asked == flow.rota_ids  # every rota member, the author included: nobody is missing
    finally:
        await flow.database.dispose()


async def test_with_the_secret_key_the_relay_can_be_opened(fresh_url):
    """The control: the same dump plus TEND_SECRET_KEY does name the author while the relay lives,
    so the attacks above fail because of the sealing, not because the evidence is empty."""
    flow = await run_flow(fresh_url, "slack")
    try:
        [relay] = flow.evidence["right after the report"].tables["stressrelay"]
        assert (
            sealing.unseal_id(sealing.PROCESS_KEY, stress.AUTHOR, str(relay["author_seal"]))
            == flow.reporter_id
        )
        assert (
            sealing.unseal_id(sealing.new_key_text().encode(), stress.AUTHOR, str(relay["author_seal"]))
            is None
        )
        assert flow.evidence["a month later"].tables["stressrelay"] == []  # and then it is gone
    finally:
        await flow.database.dispose()


async def test_the_reporter_never_appears_in_a_log_line(fresh_url, caplog):
    handler = setup_logging("DEBUG", stream=io.StringIO())
    caplog.set_level(logging.DEBUG)
    try:
        flow = await run_flow(fresh_url, "teams")
        await flow.database.dispose()
    finally:
        logging.getLogger().removeHandler(handler)
    formatter = KeyValueFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("event handled" in line for line in lines) and any("message sent" in line for line in lines)
    id_field = re.compile(rf"\b(?:\w*(?:member|actor|author|user|reporter)\w*|id)={flow.reporter_id}\b")
    digest = hashlib.sha256(personal_chat(REPORTER).encode()).hexdigest()[:16]
    for line in lines:
        for secret in (REPORTER, REPORTER_NAME, digest, WORDS_TALK, WORDS_REACH, *SECRET_TEXTS):
            assert secret.casefold() not in line.casefold(), line
        assert not id_field.search(line), line


async def test_a_teams_activity_does_not_restamp_the_persons_chat_reference(database):
    """Teams refreshes references on every activity; rewriting a person's chat reference each time
    would stamp the moment of each thing they did (an anonymous submission included) on a row that
    names them. Unchanged, it is not written at all; changed, it keeps only the day."""
    clock = FixedClock(REPORTED_AT - timedelta(days=2))
    addresses = Addresses(database, clock, "teams")
    reference = {"conversation": {"id": personal_chat(REPORTER)}, "serviceUrl": "https://smba.example/"}
    await addresses.remember("tenant-1", "person", REPORTER, reference)

    async def stamp() -> tuple[object, object]:
        async with database.engine.connect() as connection:
            xmin = "xmin::text" if database.engine.dialect.name == "postgresql" else "rowid"
            row = (
                await connection.execute(
                    text(f"SELECT updated_at, {xmin} FROM conversationref WHERE key = :k"), {"k": REPORTER}
                )
            ).one()
        return row[0], row[1]

    before = await stamp()
    clock.set(REPORTED_AT)  # the moment of an anonymous submission from their private chat
    await addresses.remember("tenant-1", "person", REPORTER, reference)
    assert await stamp() == before  # not even a new row version on PostgreSQL
    clock.set(REPORTED_AT + timedelta(minutes=5))
    await addresses.remember("tenant-1", "person", REPORTER, {**reference, "serviceUrl": "https://other/"})
    updated_at, _ = await stamp()
    assert _moment(updated_at) == REPORTED_AT.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


async def test_what_sqlite_deleted_leaves_no_bytes_once_the_hourly_checkpoint_ran(tmp_path, sqlite_template):
    """SQLite zeroes deleted rows in its file, but its WAL keeps the pages as they were until a
    checkpoint writes over them; the scheduler's hourly truncating checkpoint ends that."""
    path = tmp_path / "tend.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    s = Attacked(database, REPORTED_AT)
    s.engine.delivery.pacing = {}
    try:
        await s.join(ADMIN, "ana", tz="Europe/Berlin", admin=True)
        for user in (SUPPORTER, REPORTER):
            await s.join(user, NAMES[user], tz="Europe/Berlin")
        await s.command(ADMIN, f"tend support add <@{SUPPORTER}|kim>")
        marker = "a marker only this report's words hold"
        await s.submit(REPORTER, stress.REPORT_FORM, {"intensity": "2", "category": "other", "words": marker,
                                                        "support": "talk"})  # fmt: skip
        [ask] = [d for d in s.sender.directs(SUPPORTER) if d.card.title == stress.ASK_TITLE]
        token = ask.card.buttons[0].value
        await s.submit(SUPPORTER, stress.MESSAGE_FORM, {"message": "here"}, token)
        await s.click(REPORTER, stress.CLOSE, token, direct=True)
        files = (path, Path(f"{path}-wal"))

        def leftovers() -> bytes:
            return b"".join(p.read_bytes() for p in files if p.exists())

        assert token.encode() in leftovers()  # the closed relay's row, as the WAL still holds it
        await s.advance(hours=1)  # the scheduler's hourly clean-up
        assert token.encode() not in leftovers()
        assert marker.encode() in leftovers()  # the report itself stays (anonymous, by design)
    finally:
        await database.dispose()
