"""The storage guarantees the rest of Tend leans on, checked on every database we support."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from storage.db import Database
from storage.models import Member, Occurrence, Organization, Outbox, Ritual, Shoutout, Workspace
from tests.helpers import at

T0 = at("2025-03-03 09:00")


async def add(database: Database, *rows: object) -> None:
    async with database.session() as session:
        session.add_all(rows)


async def workspace(database: Database, external_id: str = "T001") -> Workspace:
    organization = Organization(name="Acme", created_at=T0)
    await add(database, organization)
    ws = Workspace(organization_id=organization.id, platform="slack", external_id=external_id, created_at=T0)
    await add(database, ws)
    return ws


async def member(database: Database, ws: Workspace, user_id: str) -> Member:
    row = Member(workspace_id=ws.id, platform_user_id=user_id, created_at=T0)
    await add(database, row)
    return row


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite pragmas")
    async with database.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        await add(database, Workspace(organization_id=999, platform="slack", external_id="T1", created_at=T0))


async def test_an_occurrence_is_inserted_once(database: Database) -> None:
    ws = await workspace(database)
    ritual = Ritual(workspace_id=ws.id, kind="gratitude", schedule="FREQ=WEEKLY", created_at=T0)
    await add(database, ritual)
    await add(database, Occurrence(ritual_id=ritual.id, scheduled_at=T0, fired_at=T0))

    # Another replica fires the same slot, spelling the instant in another zone: still the same row.
    with pytest.raises(IntegrityError):
        await add(
            database,
            Occurrence(
                ritual_id=ritual.id,
                scheduled_at=at("2025-03-03 10:00", "Europe/Berlin"),
                fired_at=T0 + timedelta(seconds=5),
            ),
        )

    async with database.session() as session:
        rows = (await session.exec(select(Occurrence))).scalars().all()
    assert [(row.scheduled_at, row.fired_at) for row in rows] == [(T0, T0)]


async def test_outbox_idempotency_key_is_unique(database: Database) -> None:
    ws = await workspace(database)

    def message(payload: str) -> Outbox:
        return Outbox(
            workspace_id=ws.id,
            idempotency_key="ritual:1:2025-03-03T09:00",
            target_kind="channel",
            target_id="C1",
            payload=payload,
            next_attempt_at=T0,
            created_at=T0,
        )

    await add(database, message("first"))
    with pytest.raises(IntegrityError):
        await add(database, message("retry"))
    async with database.session() as session:
        assert (await session.exec(select(Outbox.payload))).scalars().all() == ["first"]


async def test_workspace_is_unique_per_platform_and_external_id(database: Database) -> None:
    ws = await workspace(database, external_id="T001")

    def same_id_on(platform: str) -> Workspace:
        return Workspace(
            organization_id=ws.organization_id, platform=platform, external_id="T001", created_at=T0
        )

    await add(database, same_id_on("teams"))  # another platform may reuse the id
    with pytest.raises(IntegrityError):
        await add(database, same_id_on("slack"))


async def test_aware_datetimes_come_back_as_the_same_instant_in_utc(database: Database) -> None:
    berlin = at("2025-03-30 03:30", "Europe/Berlin")  # just after the spring-forward gap: UTC+2
    await add(database, Organization(name="Acme", created_at=berlin))

    async with database.session() as session:  # a new session: read from the database, not the identity map
        loaded = (await session.exec(select(Organization))).scalars().one()
    assert loaded.created_at == berlin
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


async def test_a_naive_datetime_is_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await add(database, Organization(name="Acme", created_at=datetime(2025, 3, 3, 9, 0)))
    async with database.session() as session:
        assert (await session.exec(select(func.count()).select_from(Organization))).scalar() == 0


async def test_forgetting_a_member_keeps_the_shoutout_but_not_the_names(database: Database) -> None:
    ws = await workspace(database)
    giver, receiver = await member(database, ws, "U1"), await member(database, ws, "U2")
    await add(
        database,
        Shoutout(
            workspace_id=ws.id,
            giver_member_id=giver.id,
            receiver_member_id=receiver.id,
            text="Thanks for covering on-call!",
            created_at=T0,
        ),
    )

    async def shoutout_after_deleting(member_id: int | None) -> Shoutout:
        async with database.session() as session:
            await session.exec(delete(Member).where(Member.id == member_id))
        async with database.session() as session:
            return (await session.exec(select(Shoutout))).scalars().one()

    after_giver = await shoutout_after_deleting(giver.id)
    assert (after_giver.giver_member_id, after_giver.receiver_member_id) == (None, receiver.id)
    after_both = await shoutout_after_deleting(receiver.id)
    assert (after_both.giver_member_id, after_both.receiver_member_id) == (None, None)
    assert after_both.text == "Thanks for covering on-call!"


async def test_stress_reports_have_no_column_that_could_identify_the_author(database: Database) -> None:
    async with database.engine.connect() as connection:
        columns = await connection.run_sync(lambda sync: inspect(sync).get_columns("stressreport"))

    names = {column["name"] for column in columns}
    assert "week" in names  # the only time there is: a coarse bucket
    suspicious = ("member", "user", "author", "platform", "created", "time", "_at", "date")
    assert {name for name in names if any(word in name for word in suspicious)} == set()
    types = {column["name"]: str(column["type"]).upper() for column in columns}
    assert {name for name, type_ in types.items() if "DATE" in type_ or "TIME" in type_} == set()


async def test_two_handles_see_each_others_commits(database_url: str) -> None:
    writer, reader = Database(database_url), Database(database_url)
    try:
        await add(writer, Organization(name="Acme", created_at=T0))
        async with reader.session() as session:
            assert (await session.exec(select(Organization.name))).scalars().all() == ["Acme"]
    finally:
        await writer.dispose()
        await reader.dispose()


async def test_ping_answers_true_when_the_database_is_up(database: Database) -> None:
    assert await database.ping() is True


async def test_ping_answers_false_when_postgres_is_unreachable() -> None:
    unreachable = Database("postgresql://postgres@127.0.0.1:1/tend")
    try:
        assert await unreachable.ping() is False
    finally:
        await unreachable.dispose()


async def test_every_test_starts_empty_with_ids_from_one(database: Database) -> None:
    async with database.session() as session:
        assert (await session.exec(select(func.count()).select_from(Organization))).scalar() == 0
    organization = Organization(name="Acme", created_at=T0)
    await add(database, organization)
    assert organization.id == 1
