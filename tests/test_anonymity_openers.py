"""Playing the attacker against meeting-opener check-ins: nothing ties an answer to its author.

The attacker holds, at each moment (while the check-in is open, right after it closed, the next day,
after the following check-in closed, a month later): a dump of every table, each row's rowid or xmin
and ctid, the database files as bytes (SQLite's main file and -wal; PostgreSQL's pages with their dead
tuples, and the server's WAL) and every row version those bytes hold; the log at DEBUG; /metrics; the
member list; every version of the public card. They watched every tap (who, when, in which order, the
card after it). Two of the people who tapped are colleagues who tell them their own answers, also
while tapping again and again with the database watched live. They do NOT hold ``TEND_SECRET_KEY``.

An attack is a join (something that ties a stored answer to a person: a hash, row order, a shared
transaction, a time) followed by a read (getting the choice out of the stored answer). Every join is
tried; wherever one lands, the read must fail, so no answer is attributed. Controls keep the attacks
honest: on evidence shaped like the design before (a salt in the database, scores stored as
themselves) the same code attributes the answers, and with the secret key the same evidence gives
every open answer away (the documented residual). Runs on SQLite and PostgreSQL, through the scenario
harness and through the real Slack and Teams adapters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from math import comb
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.events import PersonRef
from bot.logs import KeyValueFormatter, setup_logging
from bot.scheduler import Scheduler
from practices import meeting_openers as openers
from practices.messages import Card, Facts
from practices.sealing import PROCESS_KEY, unseal
from storage.db import Database
from tests import test_msteams, test_slack
from tests.conftest import BACKENDS
from tests.dumps import (
    Snapshot,
    Stored,
    as_moment,
    dump,
    hex_strings,
    inspectable_database,
    postgres_now,
    snapshot,
)
from tests.helpers import at
from tests.scenario import Scenario
from tests.test_slack_practices import click_payload

slack = test_slack.slack  # the adapter fixtures, on this module's own fresh database
teams = test_msteams.teams

PLACE = "C9"
ADD = "tend ritual add opener <#C9|standup> mon,wed 09:25 Europe/Berlin"
MONDAY, WEDNESDAY = "2025-03-03", "2025-03-05"  # 09:25 in Berlin is 08:25 UTC
ADMIN = "U0ADMIN01"
FILLERS = 9  # people who joined first, so no tapper's member id is a small number found everywhere
# Who taps, their name and final answer. Every choice but one is someone's, so the totals alone pin
# nobody down... except as any published totals do (see docs/privacy.md).
PEOPLE = {
    "U0ALBA11": ("Alba Quintero", 4),
    "U0BRUNO22": ("Bruno Sato", 2),
    "U0CLEO33": ("Cleo Varga", 1),
    "U0DARIO44": ("Dario Lindqvist", 5),
    "U0EDDA55": ("Edda Okafor", 3),
    "U0FARID66": ("Farid Moreau", 4),
    "U0GWEN77": ("Gwen Halloran", 2),
}
NAMES = {ADMIN: "Ana Admin", **{user: name for user, (name, _) in PEOPLE.items()}}
TRUTH = {user: answer for user, (_, answer) in PEOPLE.items()}
COLLUDERS = ("U0ALBA11", "U0BRUNO22")  # tapped too, and tell the attacker their own answers
NEVER_MET = ("U0FARID66", "U0GWEN77")  # Tend had never heard of them before they tapped
FIRST_CHOICE = {"U0CLEO33": 5}  # tapped first, then changed to the final answer
WEDNESDAY_ANSWERS = {user: answer % 5 + 1 for user, answer in TRUTH.items()}
COLLUDING_ROUNDS = 10  # each colluder taps again this often: 20 (stored value, choice) pairs
SCORE_RANGE = range(1, 6)
Version = tuple[int, str, str]  # a stored answer: (occurrence id, voter key, sealed score column)
Known = tuple[str, str, int]  # a colluder's tap: (who, the sealed score it stored, the choice)


@pytest.fixture(params=BACKENDS)
async def database(request, tmp_path, sqlite_template) -> AsyncIterator[Database]:
    """A database of this test's own (PostgreSQL: new, with pageinspect), so its bytes and dead rows
    are this flow's alone. Overrides conftest's, for the Slack and Teams fixtures too."""
    async with inspectable_database(request.param, tmp_path, sqlite_template) as fresh:
        yield fresh


@pytest.fixture
def log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """The log as production writes it at its most verbose (TEND_LOG_LEVEL=DEBUG), captured."""
    handler = setup_logging("DEBUG", stream=io.StringIO())
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        logging.getLogger().removeHandler(handler)


# --- the check-in, as the attacker watched it -----------------------------------------------------------


class Watched(Scenario):
    """Events carry platform-shaped ids (processed-event rows exist) and people their real names."""

    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))

    async def _handle(self, event: Any) -> str:
        if getattr(event, "event_id", "absent") is None:
            event = replace(event, event_id=uuid.uuid4().hex)
        return await super()._handle(event)


@dataclass
class Tap:
    person: str
    occurrence: int
    choice: int
    at: datetime
    card: Card | None  # the public card right after the tap
    log: list[str]  # what the log got from the tap, times left out
    metrics: list[str]  # the /metrics series the tap changed


@dataclass
class Flow:
    database: Database
    occurrences: list[int]  # Monday's, then Wednesday's
    taps: list[Tap] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)  # every public version of Monday's card, in order
    moments: dict[str, Snapshot] = field(default_factory=dict)
    known: list[Known] = field(default_factory=list)  # what the colluders gave away

    @property
    def watched(self) -> int:
        return self.occurrences[0]

    def order(self, occurrence: int, *, last: bool = False) -> list[str]:
        """The people in the order the watcher saw them tap first (or last)."""
        taps = [tap for tap in self.taps if tap.occurrence == occurrence]
        if last:
            taps = list(reversed(taps))
        seen: list[str] = []
        for tap in taps:
            if tap.person not in seen:
                seen.append(tap.person)
        return list(reversed(seen)) if last else seen


def _log_lines(records: list[logging.LogRecord]) -> list[str]:
    formatter = KeyValueFormatter()
    return [re.sub(r"^ts=\S+ ", "", formatter.format(record)) for record in records]


def _series(metrics: str) -> dict[str, str]:
    return dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#"))


async def _tap(s: Watched, flow: Flow, log, person: str, occurrence: int, ref: str, choice: int) -> None:
    s.clock.advance(timedelta(seconds=41))
    before_log, before_metrics = len(log.records), _series(s.engine.metrics.render())
    sent = len(s.sender.sent)
    answer = await s.click(person, openers.ANSWER_ACTION, f"{occurrence}:{choice}", ref, place=PLACE)
    assert answer == openers.THANKS
    after_metrics = _series(s.engine.metrics.render())
    changed = sorted(
        f"{name} +{float(value) - float(before_metrics.get(name, 0))}"
        for name, value in after_metrics.items()
        if before_metrics.get(name) != value
    )
    card = next((u.card for u in s.sender.sent[sent:] if u.kind == "update"), None)
    tap = Tap(person, occurrence, choice, s.clock.now(), card, _log_lines(log.records[before_log:]), changed)
    flow.taps.append(tap)
    if card is not None and occurrence == flow.watched:
        flow.cards.append(card)


async def _live_answers(database: Database) -> set[tuple[str, str]]:
    return {(row["voter_key"], row["sealed_score"]) for row in (await dump(database))["openeranswer"]}


MOMENTS = ("open", "closed", "next day", "after the next check-in", "a month later")


async def run_check_ins(
    database: Database, log: pytest.LogCaptureFixture, *, take: tuple[str, ...] = MOMENTS
) -> Flow:
    """Monday's check-in watched tap by tap with the colluders' extra taps, its close, the next day,
    Wednesday's check-in, a month later: the attacker's snapshot is taken at each moment in ``take``,
    and the flow stops after the last of them (after Monday's close when none is asked for)."""
    _HITS.clear()  # the previous test's snapshots (PostgreSQL's hold megabytes of WAL)
    return await _run(database, log, take)


async def _run(database: Database, log, wanted: tuple[str, ...]) -> Flow:
    s = Watched(database, at(f"{MONDAY} 07:00"), min_group_size=5)
    await s.join(ADMIN, NAMES[ADMIN], admin=True)
    for index in range(FILLERS):
        await s.join(f"U0FILL{index:02d}", f"filler {index:02d}")
    for user in PEOPLE:
        if user not in NEVER_MET:
            await s.join(user, NAMES[user])
    assert "Added" in await s.command(ADMIN, ADD)
    await s.run_until(at(f"{MONDAY} 08:30"))
    [post] = s.sender.posts(PLACE)
    monday = int(post.card.buttons[0].value.split(":")[0])
    flow = Flow(database, [monday], cards=[post.card])
    wal_since = await postgres_now(database) if not database.is_sqlite else None
    last = max((MOMENTS.index(moment) for moment in wanted), default=1)

    async def take(moment: str) -> bool:
        """Takes the snapshot if wanted; False once nothing later is wanted."""
        if moment in wanted:
            flow.moments[moment] = await snapshot(database, taken_at=s.clock.now(), wal_since=wal_since)
        return MOMENTS.index(moment) < last

    for person in (*PEOPLE, *FIRST_CHOICE):  # Cleo changes her answer last
        first = person in FIRST_CHOICE and not any(tap.person == person for tap in flow.taps)
        choice = FIRST_CHOICE[person] if first else TRUTH[person]
        await _tap(s, flow, log, person, monday, post.ref, choice)
    for round_ in range(COLLUDING_ROUNDS + 1):  # the database watched live while colluders tap
        for index, person in enumerate(COLLUDERS):
            # Every choice in turn, never the one just stored, so each tap changes the stored value.
            choice = (round_ + index + 2) % 5 + 1 if round_ < COLLUDING_ROUNDS else TRUTH[person]
            before = await _live_answers(database)
            await _tap(s, flow, log, person, monday, post.ref, choice)
            [(_, stored)] = (await _live_answers(database)) - before
            flow.known.append((person, stored, choice))
    await take("open")
    updated = len([u for u in s.sender.sent if u.kind == "update" and u.ref == post.ref])
    await s.run_until(at(f"{MONDAY} 20:30"), step=timedelta(minutes=15))
    flow.cards += [u.card for u in s.sender.sent if u.kind == "update" and u.ref == post.ref][updated:]
    if not await take("closed"):
        return flow
    await s.run_until(at("2025-03-04 21:00"), step=timedelta(hours=1))
    if not await take("next day"):
        return flow
    await s.run_until(at(f"{WEDNESDAY} 08:30"), step=timedelta(hours=1))
    wednesday_post = s.sender.posts(PLACE)[-1]
    flow.occurrences.append(int(wednesday_post.card.buttons[0].value.split(":")[0]))
    for person, choice in WEDNESDAY_ANSWERS.items():
        await _tap(s, flow, log, person, flow.occurrences[1], wednesday_post.ref, choice)
    await s.run_until(at(f"{WEDNESDAY} 21:00"), step=timedelta(minutes=30))
    if not await take("after the next check-in"):
        return flow
    await s.run_until(at("2025-04-03 09:00"), step=timedelta(hours=12))
    await take("a month later")
    return flow


# --- what the attacker knows of people ------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    platform_id: str
    name: str
    member_id: int | None


def member_list(snap: Snapshot, tappers: dict[str, str]) -> dict[str, Person]:
    """Everyone in the member table, plus the tappers the platform lists (some Tend never met)."""
    people = {
        str(row["platform_user_id"]): Person(
            str(row["platform_user_id"]), str(row["display_name"]), int(row["id"])
        )
        for row in snap.tables["member"]
    }
    for user, name in tappers.items():
        people.setdefault(user, Person(user, name, None))
    return people


def naming(row: dict[str, object], table: str | None, people: dict[str, Person]) -> set[str]:
    """Whom a row names: their platform id or name in any cell, their member id in a member column."""
    found: set[str] = set()
    by_member = {person.member_id: user for user, person in people.items() if person.member_id is not None}
    for column, value in row.items():
        text = str(value)
        for user, person in people.items():
            if user in text or (len(person.name) >= 4 and person.name.casefold() in text.casefold()):
                found.add(user)
        member_column = column.endswith("member_id") or (table == "member" and column == "id")
        if member_column and isinstance(value, int) and value in by_member:
            found.add(by_member[value])
    if table == "outbox" and row.get("target_kind") == "person":
        target = str(row.get("target_id"))
        found |= {user for user, person in people.items() if str(person.member_id) == target}
    return found


def versions(snap: Snapshot) -> set[Version]:
    """Every stored answer the attacker can find: live rows, and row versions in the bytes (also on
    pages no table owns any more, recognised by their shape: an id, 32 hex characters, a token)."""
    found = {
        (int(r["occurrence_id"]), str(r["voter_key"]), str(r["sealed_score"]))
        for r in snap.tables["openeranswer"]
    }
    for stored in snap.stored:
        if _answer_shaped(stored):
            occurrence, key, score = stored.values
            found.add((int(occurrence), str(key), str(score)))
    return found


TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")  # the sealed score's alphabet (base64url; a digit too)


def _answer_shaped(stored: Stored) -> bool:
    """A table row (it has a rowid or an xmin: index entries have neither) of an answer's shape."""
    if stored.table not in ("openeranswer", None) or stored.order is None or len(stored.values) != 3:
        return False
    occurrence, key, score = stored.values
    return (
        isinstance(occurrence, int)
        and isinstance(score, str)
        and bool(re.fullmatch(r"[0-9a-f]{32,64}", str(key)))
        and bool(TOKEN.fullmatch(score))
    )


# --- joins: each ties stored answers to people ----------------------------------------------------------

Links = dict[str, set[Version]]


_HITS: dict[int, tuple[Snapshot, dict[str, set[str]]]] = {}  # per snapshot: the search is the slow part


def hash_hits(flow: Flow, snap: Snapshot, people: dict[str, Person]) -> dict[str, set[str]]:
    """Recompute voter keys: every usual hash of each person's ids, bare or keyed with any value the
    database or its files hold (a salt, a key, another row's digest), looked for among stored keys and
    every hex string in the bytes. Returns, per person, the guesses found."""
    cached = _HITS.get(id(snap))
    if cached is not None and cached[0] is snap:
        return cached[1]
    hits = _hash_hits(flow, snap, people)
    _HITS[id(snap)] = (snap, hits)
    return hits


def _hash_hits(flow: Flow, snap: Snapshot, people: dict[str, Person]) -> dict[str, set[str]]:
    targets = {key for _, key, _ in versions(snap)} | hex_strings(snap.raw, 32) | hex_strings(snap.raw, 64)
    ours = b"".join(data for name, data in snap.files.items() if not name.startswith("pg_wal/"))
    materials = {
        str(v) for _, row in snap.rows() for v in row.values() if v is not None and 8 <= len(str(v)) <= 200
    }
    materials |= hex_strings(ours, 32) | hex_strings(ours, 64) | {""}
    hits: dict[str, set[str]] = {}
    for occurrence in flow.occurrences:
        for user, person in people.items():
            found = _guesses(person, occurrence, materials) & targets
            if found:
                hits.setdefault(user, set()).update(found)
    return hits


def join_by_hashes(flow: Flow, snap: Snapshot, people: dict[str, Person]) -> Links:
    """A stored answer whose key is a recomputed one (``hash_hits``)."""
    answers = versions(snap)
    return {
        user: {v for v in answers if v[1] in keys or v[1][:32] in keys}
        for user, keys in hash_hits(flow, snap, people).items()
    }


def _guesses(person: Person, occurrence: int, materials: set[str]) -> set[str]:
    subjects = {person.platform_id, person.name, f"{occurrence}:{person.platform_id}"}
    subjects |= {f"{occurrence}\x1f{person.platform_id}", f"{person.platform_id}:{occurrence}"}
    if person.member_id is not None:
        subjects |= {
            str(person.member_id),
            f"{occurrence}:{person.member_id}",
            f"{occurrence}\x1f{person.member_id}",
        }
    found: set[str] = set()
    for subject in subjects:
        plain = subject.encode()
        found |= {
            hashlib.sha256(plain).hexdigest(),
            hashlib.sha1(plain).hexdigest(),
            hashlib.md5(plain).hexdigest(),
        }
        for material in materials:
            key = material.encode()
            found.add(hmac.new(key, plain, hashlib.sha256).hexdigest())
            found.add(hmac.new(plain, key, hashlib.sha256).hexdigest())
            found.add(hashlib.sha256(key + plain).hexdigest())
            found.add(hashlib.sha256(plain + key).hexdigest())
    return found | {guess[:32] for guess in found}


def rankings(flow: Flow, snap: Snapshot) -> dict[str, Links]:
    """Each way to sort the stored answers in time, paired with the order the watcher saw people tap
    (first or last): the k-th row is the k-th person's. Sorts: rowid, xmin, ctid of the live rows; the
    first and the last WAL commit (SQLite) or xmin (PostgreSQL) at which a key shows up in the bytes."""
    found: dict[str, Links] = {}
    answers = versions(snap)
    for occurrence in flow.occurrences:
        live = [p for p in snap.placed if p.table == "openeranswer" and p.row["occurrence_id"] == occurrence]
        sorts: dict[str, list[set[Version]]] = {}
        for position in ("rowid", "xmin", "ctid"):
            placed = sorted(
                (p for p in live if getattr(p, position) is not None), key=lambda p: getattr(p, position)
            )
            sorts[position] = [
                {(occurrence, str(p.row["voter_key"]), str(p.row["sealed_score"]))} for p in placed
            ]
        seen: dict[str, list[int]] = {}
        for stored in snap.stored:
            if _answer_shaped(stored) and stored.values[0] == occurrence:
                moment = stored.commit if stored.commit is not None else stored.order
                seen.setdefault(str(stored.values[1]), []).append(moment or 0)
        for name, pick in (("first in the bytes", min), ("last in the bytes", max)):
            keys = sorted(seen, key=lambda key, pick=pick: pick(seen[key]))
            sorts[name] = [{v for v in answers if v[0] == occurrence and v[1] == key} for key in keys]
        for name, ordered in sorts.items():
            for taps, people in (
                ("first", flow.order(occurrence)),
                ("last", flow.order(occurrence, last=True)),
            ):
                links = found.setdefault(f"{name} / {taps} taps", {})
                for user, linked in zip(people, ordered, strict=False):
                    links.setdefault(user, set()).update(linked)
    return found


def join_by_order(flow: Flow, snap: Snapshot, people: dict[str, Person]) -> Links:
    """Every ranking of ``rankings`` at once."""
    links: Links = {}
    for ranked in rankings(flow, snap).values():
        for user, linked in ranked.items():
            links.setdefault(user, set()).update(linked)
    return links


def join_by_transaction(flow: Flow, snap: Snapshot, people: dict[str, Person], *, window: int = 2) -> Links:
    """Rows written in the same transaction as a stored answer, or the ones just before and after
    (PostgreSQL: xmin within ``window``; SQLite: WAL commits within ``window``), that name a person
    or carry a time only one tapper's tap fits."""
    links: Links = {}
    written = _written(snap)
    for stored, moment in written:
        if not _answer_shaped(stored):
            continue
        answer: Version = (int(stored.values[0]), str(stored.values[1]), str(stored.values[2]))
        for other, when in written:
            if other.table == "openeranswer" or abs(when - moment) > window:
                continue
            row = snap.named(other)
            if row is None:
                continue
            for user in naming(row, other.table, people) | _timed(flow, row):
                links.setdefault(user, set()).add(answer)
    return links


def _written(snap: Snapshot) -> list[tuple[Stored, int]]:
    """Row versions with the transaction that wrote them: xmin (PostgreSQL), or the WAL commit of a
    row new or changed in that commit's page image (SQLite)."""
    if any(stored.xmax is not None for stored in snap.stored):
        return [(stored, stored.order) for stored in snap.stored if stored.order is not None]
    found: list[tuple[Stored, int]] = []
    previous: dict[int, set[tuple[object, ...]]] = {}
    frames: dict[str, list[Stored]] = {}
    for stored in snap.stored:
        if stored.commit is not None:
            frames.setdefault(stored.where, []).append(stored)
    for where in sorted(frames, key=lambda name: int(name.split()[2])):  # "wal frame <n> (page <p>)"
        cells = frames[where]
        page = cells[0].page or 0
        before = previous.get(page, set())
        for stored in cells:
            if (stored.order, stored.values) not in before:
                found.append((stored, stored.commit or 0))
        previous[page] = {(stored.order, stored.values) for stored in cells}
    return found


def _timed(flow: Flow, row: dict[str, object]) -> set[str]:
    """Tappers singled out by a time in the row: the only one whose tap falls in its hour (or day,
    or minute, as finely as the time is kept)."""
    found: set[str] = set()
    for value in row.values():
        moment = as_moment(value)
        if moment is None:
            continue
        if (moment.minute, moment.second, moment.microsecond) == (0, 0, 0):
            span = timedelta(days=1) if moment.hour == 0 else timedelta(hours=1)
        else:
            span = timedelta(minutes=1)
        inside = {tap.person for tap in flow.taps if moment <= tap.at.replace(tzinfo=None) < moment + span}
        if len(inside) == 1:
            found |= inside
    return found


JOINS: dict[str, Callable[[Flow, Snapshot, dict[str, Person]], Links]] = {
    "hashes of ids under any stored value": join_by_hashes,
    "row order against the order of taps": join_by_order,
    "rows written in or next to the tap's transaction": join_by_transaction,
}


# --- the read: getting a choice out of a stored answer --------------------------------------------------

Decoder = Callable[[str], int | None]
Features = dict[str, object]

# A decoder or lookup is learned when it reads the colluders' held-out answers better than chance:
# the chance of doing as well by guessing (the commonest choice each time) is below this. About 400
# are tried, so on seals that leak nothing one is learned by luck in fewer than one run in a million;
# reading 20 of 22 held-out answers (or 15 of 15) is enough.
SIGNIFICANCE = 1e-9
SEALED_BYTES = 200 * 3 // 4  # the column holds 200 characters of base64
SUBSTRING_LENGTHS = (1, 2, 3, 4)


def _plain(text: str) -> int | None:
    """The text read as a number, when it is one (a score stored as itself)."""
    return int(text) if text.isdecimal() and len(text) <= 9 else None


@cache
def _unwrapped(value: str) -> bytes:
    """The sealed text base64url-decoded (its alphabet suggests it), or nothing when it does not decode."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return b""


def _under_base64(value: str) -> int | None:
    """The last field of the decoded bytes read as text (``...:<score>``): an encoding, not a seal."""
    return _plain(_unwrapped(value).decode("utf-8", errors="replace").rpartition(":")[2])


def _as_number(value: str) -> int:
    return int.from_bytes(_unwrapped(value), "big")


def _digit(value: str, which: int) -> int | None:
    digits = [character for character in value if character.isdecimal()]
    return int(digits[which]) if digits else None


def decoders() -> dict[str, Decoder]:
    """Ways to read a choice out of a stored sealed text that an attacker would try first: the text
    or its digits as the choice, the plain text under the base64, the length, the decoded bytes as one
    number modulo something, each decoded byte modulo 5."""
    found: dict[str, Decoder] = {
        "as stored": _plain,
        "the first digit in the text": lambda value: _digit(value, 0),
        "the last digit in the text": lambda value: _digit(value, -1),
        "the plain text under the base64": _under_base64,
    }
    for modulus in range(2, 17):
        for offset in (0, 1):
            found[f"length mod {modulus} + {offset}"] = lambda value, m=modulus, o=offset: len(value) % m + o
            found[f"decoded as a number mod {modulus} + {offset}"] = lambda value, m=modulus, o=offset: (
                _as_number(value) % m + o
            )
    for position in range(SEALED_BYTES):
        found[f"decoded byte {position} mod 5 + 1"] = lambda value, p=position: (
            _unwrapped(value)[p] % 5 + 1 if p < len(_unwrapped(value)) else None
        )
    return found


@cache
def _features(value: str) -> Features:
    """What a lookup table can be keyed by: the whole text, its length, prefixes and suffixes, each
    character, its digits, each decoded byte and the decoded bytes as a number modulo something."""
    raw = _unwrapped(value)
    found: Features = {"the whole text": value, "length": len(value), "decoded length": len(raw)}
    found["the digits in the text"] = "".join(character for character in value if character.isdecimal())
    for size in (1, 2, 3, 4):
        found[f"first {size} characters"] = value[:size]
        found[f"last {size} characters"] = value[-size:]
    for position, character in enumerate(value):
        found[f"character {position}"] = character
    for position, byte in enumerate(raw):
        found[f"decoded byte {position}"] = byte
    for modulus in range(2, 11):
        found[f"decoded as a number mod {modulus}"] = _as_number(value) % modulus
    return found


def _table(pairs: list[tuple[str, int]], feature: str) -> dict[object, int]:
    """Feature value -> choice, from the pairs; a value met with two choices says nothing."""
    seen: dict[object, set[int]] = {}
    for value, choice in pairs:
        seen.setdefault(_features(value).get(feature), set()).add(choice)
    return {key: next(iter(choices)) for key, choices in seen.items() if len(choices) == 1}


def _markers(pairs: list[tuple[str, int]], size: int) -> dict[str, int]:
    """Substrings of ``size`` characters found in every text of one choice (given at least twice)
    and in no text of another: substring -> choice."""
    texts: dict[int, list[str]] = {}
    for value, choice in pairs:
        texts.setdefault(choice, []).append(value)

    def pieces(value: str) -> set[str]:
        return {value[start : start + size] for start in range(len(value) - size + 1)}

    found: dict[str, int] = {}
    for choice, values in texts.items():
        if len(values) < 2:
            continue
        shared = set.intersection(*(pieces(value) for value in values))
        for other, others in texts.items():
            if other != choice:
                for value in others:
                    shared -= pieces(value)
        found |= dict.fromkeys(shared, choice)
    return found


def _by_markers(markers: dict[str, int], value: str) -> int | None:
    choices = {choice for marker, choice in markers.items() if marker in value}
    return next(iter(choices)) if len(choices) == 1 else None


def _beats_chance(right: int, wrong: int, chance: float) -> bool:
    """Whether ``right`` of ``right + wrong`` readings is better than guessing at ``chance`` could
    do, but for a probability below ``SIGNIFICANCE`` (one-sided binomial test)."""
    tries = right + wrong
    tail = sum(comb(tries, k) * chance**k * (1 - chance) ** (tries - k) for k in range(right, tries + 1))
    return right > 0 and tail < SIGNIFICANCE


def _scored(readings: list[tuple[int | None, int]]) -> tuple[int, int]:
    """(right, wrong) over the readings that name a choice."""
    named = [(reading, choice) for reading, choice in readings if reading in SCORE_RANGE]
    right = sum(1 for reading, choice in named if reading == choice)
    return right, len(named) - right


def _chance(pairs: list[tuple[str, int]]) -> float:
    """How often always guessing the commonest choice is right."""
    return max(Counter(choice for _, choice in pairs).values()) / len(pairs)


def learned_decoders(known: list[Known]) -> dict[str, Decoder]:
    """What the taps the colluders gave away teach: every decoder, lookup table (by any feature:
    ``_features``) and substring rule (``_markers``) that reads stored answers better than chance.

    Decoders are tried on every pair. Lookups and substrings are learned from some colluders' pairs
    and tried on another's, each colluder in turn: the attacker wants other people's answers, and
    remembering the very texts given away reads none."""
    pairs = [(value, choice) for _, value, choice in known]
    by_colluder: dict[str, list[tuple[str, int]]] = {}
    for who, value, choice in known:
        by_colluder.setdefault(who, []).append((value, choice))
    if not pairs:
        return {}
    found = {
        name: decode
        for name, decode in decoders().items()
        if _beats_chance(*_scored([(decode(value), choice) for value, choice in pairs]), _chance(pairs))
    }
    folds = [
        ([pair for other, theirs in by_colluder.items() if other != who for pair in theirs], tried)
        for who, tried in by_colluder.items()
    ]
    folds = [(taught, tried) for taught, tried in folds if taught]
    if not folds:
        return found
    chance = max(_chance(tried) for _, tried in folds)
    for feature in sorted({name for value, _ in pairs for name in _features(value)}):
        held_out = []
        for taught, tried in folds:
            table = _table(taught, feature)
            held_out += [(table.get(_features(value).get(feature)), choice) for value, choice in tried]
        if _beats_chance(*_scored(held_out), chance):
            table = _table(pairs, feature)
            found[f"lookup by {feature}"] = lambda value, f=feature, t=table: t.get(_features(value).get(f))
    for size in SUBSTRING_LENGTHS:
        held_out = []
        for taught, tried in folds:
            markers = _markers(taught, size)
            held_out += [(_by_markers(markers, value), choice) for value, choice in tried]
        if _beats_chance(*_scored(held_out), chance):
            markers = _markers(pairs, size)
            found[f"substrings of {size}"] = lambda value, m=markers: _by_markers(m, value)
    return found


def read(links: Links, learned: dict[str, Decoder]) -> dict[str, set[int]]:
    """What the joins give away: each linked person's choices, read as stored or through any decoder
    the colluders' answers taught."""
    found: dict[str, set[int]] = {}
    for user, linked in links.items():
        choices = set()
        for _, _, stored in linked:
            readings = [_plain(stored), *(decode(stored) for decode in learned.values())]
            choices |= {reading for reading in readings if reading in SCORE_RANGE}
        if choices:
            found[user] = choices
    return found


# --- the tests ------------------------------------------------------------------------------------------


def _tappers() -> dict[str, str]:
    return {user: name for user, (name, _) in PEOPLE.items()}


def _tap_window(snap: Snapshot, occurrence: int) -> tuple[int, int]:
    """The first and last transaction (xmin, or SQLite WAL commit) that wrote one of its answers."""
    moments = [
        moment
        for stored, moment in _written(snap)
        if _answer_shaped(stored) and stored.values[0] == occurrence
    ]
    return min(moments), max(moments)


async def test_no_dump_bytes_or_row_order_at_any_moment_ties_an_answer_to_its_author(database, log):
    flow = await run_check_ins(database, log)
    assert list(flow.moments) == ["open", "closed", "next day", "after the next check-in", "a month later"]
    learned = learned_decoders(flow.known)
    assert learned == {}  # 22 answers given away teach no way to read a stored one
    for moment, snap in flow.moments.items():
        people = member_list(snap, _tappers())
        assert set(people) >= set(PEOPLE)
        assert hash_hits(flow, snap, people) == {}, moment  # no key recomputed, in the rows or the bytes
        found = {name: read(join(flow, snap, people), learned) for name, join in JOINS.items()}
        assert found == {name: {} for name in JOINS}, moment
        # A tap's own transaction writes nothing that names anyone (no member row, no reference).
        assert join_by_transaction(flow, snap, people, window=0) == {}, moment
        # One voter key per person and check-in: Monday's and Wednesday's never match.
        keys: dict[str, int] = {}
        for occurrence, key, _ in versions(snap):
            assert keys.setdefault(key, occurrence) == occurrence, moment

    opened = flow.moments["open"]
    live = {(row["voter_key"], row["sealed_score"]) for row in opened.tables["openeranswer"]}
    assert len(live) == len(PEOPLE)  # the evidence was there to attack
    # Nothing about anyone was written while people tapped: no member row or reference, new or changed.
    first, last = _tap_window(opened, flow.watched)
    people = member_list(opened, _tappers())
    written = [
        (stored.table, moment)
        for stored, moment in _written(opened)
        if first <= moment <= last
        and stored.table in ("member", "conversationref", "teammembership")
        and naming(opened.named(stored) or {}, stored.table, people)
    ]
    assert written == []
    assert [
        row["platform_user_id"] for row in opened.tables["member"] if row["platform_user_id"] in NEVER_MET
    ] == []


def _blank_count(card: Card) -> str:
    return _without_count([repr(block) for block in card.blocks])


def _count(card: Card) -> int:
    matched = re.search(r"\b(\d+) answers?\b", card.fallback)
    return int(matched[1]) if matched else 0


async def test_a_colleague_recording_the_card_after_every_tap_learns_only_how_many_answered(database, log):
    flow = await run_check_ins(database, log, take=())
    *open_cards, closed = flow.cards
    watched = [tap for tap in flow.taps if tap.occurrence == flow.watched]
    assert len(open_cards) == 1 + len(watched)  # the post, then one update per tap
    assert {_blank_count(card) for card in open_cards} == {_blank_count(open_cards[0])}
    distinct: set[str] = set()
    for tap, card in zip(watched, open_cards[1:], strict=True):
        distinct.add(tap.person)
        assert _count(card) == len(distinct)  # a changed answer leaves the card as it was
        assert not any(isinstance(block, Facts) for block in card.blocks)
    [facts] = [block for block in closed.blocks if isinstance(block, Facts)]
    assert [int(fact.value) for fact in facts.facts] == [
        sum(1 for answer in TRUTH.values() if answer == score) for score in SCORE_RANGE
    ]


async def test_the_log_and_metrics_read_the_same_whoever_tapped_and_whatever_they_chose(database, log):
    flow = await run_check_ins(database, log, take=())
    assert flow.taps[0].log and flow.taps[0].metrics  # the capture saw the taps
    assert {tuple(tap.log) for tap in flow.taps} == {tuple(flow.taps[0].log)}
    assert {tuple(tap.metrics) for tap in flow.taps} == {tuple(flow.taps[0].metrics)}
    lines = _log_lines(log.records)
    for user, (name, _) in PEOPLE.items():
        assert not any(user in line or name.casefold() in line.casefold() for line in lines), user


# --- controls: the attacks are not blind ----------------------------------------------------------------


def _opened(
    occurrence: int, key: str, stored: str, people: dict[str, Person]
) -> tuple[str | None, int | None]:
    """With the secret key: whose answer a stored version is, and what it says."""
    for user in people:
        if openers.voter_key(PROCESS_KEY, occurrence, user) == key:
            return user, openers.open_score(PROCESS_KEY, occurrence, key, stored)
    return None, None


def _base64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _resealed(known: list[Known], seal: Callable[[str], str]) -> list[Known]:
    """The colluders' taps as a weaker design would store them: ``seal`` of the plain text (opened
    with the key) under each sealed score."""
    found: list[Known] = []
    for who, value, choice in known:
        plain = unseal(PROCESS_KEY, openers.SCORE_PURPOSE, value)
        assert plain is not None
        found.append((who, seal(plain), choice))
    return found


def _as_before(snap: Snapshot, people: dict[str, Person]) -> Snapshot:
    """The same evidence as the design before this one would have stored it: a salt on the
    occurrence, each key an HMAC of the member id under it, the score as itself (its digit in the
    score's cell)."""
    salt = secrets.token_hex(16)

    def old(occurrence: int, key: str, stored: str) -> tuple[str, str]:
        user, score = _opened(occurrence, key, stored, people)
        assert user is not None and score is not None
        member = people[user].member_id
        return hmac.new(salt.encode(), str(member).encode(), hashlib.sha256).hexdigest(), str(score)

    tables = {name: [dict(row) for row in rows] for name, rows in snap.tables.items()}
    for row in tables["occurrence"]:
        row["answer_salt"] = salt
    for row in tables["openeranswer"]:
        row["voter_key"], row["sealed_score"] = old(
            row["occurrence_id"], row["voter_key"], row["sealed_score"]
        )
    placed = []
    for item in snap.placed:
        if item.table == "openeranswer":
            key, score = old(item.row["occurrence_id"], item.row["voter_key"], item.row["sealed_score"])
            item = replace(item, row={**item.row, "voter_key": key, "sealed_score": score})
        placed.append(item)
    stored = []
    for version in snap.stored:
        if _answer_shaped(version) and _opened(*version.values, people)[0] is not None:
            key, score = old(*version.values)
            version = replace(version, values=(version.values[0], key, score))
        stored.append(version)
    return Snapshot(tables, placed, dict(snap.files), stored, snap.columns, snap.taken_at)


async def test_the_attacks_find_the_answers_when_the_database_holds_the_link(database, log):
    flow = await run_check_ins(database, log, take=("open",))
    snap = flow.moments["open"]
    people = member_list(snap, _tappers())
    # Then, everyone who tapped had a member row (the tap wrote it).
    people |= {user: Person(user, NAMES[user], 10_000 + n) for n, user in enumerate(NEVER_MET)}
    before = _as_before(snap, people)
    learned = learned_decoders([(who, str(choice), choice) for who, _, choice in flow.known])
    assert "as stored" in learned
    by_hash = read(join_by_hashes(flow, before, people), learned)
    assert all(TRUTH[user] in by_hash.get(user, set()) for user in PEOPLE), by_hash
    assert {user: by_hash[user] for user in PEOPLE if user not in (*COLLUDERS, *FIRST_CHOICE)} == {
        user: {TRUTH[user]} for user in PEOPLE if user not in (*COLLUDERS, *FIRST_CHOICE)
    }
    exact = {user: {answer} for user, answer in TRUTH.items()}
    by_order = {name: read(links, learned) for name, links in rankings(flow, before).items()}
    assert exact in by_order.values(), by_order  # the live rows in write order are the taps in order

    # The read is not blind to a seal done wrong: base64 alone is read outright; AES-GCM with one
    # nonce for every write is read from the byte the choice lands on, learned from the colluders.
    encoded = _resealed(flow.known, lambda plain: _base64(plain.encode()))
    assert "the plain text under the base64" in learned_decoders(encoded)
    aead, nonce = AESGCM(AESGCM.generate_key(bit_length=256)), secrets.token_bytes(12)

    def reused(plain: str) -> str:
        return _base64(nonce + aead.encrypt(nonce, plain.encode(), None))

    taught = learned_decoders(_resealed(flow.known, reused))
    assert any(name.startswith("lookup by decoded byte") for name in taught), sorted(taught)
    weak: Links = {}
    for row in snap.tables["openeranswer"]:
        user, _ = _opened(flow.watched, row["voter_key"], row["sealed_score"], people)
        plain = unseal(PROCESS_KEY, openers.SCORE_PURPOSE, row["sealed_score"])
        assert user is not None and plain is not None
        weak[user] = {(flow.watched, row["voter_key"], reused(plain))}
    by_weak_seal = read(weak, taught)
    assert all(TRUTH[user] in by_weak_seal.get(user, set()) for user in PEOPLE), by_weak_seal


async def test_with_the_secret_key_every_open_answer_is_attributed(database, log):
    """The documented residual: whoever holds TEND_SECRET_KEY and the database while a check-in is
    open recomputes every voter key from the member list and opens every answer."""
    flow = await run_check_ins(database, log, take=("open",))
    snap = flow.moments["open"]
    people = member_list(snap, _tappers())
    found = {}
    for row in snap.tables["openeranswer"]:
        user, score = _opened(flow.watched, row["voter_key"], row["sealed_score"], people)
        found[user] = score
    assert found == TRUTH


async def test_with_the_secret_key_leftover_bytes_still_hold_the_answers_right_after_close(database, log):
    """Also the residual: at close the rows leave the table (and SQLite zeroes them in its main file),
    but WAL frames and PostgreSQL's dead tuples keep the keyed rows until they are overwritten or
    vacuumed; with the key they open. Without it they read as nothing (the first test)."""
    flow = await run_check_ins(database, log, take=("closed",))
    snap = flow.moments["closed"]
    assert snap.tables["openeranswer"] == []
    people = member_list(snap, _tappers())
    found: dict[str, set[int]] = {}
    for occurrence, key, stored in versions(snap):
        user, score = _opened(occurrence, key, stored, people)
        if occurrence == flow.watched and user is not None and score is not None:
            found.setdefault(user, set()).add(score)
    assert all(TRUTH[user] in found.get(user, set()) for user in PEOPLE), found


# --- through the real adapters ------------------------------------------------------------------------------


COUNT = re.compile(r"No answers yet\.|(?<![0-9])\d+ answers?\b")  # the one line an open card may change


def _without_count(payload: object) -> str:
    return COUNT.sub("<count>", json.dumps(payload, sort_keys=True))


def _assert_nothing_attributed(flow: Flow, tappers: dict[str, str]) -> None:
    for moment, snap in flow.moments.items():
        people = member_list(snap, tappers)
        assert hash_hits(flow, snap, people) == {}, moment
        found = {name: read(join(flow, snap, people), {}) for name, join in JOINS.items()}
        assert found == {name: {} for name in JOINS}, moment
        assert join_by_transaction(flow, snap, people, window=0) == {}, moment
    assert len(versions(flow.moments["open"])) >= len(tappers)  # there was something to attack


SLACK_TAPS = (("U1", 3), ("U2", 5), ("U3", 5), ("U4", 4), ("U5", 2), ("U6", 4), ("U3", 1))  # U3 changes


async def test_through_the_slack_adapter_nothing_ties_an_answer_to_its_author(slack, log):
    for user in ("U1", "U2", "U3", "U4"):  # met (U1: Slack owner, admin); never U5, U6
        await slack.command("/tend", "help", user=user)
    await slack.command("/tend", "ritual add opener <#C2|standup> daily 09:25 utc")
    await slack.settle()
    scheduler = Scheduler(slack.database, slack.clock, senders=slack.engine.senders)
    slack.clock.advance(timedelta(hours=23, minutes=25))  # Tuesday 09:25
    await scheduler.tick()
    await slack.engine.delivery.deliver_due(limit=100)
    [card] = test_slack.posts_in("C2")(slack.fake.calls)
    buttons = {
        int(b["value"].split(":")[1]): b
        for block in card.args["blocks"]
        if block["type"] == "actions"
        for b in block["elements"]
        if b["action_id"].startswith(openers.ANSWER_ACTION)
    }
    occurrence = int(buttons[1]["value"].split(":")[0])
    flow = Flow(slack.database, [occurrence])
    for user, choice in SLACK_TAPS:
        slack.clock.advance(timedelta(seconds=2))
        assert (await slack.interaction(click_payload(slack, user, buttons[choice], card))).status == 200
        await slack.settle()
        flow.taps.append(Tap(user, occurrence, choice, slack.clock.now(), None, [], []))
    flow.moments["open"] = await snapshot(slack.database)
    slack.clock.advance(timedelta(hours=12))
    await scheduler.tick()
    flow.moments["closed"] = await snapshot(slack.database)

    tappers = {user: f"slack person {user}" for user, _ in SLACK_TAPS}
    _assert_nothing_attributed(flow, tappers)
    *while_open, closing = slack.fake.of("chat.update")
    assert len(while_open) == len(SLACK_TAPS) and all(
        u.args["channel"] == "C2" for u in slack.fake.of("chat.update")
    )
    assert len({_without_count(u.args["blocks"]) for u in while_open}) == 1  # only the count ever changed
    assert [json.dumps(u.args["blocks"]).count('"fields"') for u in while_open] == [0] * len(SLACK_TAPS)
    assert '"fields"' in json.dumps(closing.args["blocks"]) and "6 people answered" in json.dumps(
        closing.args
    )
    assert closing.args["ts"] == while_open[0].args["ts"]
    test_slack.assert_valid_sent(slack.fake.calls)
    lines = _log_lines(log.records)
    # The fake's response URLs end in the user id (real ones are opaque): that part is left out.
    lines = [re.sub(r"/response/\w+", "/response/<opaque>", line) for line in lines]
    bad = [line for line in lines for user, _ in SLACK_TAPS if re.search(rf"\b{user}\b", line)]
    assert not bad, [b[:300] for b in bad[:8]]


async def test_through_the_teams_adapter_nothing_ties_an_answer_to_its_author(teams, log):
    teams.clock.set(teams.clock.now().replace(hour=7, minute=0))
    await test_msteams.installed_by(teams)  # Ana adds Tend to the team: the tenant's first install, its admin
    add = "<at>Tend</at> tend ritual add opener here mon,wed 09:25 Europe/Berlin"
    await teams.say(add, mentions=(test_msteams.BOT,))
    await teams.connector.wait_for(test_msteams.sends_to(f"a:personal-{test_msteams.ANA['id']}", "Added"))
    scheduler = Scheduler(teams.database, teams.clock, senders=teams.engine.senders)
    teams.clock.advance(timedelta(hours=1, minutes=30))  # 08:30 UTC, 09:30 in Berlin
    await scheduler.tick()
    await teams.engine.delivery.deliver_due()
    [card] = await teams.connector.wait_for(test_msteams.sends_to(test_msteams.CHANNEL, "Action.Submit"))
    [posted] = [row for row in (await dump(teams.database))["outbox"] if row["platform_message_id"]]
    data = {int(d["tend"]["value"].split(":")[1]): d for d in test_msteams.submit_data(card, "opener.answer")}
    occurrence = int(data[1]["tend"]["value"].split(":")[0])
    flow = Flow(teams.database, [occurrence])
    people = test_msteams.PEOPLE  # six people, none of whom Tend has met
    taps = [(person, choice) for person, choice in zip(people, (3, 5, 1, 4, 2, 4), strict=True)]
    taps.append((people[2], 5))  # the third changes their answer
    for index, (person, choice) in enumerate(taps, 1):
        teams.clock.advance(timedelta(seconds=2))
        tap = teams.activity(user=person, value=data[choice], replyToId=posted["platform_message_id"])
        assert (await teams.post(tap)).status == 200
        await teams.connector.wait_for(lambda calls, n=index: len(teams.connector.of("update")) >= n)
        flow.taps.append(Tap(person["id"], occurrence, choice, teams.clock.now(), None, [], []))
    await teams.adapter.drain()
    flow.moments["open"] = await snapshot(teams.database)
    teams.clock.advance(timedelta(hours=12))
    await scheduler.tick()
    await teams.connector.wait_for(lambda calls: len(teams.connector.of("update")) > len(taps))
    flow.moments["closed"] = await snapshot(teams.database)

    tappers = {person["id"]: f"teams person {person['name']}" for person in people}
    _assert_nothing_attributed(flow, tappers)
    *while_open, closing = teams.connector.of("update")
    assert {u.activity_id for u in (*while_open, closing)} == {posted["platform_message_id"]}
    assert len({_without_count(u.attachments) for u in while_open}) == 1  # only the count ever changed
    assert not any(test_msteams.has_fact_set(u) for u in while_open) and test_msteams.has_fact_set(closing)
    test_msteams.assert_valid_sent(teams.connector.calls)
    lines = _log_lines(log.records)
    assert not any(
        person["id"] in line or person["aadObjectId"] in line for person in people for line in lines
    )
