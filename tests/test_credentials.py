"""Platform credentials at rest, key rotation, and settings that never print a secret.

Played as an attacker holding the database (a logical dump, the SQLite files) but not TEND_SECRET_KEY:
Slack installs Tend through the real OAuth flow against the fake Web API, and no token, refresh token
or part of one is found. Then as an operator: ``python app.py rotate-key`` re-seals every sealed
value and credential under a new key while the old one still reads, and after it the new key alone
opens everything.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import text
from sqlmodel import select

from adapters.slack.oauth import INSTALL_PATH, REDIRECT_PATH, STORE_TABLES, reseal_credentials, slack_oauth
from bot import inbound
from bot.chart_links import check, signed_query
from bot.credentials import PREFIX, CredentialKeyMissing, open_credential, seal_credential
from bot.delivery import SEALED_PURPOSE
from bot.engine import Engine
from bot.errors import SettingsError
from bot.events import Origin, PersonRef, WorkspaceRemoved
from bot.key_rotation import rotate
from bot.settings import ECHOED, Settings, load_settings
from practices import signals
from practices.meeting_openers import open_score, seal_score, voter_for, voter_key
from practices.sealing import Keyring, digest, digests, new_key_text, reseal, seal, seal_id, unseal, unseal_id
from practices.stress_reports import AUTHOR, SUPPORTER
from storage import openers
from storage import signals as storage_signals
from storage.db import Database
from storage.external import ExternalTables
from storage.models import (
    Contributor,
    Inbound,
    Occurrence,
    OpenerAnswer,
    Organization,
    Outbox,
    ProcessedEvent,
    Ritual,
    StressRelay,
    StressReport,
    Workspace,
)
from tests.dumps import dump, raw_bytes
from tests.fake_slack_api import FakeSlackApi
from tests.test_app import APP, clean_env, free_port
from tests.test_health import until

OLD = Keyring(new_key_text().encode())
NEW_TEXT, OLD_TEXT = new_key_text(), OLD.decode()
NEW = Keyring(NEW_TEXT.encode(), [OLD])  # after the switch: the new key seals, the old one still reads
NEW_ONLY = Keyring(NEW_TEXT.encode())
CLIENT_ID, CLIENT_SECRET, SIGNING = "1111.2222", "oauth-client-secret-0123456789", "credentials-signing"
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def fragments(token: str, size: int = 12) -> set[str]:
    """Every run of ``size`` characters of a token: an attacker needs no whole token to be helped."""
    return {token[i : i + size] for i in range(len(token) - size + 1)}


# --- the keyring -------------------------------------------------------------------------------------


def test_a_keyring_seals_with_its_current_key_and_opens_with_every_key():
    old_sealed = seal(OLD, "p", "value")
    assert unseal(NEW, "p", old_sealed) == "value"  # the previous key still reads
    assert unseal(NEW_ONLY, "p", old_sealed) is None
    new_sealed = seal(NEW, "p", "value")
    assert unseal(NEW_ONLY, "p", new_sealed) == "value" and unseal(OLD, "p", new_sealed) is None
    assert unseal_id(NEW, AUTHOR, seal_id(OLD, AUTHOR, 42)) == 42
    assert NEW_TEXT not in repr(NEW) and OLD_TEXT not in repr(NEW)


def test_reseal_moves_a_value_to_the_current_key_and_leaves_the_rest():
    moved = reseal(NEW, "p", seal(OLD, "p", "value"))
    assert moved is not None and unseal(NEW_ONLY, "p", moved) == "value"
    assert reseal(NEW, "p", seal(NEW, "p", "value")) is None  # already current
    assert reseal(NEW, "p", seal(Keyring(new_key_text().encode()), "p", "value")) is None  # no key opens it


def test_digests_give_the_current_key_first_then_the_previous_ones():
    assert digests(NEW, "voter", 1, "U1") == (
        digest(NEW_ONLY, "voter", 1, "U1"),
        digest(OLD, "voter", 1, "U1"),
    )
    assert digest(NEW, "voter", 1, "U1") == digest(NEW_ONLY, "voter", 1, "U1")


def test_a_credential_is_bound_to_its_purpose_and_never_stored_without_a_key():
    sealed = seal_credential(NEW, "credential/slack/bot_token/-/T1", "xoxb-secret")
    assert sealed is not None and sealed.startswith(PREFIX) and "xoxb" not in sealed
    assert open_credential(NEW_ONLY, "credential/slack/bot_token/-/T1", sealed) == "xoxb-secret"
    assert open_credential(NEW, "credential/slack/bot_token/-/T2", sealed) is None  # another workspace's row
    assert open_credential(None, "any", "xoxb-plain-from-before") == "xoxb-plain-from-before"
    with pytest.raises(CredentialKeyMissing):
        seal_credential(None, "credential/slack/bot_token/-/T1", "xoxb-secret")


# --- Slack tokens at rest -----------------------------------------------------------------------------


async def fresh_stores(database: Database) -> None:
    """The PostgreSQL test database is shared by a session: slack_sdk's tables start empty here."""
    async with database.engine.begin() as connection:
        for table in STORE_TABLES:
            exists = await connection.run_sync(lambda sync, table=table: sync.dialect.has_table(sync, table))
            if exists:
                await connection.execute(text(f"DELETE FROM {table}"))


def installation(team_id: str, token: str, refresh: str | None = None) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team_id,
        team_name=team_id,
        bot_token=token,
        bot_id=f"B{team_id}",
        bot_user_id=f"UBOT{team_id}",
        bot_scopes="commands,chat:write",
        bot_refresh_token=refresh,
        bot_token_expires_at=int(NOW.timestamp()) + 43200 if refresh else None,
        user_id="U1",
    )


async def test_tokens_are_sealed_in_the_tables_and_open_through_the_store(database: Database):
    fake = FakeSlackApi()
    await fake.start()
    oauth = await slack_oauth(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_url=fake.api_url,
        tables=ExternalTables(database.engine),
        secret_key=NEW,
    )  # fmt: skip
    try:
        await fresh_stores(database)
        long_token = "xoxe.xoxb-1-" + "A" * 190  # sealed, it is longer than slack_sdk's VARCHAR(200)
        refresh = "xoxe-1-" + "R" * 190
        await oauth.installations.async_save(installation("T7", long_token, refresh))
        found = await oauth.installations.async_find_installation(enterprise_id=None, team_id="T7")
        assert found is not None and (found.bot_token, found.bot_refresh_token) == (long_token, refresh)
        bot = await oauth.installations.async_find_bot(enterprise_id=None, team_id="T7")
        assert bot is not None and bot.bot_token == long_token
        rows = await dump(database)
        text_of_rows = json.dumps({t: rows[t] for t in STORE_TABLES if t in rows}, default=str)
        assert not [part for part in fragments(long_token) | fragments(refresh) if part in text_of_rows]
        assert text_of_rows.count(PREFIX) == 4  # bot and refresh token, in both tables
    finally:
        await oauth.session.close()
        await fake.stop()


async def test_tokens_stored_in_plain_text_before_are_sealed_at_the_first_start_with_a_key(
    database: Database,
):
    plain_store = AsyncSQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=database.engine)
    async with database.engine.begin() as connection:
        await connection.run_sync(plain_store.metadata.create_all)
    await fresh_stores(database)
    await plain_store.async_save(installation("T8", "xoxb-plain-token-from-last-year"))

    oauth = await slack_oauth(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_url="http://127.0.0.1:9/api/",
        tables=ExternalTables(database.engine),
    )  # fmt: skip
    try:
        counts = await oauth.use_key(NEW)
        assert counts["sealed"] == 2  # the installation's bot token and the bot row's
        rows = json.dumps(await dump(database), default=str)
        assert "xoxb-plain-token-from-last-year" not in rows
        found = await oauth.installations.async_find_installation(enterprise_id=None, team_id="T8")
        assert found is not None and found.bot_token == "xoxb-plain-token-from-last-year"
        assert (await oauth.use_key(NEW))["sealed"] == 0  # the next start finds nothing left to do
    finally:
        await oauth.session.close()


async def test_without_a_key_no_token_is_stored(database: Database):
    oauth = await slack_oauth(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_url="http://127.0.0.1:9/api/",
        tables=ExternalTables(database.engine),
    )  # fmt: skip
    try:
        await fresh_stores(database)
        with pytest.raises(CredentialKeyMissing):
            await oauth.installations.async_save(installation("T9", "xoxb-never-stored"))
        assert "xoxb-never-stored" not in json.dumps(await dump(database), default=str)
    finally:
        await oauth.session.close()


# --- the attacker: a real install through python app.py serve, then the files -------------------------


async def install_through(url: str, fake: FakeSlackApi, team_id: str) -> None:
    """What a person's browser does: the install page, Slack's approval (the fake), the redirect."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url + INSTALL_PATH) as page:
            body = await page.text()
            cookie = page.headers.get("Set-Cookie", "").split(";", 1)[0]
        [link] = re.findall(r'<a href="([^"]+)"', body)
        [state] = parse_qs(urlparse(link.replace("&amp;", "&")).query)["state"]
        code = fake.install_code(team_id, "Acme", rotating=True)
        params = {"code": code, "state": state}
        async with http.get(url + REDIRECT_PATH, params=params, headers={"Cookie": cookie}) as done:
            assert done.status == 200 and "Tend is installed" in await done.text()


async def test_a_dump_and_the_files_of_a_real_install_hold_no_usable_token(tmp_path: Path):
    fake = FakeSlackApi()
    await fake.start()
    port = free_port()
    database_url = f"sqlite:///{tmp_path}/tend.db"
    env = clean_env(
        DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port), TEND_SECRET_KEY=NEW_TEXT,
        SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SIGNING,
        SLACK_API_URL=fake.api_url,
    )  # fmt: skip
    log = tmp_path / "tend.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, APP, "serve", cwd=tmp_path, env=env, stdout=output, stderr=output
        )
    try:
        await until(port, "/livez", 200)
        await install_through(f"http://127.0.0.1:{port}", fake, "T1")
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
        await fake.stop()
    [token] = fake.issued_for("T1")
    [refresh] = [r for r, team in {**fake.refresh_tokens}.items() if team == "T1"]
    secrets = fragments(token) | fragments(refresh) | fragments(NEW_TEXT)

    database = Database(database_url)
    try:
        logical = json.dumps(await dump(database), default=str)
        files = b"".join((await raw_bytes(database)).values()).decode("latin-1")
    finally:
        await database.dispose()
    with sqlite3.connect(tmp_path / "tend.db") as connection:
        sql_dump = "\n".join(connection.iterdump())
    for where in (logical, files, sql_dump, log.read_text()):
        assert not [part for part in secrets if part in where]
    assert PREFIX in logical  # the installation is there, sealed


def test_serving_slack_oauth_without_a_key_stops_with_one_line(tmp_path: Path):
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/tend.db", HOST="127.0.0.1", PORT=str(free_port()),
        TEND_SECRET_KEY="", SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING,
    )  # fmt: skip
    for command in ([], ["serve"]):  # `python app.py` serves when Slack is configured
        result = subprocess.run([sys.executable, APP, *command], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 2
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("Tend cannot start: TEND_SECRET_KEY: required")


# --- rotation -----------------------------------------------------------------------------------------


async def sealed_under(database: Database, keys: bytes) -> dict[str, Any]:
    """One of every sealed value Tend keeps, sealed under ``keys``; returns what each holds."""
    async with database.session() as session:
        org = Organization(name="Acme", created_at=NOW)
        session.add(org)
        await session.flush()
        workspace = Workspace(organization_id=org.id or 0, platform="slack", external_id="T1", created_at=NOW)
        session.add(workspace)
        await session.flush()
        report = StressReport(organization_id=org.id or 0, intensity=3, category="workload", week="2025-W10")
        session.add(report)
        await session.flush()
        session.add(
            StressRelay(
                token="relay-1", report_id=report.id or 0, author_seal=seal_id(keys, AUTHOR, 11),
                supporter_seal=seal_id(keys, SUPPORTER, 12), support_due_at=NOW,
                expires_at=NOW + timedelta(days=2),
            )
        )  # fmt: skip
        ritual = Ritual(workspace_id=workspace.id or 0, kind="opener", schedule="mon 09:25", created_at=NOW)
        session.add(ritual)
        await session.flush()
        occurrence = Occurrence(ritual_id=ritual.id or 0, scheduled_at=NOW, fired_at=NOW)
        session.add(occurrence)
        await session.flush()
        voter = voter_key(keys, occurrence.id or 0, "U5")
        score = seal_score(keys, occurrence.id or 0, voter, 4)
        session.add(OpenerAnswer(occurrence_id=occurrence.id or 0, voter_key=voter, sealed_score=score))
        payload = json.dumps({"member": 13, "card": {}, "hours": True})
        session.add(
            Outbox(
                workspace_id=workspace.id or 0, idempotency_key="sealed-1", target_kind="sealed",
                target_id="", payload=seal(keys, SEALED_PURPOSE, payload), next_attempt_at=NOW,
                created_at=NOW,
            )
        )  # fmt: skip
        session.add(Inbound(platform="slack", payload=seal(keys, inbound.SEALED_PURPOSE, "{}"), sealed=True))
    return {"occurrence": occurrence.id, "voter": voter, "payload": payload}


async def opened_with(database: Database, keys: bytes, held: dict[str, Any]) -> dict[str, Any]:
    async with database.session() as session:
        relay = (await session.exec(select(StressRelay))).one()
        answer = (await session.exec(select(OpenerAnswer))).one()
        row = (await session.exec(select(Outbox))).one()
        queued = (await session.exec(select(Inbound))).one()
    return {
        "inbound": unseal(keys, inbound.SEALED_PURPOSE, queued.payload),
        "author": unseal_id(keys, AUTHOR, relay.author_seal),
        "supporter": unseal_id(keys, SUPPORTER, relay.supporter_seal),
        "score": open_score(keys, held["occurrence"], answer.voter_key, answer.sealed_score),
        "payload": unseal(keys, SEALED_PURPOSE, row.payload),
    }


async def test_rotation_reseals_everything_so_the_new_key_alone_opens_it(database: Database):
    held = await sealed_under(database, OLD)
    oauth = await slack_oauth(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_url="http://127.0.0.1:9/api/",
        tables=ExternalTables(database.engine), secret_key=OLD,
    )  # fmt: skip
    try:
        await fresh_stores(database)
        await oauth.installations.async_save(installation("T1", "xoxb-rotate-me", "xoxe-1-refresh-me"))
        expected = {"author": 11, "supporter": 12, "score": 4, "payload": held["payload"], "inbound": "{}"}
        assert await opened_with(database, NEW, held) == expected  # before: the old key still reads
        assert (await opened_with(database, NEW_ONLY, held))["author"] is None

        report = await rotate(database, NEW, {"slack credentials": reseal_credentials})

        assert {name: counts["resealed"] for name, counts in report.items()} == {
            "relay.author": 1, "relay.supporter": 1, "opener.score": 1, "outbox.sealed": 1,
            "inbound.sealed": 1, "slack credentials": 4,
        }  # fmt: skip
        assert await opened_with(database, NEW_ONLY, held) == expected
        assert (await opened_with(database, OLD, held))["author"] is None
        oauth.installations.secret = NEW_ONLY
        found = await oauth.installations.async_find_installation(enterprise_id=None, team_id="T1")
        assert found is not None and (found.bot_token, found.bot_refresh_token) == (
            "xoxb-rotate-me",
            "xoxe-1-refresh-me",
        )
        again = await rotate(database, NEW, {"slack credentials": reseal_credentials})
        assert all(counts["resealed"] == 0 and counts["current"] >= 1 for counts in again.values())
    finally:
        await oauth.session.close()


def test_python_app_py_rotate_key_reports_and_fails_on_what_no_key_opens(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path}/tend.db"
    subprocess.run([sys.executable, APP, "migrate"], cwd=tmp_path, env=clean_env(DATABASE_URL=database_url),
                   check=True, capture_output=True, timeout=60)  # fmt: skip

    async def prepare() -> None:
        database = Database(database_url)
        try:
            await sealed_under(database, OLD)
        finally:
            await database.dispose()

    asyncio.run(prepare())
    base = clean_env(DATABASE_URL=database_url, TEND_SECRET_KEY=NEW_TEXT)

    without_old = subprocess.run([sys.executable, APP, "rotate-key"], cwd=tmp_path, env=base,
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
    assert without_old.returncode == 1
    assert "TEND_PREVIOUS_SECRET_KEYS" in without_old.stderr and "Traceback" not in without_old.stderr

    rotated = subprocess.run([sys.executable, APP, "rotate-key"], cwd=tmp_path,
                             env={**base, "TEND_PREVIOUS_SECRET_KEYS": OLD_TEXT},
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert "relay.author: 1 sealed under the new key" in rotated.stdout
    assert OLD_TEXT not in rotated.stdout + rotated.stderr and NEW_TEXT not in rotated.stdout + rotated.stderr

    unset = {**base, "TEND_SECRET_KEY": ""}
    no_key = subprocess.run([sys.executable, APP, "rotate-key"], cwd=tmp_path, env=unset,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert no_key.returncode == 2 and "TEND_SECRET_KEY is not set" in no_key.stderr


# --- settings never print a secret --------------------------------------------------------------------

PASSWORD = "Sup3rS3cretPw"
BAD_VALUES = {
    "TEND_PUBLIC_URL": f"https://tend:{PASSWORD}@tend.example.com",
    "DATABASE_URL": f"tend:{PASSWORD}@db.example.com/tend",  # no scheme: no masking could find it
    "SLACK_API_URL": f"slack.example.com/api?token={PASSWORD}",
    "TEAMS_OPENID_METADATA_URL": f"ftp://bot:{PASSWORD}@login.example.com/oid",
    "TEAMS_LOGIN_URL": f"login.example.com/{PASSWORD}",
    "TEAMS_TOKEN_ISSUER": " ",
    "TEND_SECRET_KEY": PASSWORD,
    "TEND_PREVIOUS_SECRET_KEYS": f"{'k' * 32},{PASSWORD}",
    "HOST": " ",
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_bad_setting_is_named_and_its_value_never_printed(name: str):
    with pytest.raises(SettingsError) as caught:
        load_settings(env={name: BAD_VALUES[name]}, env_file=None)
    message = str(caught.value)
    assert f"{name}:" in message
    assert PASSWORD not in message


def test_only_settings_that_cannot_hold_a_secret_are_ever_echoed():
    secret_like = {"database_url", "slack_client_id", "microsoft_app_id", "microsoft_app_tenant_id"}
    urls = {name for name in Settings.model_fields if "url" in name or "issuer" in name}
    secrets = {name for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)}
    assert not ECHOED & (secret_like | urls | secrets)
    assert set(Settings.model_fields) >= ECHOED


def test_a_public_url_with_credentials_stops_python_app_py_without_printing_them(tmp_path: Path):
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/tend.db", TEND_PUBLIC_URL=BAD_VALUES["TEND_PUBLIC_URL"]
    )
    result = subprocess.run([sys.executable, APP, "serve"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "TEND_PUBLIC_URL" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_url_passwords_are_masked_in_the_settings_repr_and_the_log_filter():
    settings = load_settings(
        env={"SLACK_API_URL": f"https://bot:{PASSWORD}@slack.example.com/api/", "TEND_SECRET_KEY": "k" * 32,
             "TEND_PREVIOUS_SECRET_KEYS": "p" * 32},
        env_file=None,
    )  # fmt: skip
    assert PASSWORD not in repr(settings) and PASSWORD not in json.dumps(settings.model_dump(mode="json"))
    assert "p" * 32 not in repr(settings)
    assert {PASSWORD, "p" * 32} <= set(settings.secret_values())
    assert isinstance(settings.secret_key, Keyring) and settings.secret_key.previous == (b"p" * 32,)


# --- keyed digests across a key change ----------------------------------------------------------------


async def contributors(database: Database) -> list[Contributor]:
    async with database.session() as session:
        return list((await session.exec(select(Contributor))).all())


async def test_a_person_counted_under_the_old_key_is_not_counted_again_and_forget_me_finds_them(
    database: Database,
):
    async with database.session() as session:
        org = Organization(name="Acme", created_at=NOW)
        session.add(org)
        await session.flush()
        org_id = org.id or 0
        await signals.contributed(session, OLD, org_id, None, NOW, "shoutout", 7)
    async with database.session() as session:  # after the switch: TEND_SECRET_KEY new, the old one previous
        await signals.contributed(session, NEW, org_id, None, NOW, "shoutout", 7)
        await signals.contributed(session, NEW, org_id, None, NOW, "shoutout", 8)
    found = await contributors(database)
    assert len(found) == 4  # person 7 once (old key) and person 8 once (new key), per team and organisation
    async with database.session() as session:
        distinct = await storage_signals.read(session, org_id)
    assert {s.count for s in distinct if s.kind == signals.contributor_kind("shoutout")} == {2}

    async with database.session() as session:
        assert await signals.forget_contributor(session, NEW, org_id, 7) == 2  # the old key's digests too
    assert len(await contributors(database)) == 2


async def test_a_check_in_answer_given_before_the_key_changed_is_replaced_not_doubled(database: Database):
    held = await sealed_under(database, OLD)  # U5 answered 4 under the old key
    occurrence_id = held["occurrence"]
    async with database.session() as session:
        voter = await voter_for(session, NEW, occurrence_id, "U5")
        assert voter == held["voter"]  # found under the previous key
        await openers.save_answer(session, occurrence_id, voter, seal_score(NEW, occurrence_id, voter, 2))
        assert await voter_for(session, NEW, occurrence_id, "U6") == voter_key(NEW, occurrence_id, "U6")
    async with database.session() as session:
        assert await openers.answer_count(session, occurrence_id) == 1
        [answer] = (await session.exec(select(OpenerAnswer))).all()
    assert open_score(NEW_ONLY, occurrence_id, answer.voter_key, answer.sealed_score) == 2


def test_a_chart_link_signed_before_the_key_changed_opens_while_the_old_key_is_configured():
    query = parse_qs(signed_query(OLD, "chart-1.png", NOW))
    expires, sig = query["expires"][0], query["sig"][0]
    assert check(NEW, "chart-1.png", expires, sig, NOW) is None
    assert check(NEW_ONLY, "chart-1.png", expires, sig, NOW) == "forged"


async def test_a_platform_retry_of_an_event_handled_before_the_key_changed_is_still_ignored(
    database: Database, clock
):
    origin = Origin(platform="slack", workspace_id="T1", actor=PersonRef(None))
    removed = WorkspaceRemoved(origin, "event:Ev1")
    await Engine(database, clock, {}, secret_key=OLD).handle(removed)
    await Engine(database, clock, {}, secret_key=NEW).handle(removed)  # Slack's retry, after the switch
    async with database.session() as session:
        assert len((await session.exec(select(ProcessedEvent))).all()) == 1  # seen: not handled again
    await Engine(database, clock, {}, secret_key=NEW_ONLY).handle(removed)  # once the old key is gone
    async with database.session() as session:
        assert len((await session.exec(select(ProcessedEvent))).all()) == 2
