"""What someone holding a copy of the database has: every row, every stored row version, the raw bytes.

For tests that play the attacker against an anonymous flow. Everything here reads the database the
way a person with a dump or the files would, never through Tend's own queries:

- ``dump``: every row of every table, as a logical dump (``pg_dump``, SQLite ``.dump``) holds them.
- ``system_columns``: what places each live row in time or on disk: SQLite's rowid, PostgreSQL's
  ``xmin`` (the writing transaction) and ``ctid``.
- ``raw_bytes``: the files. SQLite: the main file (free pages included) and the -wal. PostgreSQL: every
  page of every table, index and TOAST table of the schema (dead tuples included), and optionally the
  server's WAL segments written since a moment.
- ``stored_rows``: every row version those bytes hold, decoded. SQLite: every b-tree leaf cell of every
  page image in the main file and in every WAL frame (older WAL generations included). PostgreSQL:
  every heap tuple, live or dead, with its ``xmin``/``xmax`` (pageinspect).
- ``snapshot``: all of the above at one moment; ``inspectable_database``: a fresh, migrated database of
  the test's own (PostgreSQL: with pageinspect), so no other test's bytes or dead rows are mixed in.

Decoding is best effort, as an attacker's would be: a cell that does not parse is skipped.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import create_postgres_database, drop_postgres_database

Row = dict[str, object]
Dump = dict[str, list[Row]]


# --- the logical dump ---------------------------------------------------------------------------------


async def table_names(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return sorted(names)


async def table_columns(database: Database) -> dict[str, list[str]]:
    """Each table's columns in their stored order."""

    def read(sync: object) -> dict[str, list[str]]:
        inspector = inspect(sync)
        return {
            name: [column["name"] for column in inspector.get_columns(name)]
            for name in inspector.get_table_names()
        }

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)


async def dump(database: Database) -> Dump:
    """Every row of every table, in the order the database hands them out (its storage order)."""
    tables: Dump = {}
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sorted(inspect(sync).get_table_names()))
        for name in names:
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))
            tables[name] = [dict(row._mapping) for row in result]
    return tables


@dataclass(frozen=True)
class Placed:
    """A live row with the system columns that place it: SQLite ``rowid``; PostgreSQL ``xmin``, ``ctid``."""

    table: str
    row: Row
    rowid: int | None = None
    xmin: int | None = None
    ctid: tuple[int, int] | None = None


async def system_columns(database: Database) -> list[Placed]:
    """Every live row of every table with its rowid (SQLite) or xmin and ctid (PostgreSQL)."""
    placed: list[Placed] = []
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sorted(inspect(sync).get_table_names()))
        for name in names:
            if database.is_sqlite:
                try:
                    result = await connection.execute(text(f'SELECT rowid AS "_rowid_", * FROM "{name}"'))
                except Exception:  # a WITHOUT ROWID table: no rowid to sort by
                    continue
                for row in result:
                    values = dict(row._mapping)
                    rowid = values.pop("_rowid_")
                    placed.append(Placed(name, values, rowid=int(rowid)))
                continue
            query = f'SELECT xmin::text::bigint AS "_xmin_", ctid::text AS "_ctid_", * FROM "{name}"'
            for row in await connection.execute(text(query)):
                values = dict(row._mapping)
                xmin, ctid = values.pop("_xmin_"), values.pop("_ctid_")
                placed.append(Placed(name, values, xmin=int(xmin), ctid=_ctid(str(ctid))))
    return placed


def _ctid(value: str) -> tuple[int, int]:
    block, item = value.strip("()").split(",")
    return int(block), int(item)


# --- raw bytes ------------------------------------------------------------------------------------------


def sqlite_path(database: Database) -> Path:
    name = make_url(database.url).database
    assert name, database.url
    return Path(name)


async def raw_bytes(database: Database, *, wal_since: datetime | None = None) -> dict[str, bytes]:
    """The database's files as bytes, by name.

    SQLite: ``main`` and ``wal`` (and ``journal`` if one exists). PostgreSQL: one entry per relation of
    the schema (tables, their indexes and TOAST tables), its pages concatenated; with ``wal_since``
    (the server's clock), also ``pg_wal/<segment>`` for each WAL segment modified since then. The WAL
    belongs to the whole server: other databases' records are in it too.
    """
    if database.is_sqlite:
        return await asyncio.to_thread(_sqlite_files, sqlite_path(database))
    connection = await asyncpg.connect(database.url)
    try:
        found = {}
        for relation in await _relations(connection):
            found[relation] = b"".join(await _pages(connection, relation))
        if wal_since is not None:
            segments = await connection.fetch(
                "SELECT name FROM pg_ls_waldir() WHERE modification >= $1 ORDER BY name", wal_since
            )
            for segment in segments:
                path = f"pg_wal/{segment['name']}"
                found[path] = await connection.fetchval("SELECT pg_read_binary_file($1)", path)
        return found
    finally:
        await connection.close()


def _sqlite_files(path: Path) -> dict[str, bytes]:
    found = {"main": path.read_bytes()}
    for suffix, name in (("-wal", "wal"), ("-journal", "journal")):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            found[name] = extra.read_bytes()
    return found


async def postgres_now(database: Database) -> datetime:
    """The server's clock (for ``raw_bytes(wal_since=...)``; WAL file times are the server's)."""
    connection = await asyncpg.connect(database.url)
    try:
        moment: datetime = await connection.fetchval("SELECT clock_timestamp()")
        return moment
    finally:
        await connection.close()


async def _relations(connection: asyncpg.Connection) -> list[str]:
    """The schema's tables and indexes and the TOAST tables (and their indexes) behind its tables."""
    rows = await connection.fetch(
        """
        SELECT c.oid::regclass::text AS name FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')
        UNION
        SELECT t.oid::regclass::text FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
        WHERE c.relnamespace = 'public'::regnamespace
        UNION
        SELECT i.indexrelid::regclass::text FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid
        WHERE c.relnamespace = 'public'::regnamespace
        ORDER BY 1
        """
    )
    return [row["name"] for row in rows]


async def _pages(connection: asyncpg.Connection, relation: str) -> list[bytes]:
    size = await connection.fetchval(
        "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", relation
    )
    return [
        await connection.fetchval("SELECT get_raw_page($1, $2)", relation, block)
        for block in range(int(size))
    ]


def hex_strings(data: bytes, length: int = 32) -> set[str]:
    """Every run of exactly ``length`` lowercase hex characters in the bytes (keys, digests, salts)."""
    pattern = re.compile(rb"(?<![0-9a-f])[0-9a-f]{%d}(?![0-9a-f])" % length)
    return {match.decode() for match in pattern.findall(data)}


def printable_strings(data: bytes, minimum: int = 6) -> set[str]:
    """Every run of printable ASCII of at least ``minimum`` characters (what ``strings`` prints)."""
    return {match.decode() for match in re.findall(rb"[\x20-\x7e]{%d,}" % minimum, data)}


# --- every stored row version -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One row version as the bytes hold it.

    ``table`` is the table (or index) owning the page, None when no b-tree reaches it any more (a free
    page). ``where`` says which bytes (``main page 4``, ``wal frame 17 (page 4)``, ``heap 0/3``).
    ``current``: SQLite, the page image is the page's current version; PostgreSQL, the tuple is live.
    ``order``: what sorts it in time: the rowid (SQLite) or ``xmin`` (PostgreSQL). ``commit``: SQLite,
    the index of the WAL commit that wrote the frame (None for the main file).
    """

    table: str | None
    values: tuple[object, ...]
    where: str
    current: bool
    order: int | None = None
    xmax: int | None = None
    commit: int | None = None
    page: int | None = None  # SQLite page number, PostgreSQL block


async def stored_rows(database: Database) -> list[Stored]:
    """Every row version the database's bytes hold, live or not (see ``Stored``)."""
    if database.is_sqlite:
        roots = await _sqlite_roots(database)
        files = await asyncio.to_thread(_sqlite_files, sqlite_path(database))
        return sqlite_rows(files["main"], files.get("wal", b""), roots)
    connection = await asyncpg.connect(database.url)
    try:
        found: list[Stored] = []
        for table in await connection.fetch(
            "SELECT oid, relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        ):
            found += await _heap_tuples(connection, table["oid"], table["relname"])
        return found
    finally:
        await connection.close()


async def _heap_tuples(connection: asyncpg.Connection, oid: int, name: str) -> list[Stored]:
    columns = await connection.fetch(
        """
        SELECT attname, attisdropped, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1 AND attnum > 0 ORDER BY attnum
        """,
        oid,
    )
    live = {_ctid(row["ctid"]) for row in await connection.fetch(f'SELECT ctid::text AS ctid FROM "{name}"')}
    size = await connection.fetchval(
        "SELECT pg_relation_size($1::oid::regclass) / current_setting('block_size')::int", oid
    )
    found: list[Stored] = []
    for block in range(int(size)):
        items = await connection.fetch(
            """
            SELECT i.lp, i.t_xmin, i.t_xmax, a.t_attrs
            FROM heap_page_items(get_raw_page($1::oid::regclass::text, $2)) i
            JOIN heap_page_item_attrs(get_raw_page($1::oid::regclass::text, $2), $1::oid::regclass) a
                USING (lp)
            WHERE i.t_data IS NOT NULL
            """,
            oid,
            block,
        )
        for item in items:
            attrs = item["t_attrs"] or []
            values = tuple(  # dropped columns left out, so values line up with the table's columns
                _postgres_value(column["type"], raw)
                for column, raw in zip(columns, attrs, strict=False)
                if not column["attisdropped"]
            )
            found.append(
                Stored(
                    table=name,
                    values=values,
                    where=f"heap {block}/{item['lp']}",
                    current=(block, item["lp"]) in live,
                    order=int(item["t_xmin"]),
                    xmax=int(item["t_xmax"]),
                    page=block,
                )
            )
    return found


POSTGRES_EPOCH = datetime(2000, 1, 1)


def _postgres_value(kind: str, raw: bytes | None) -> object:
    """One attribute's on-disk bytes as a value (the common types; anything else stays bytes)."""
    if raw is None:
        return None
    if kind == "integer":
        return struct.unpack("<i", raw[:4])[0]
    if kind == "bigint":
        return struct.unpack("<q", raw[:8])[0]
    if kind == "smallint":
        return struct.unpack("<h", raw[:2])[0]
    if kind == "boolean":
        return bool(raw[0])
    if kind == "double precision":
        return struct.unpack("<d", raw[:8])[0]
    if kind.startswith("timestamp"):
        return POSTGRES_EPOCH + timedelta(microseconds=struct.unpack("<q", raw[:8])[0])
    if kind == "date":
        return (POSTGRES_EPOCH + timedelta(days=struct.unpack("<i", raw[:4])[0])).date()
    if kind.startswith(("character varying", "text", "character")):
        return _varlena(raw).decode("utf-8", errors="replace")
    return raw


def _varlena(raw: bytes) -> bytes:
    """A varlena's data: a 1-byte header (short), else a 4-byte one; compressed or external stay raw."""
    first = raw[0]
    if first & 0x01:
        return raw[1 : first >> 1] if first != 0x01 else raw
    header = int.from_bytes(raw[:4], "little")
    if header & 0x03:
        return raw
    return raw[4 : header >> 2]


# --- SQLite's file format -------------------------------------------------------------------------------

TABLE_LEAF, TABLE_INTERIOR, INDEX_LEAF, INDEX_INTERIOR = 0x0D, 0x05, 0x0A, 0x02


@dataclass(frozen=True)
class WalFrame:
    """One frame of a -wal file: a page image, and whether it belongs to the current WAL generation."""

    index: int
    page: int
    commit_size: int  # non-zero on the last frame of a commit
    current_generation: bool
    data: bytes


def wal_frames(wal: bytes) -> list[WalFrame]:
    """Every frame in a -wal file, older generations (other salts) included: their bytes are still there."""
    if len(wal) < 32:
        return []
    page_size = int.from_bytes(wal[8:12], "big")
    salts = wal[16:24]
    frames: list[WalFrame] = []
    position = 32
    while position + 24 + page_size <= len(wal):
        header = wal[position : position + 24]
        frames.append(
            WalFrame(
                index=len(frames),
                page=int.from_bytes(header[0:4], "big"),
                commit_size=int.from_bytes(header[4:8], "big"),
                current_generation=header[8:16] == salts,
                data=wal[position + 24 : position + 24 + page_size],
            )
        )
        position += 24 + page_size
    return frames


async def _sqlite_roots(database: Database) -> dict[int, str]:
    async with database.engine.connect() as connection:
        result = await connection.execute(text("SELECT rootpage, name FROM sqlite_master WHERE rootpage > 0"))
        return {int(page): str(name) for page, name in result}


def sqlite_page_size(main: bytes) -> int:
    size = int.from_bytes(main[16:18], "big")
    return 65536 if size == 1 else size


def sqlite_rows(main: bytes, wal: bytes, roots: dict[int, str]) -> list[Stored]:
    """Every leaf cell of every page image in the main file and the WAL, with the table owning it.

    Ownership is found by walking each b-tree from its root (``roots``: root page -> name) through
    the current page images (the main file, then the WAL's committed frames of this generation).
    """
    page_size = sqlite_page_size(main)
    images = {
        number + 1: main[number * page_size : (number + 1) * page_size]
        for number in range(len(main) // page_size)
    }
    frames = wal_frames(wal)
    committed = _committed(frames)
    current = dict(images)
    for frame in frames:
        if frame.index in committed:
            current[frame.page] = frame.data
    owner = _owners(current, roots)
    found: list[Stored] = []
    for number, image in images.items():
        fresh = current.get(number) is image
        found += _cells(image, number, owner.get(number), f"main page {number}", fresh, None)
    commit_of = _commit_index(frames)
    for frame in frames:
        fresh = current.get(frame.page) is frame.data
        where = f"wal frame {frame.index} (page {frame.page})"
        found += _cells(
            frame.data, frame.page, owner.get(frame.page), where, fresh, commit_of.get(frame.index)
        )
    return found


def _committed(frames: list[WalFrame]) -> set[int]:
    """Indexes of the current generation's frames up to its last commit frame."""
    chosen: set[int] = set()
    pending: list[int] = []
    for frame in frames:
        if not frame.current_generation:
            continue
        pending.append(frame.index)
        if frame.commit_size:
            chosen.update(pending)
            pending = []
    return chosen


def _commit_index(frames: list[WalFrame]) -> dict[int, int]:
    """Frame index -> the ordinal of the commit it belongs to (frames in file order)."""
    found: dict[int, int] = {}
    commit = 0
    for frame in frames:
        found[frame.index] = commit
        if frame.commit_size:
            commit += 1
    return found


def _header_offset(number: int) -> int:
    return 100 if number == 1 else 0


def _owners(images: dict[int, bytes], roots: dict[int, str]) -> dict[int, str]:
    owner: dict[int, str] = {}
    for root, name in roots.items():
        stack = [root]
        while stack:
            number = stack.pop()
            image = images.get(number)
            if image is None or number in owner:
                continue
            owner[number] = name
            stack += _children(image, _header_offset(number))
    return owner


def _children(image: bytes, at: int) -> list[int]:
    kind = image[at]
    if kind not in (TABLE_INTERIOR, INDEX_INTERIOR):
        return []
    count = int.from_bytes(image[at + 3 : at + 5], "big")
    children = [int.from_bytes(image[at + 8 : at + 12], "big")]
    for pointer in _pointers(image, at + 12, count):
        children.append(int.from_bytes(image[pointer : pointer + 4], "big"))
    return children


def _pointers(image: bytes, at: int, count: int) -> Iterable[int]:
    for index in range(count):
        yield int.from_bytes(image[at + 2 * index : at + 2 * index + 2], "big")


def _cells(
    image: bytes, number: int, table: str | None, where: str, current: bool, commit: int | None
) -> list[Stored]:
    at = _header_offset(number)
    if len(image) <= at + 8 or image[at] not in (TABLE_LEAF, INDEX_LEAF):
        return []
    usable = len(image)
    count = int.from_bytes(image[at + 3 : at + 5], "big")
    found: list[Stored] = []
    for pointer in _pointers(image, at + 8, count):
        try:
            size, position = _varint(image, pointer)
            rowid = None
            if image[at] == TABLE_LEAF:
                rowid, position = _varint(image, position)
            local = _local_size(size, usable, table_leaf=image[at] == TABLE_LEAF)
            values = _record(image[position : position + local])
        except (IndexError, ValueError, struct.error):
            continue
        found.append(Stored(table, values, where, current, order=rowid, commit=commit, page=number))
    return found


def _local_size(size: int, usable: int, *, table_leaf: bool) -> int:
    """How much of a payload is on the page itself (the rest is on overflow pages, not followed)."""
    limit = usable - 35 if table_leaf else ((usable - 12) * 64 // 255) - 23
    if size <= limit:
        return size
    minimum = ((usable - 12) * 32 // 255) - 23
    spill = minimum + ((size - minimum) % (usable - 4))
    return spill if spill <= limit else minimum


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    for index in range(9):
        byte = data[position + index]
        if index == 8:
            return (value << 8) | byte, position + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, position + index + 1
    raise ValueError("varint")


_INTEGER_WIDTHS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(payload: bytes) -> tuple[object, ...]:
    """A SQLite record (header of serial types, then the values) as Python values."""
    header_size, position = _varint(payload, 0)
    kinds = []
    while position < header_size:
        kind, position = _varint(payload, position)
        kinds.append(kind)
    body = header_size
    values: list[object] = []
    for kind in kinds:
        if kind in _INTEGER_WIDTHS:
            width = _INTEGER_WIDTHS[kind]
            chunk = payload[body : body + width]
            if len(chunk) < width:
                raise ValueError("truncated")
            values.append(int.from_bytes(chunk, "big", signed=True))
        elif kind == 7:
            width = 8
            values.append(struct.unpack(">d", payload[body : body + 8])[0])
        elif kind in (8, 9):
            width = 0
            values.append(kind - 8)
        elif kind >= 12:
            width = (kind - 12) // 2
            chunk = payload[body : body + width]
            values.append(chunk if kind % 2 == 0 else chunk.decode("utf-8", errors="replace"))
        else:
            width = 0
            values.append(None)
        body += width
    return tuple(values)


# --- one moment, and a database to take it from -----------------------------------------------------------


@dataclass
class Snapshot:
    """Everything the attacker holds about the database at one moment."""

    tables: Dump
    placed: list[Placed]
    files: dict[str, bytes]
    stored: list[Stored]
    columns: dict[str, list[str]] = field(default_factory=dict)  # each table's columns, in stored order
    taken_at: datetime | None = None  # the test clock's time

    @property
    def raw(self) -> bytes:
        """Every byte of every file, concatenated (for searches that need no structure)."""
        return b"".join(self.files.values())

    @property
    def xmins(self) -> dict[str, list[tuple[int, Row]]]:
        """PostgreSQL: each table's live rows with their xmin."""
        found: dict[str, list[tuple[int, Row]]] = {}
        for placed in self.placed:
            if placed.xmin is not None:
                found.setdefault(placed.table, []).append((placed.xmin, placed.row))
        return found

    def rows(self) -> list[tuple[str, Row]]:
        return [(name, row) for name, rows in self.tables.items() for row in rows]

    def named(self, stored: Stored) -> Row | None:
        """A stored version with its column names, when its table is known and the shape fits.

        SQLite keeps an ``INTEGER PRIMARY KEY`` as the rowid (NULL in the record): it is put back.
        """
        columns = self.columns.get(stored.table or "")
        if not columns or len(columns) != len(stored.values):
            return None
        row = dict(zip(columns, stored.values, strict=True))
        if "id" in row and row["id"] is None and stored.xmax is None:  # SQLite (PostgreSQL sets xmax)
            row["id"] = stored.order
        return row


async def snapshot(
    database: Database, *, taken_at: datetime | None = None, wal_since: datetime | None = None
) -> Snapshot:
    """A dump, the system columns, the files' bytes and every stored row version, at this moment."""
    return Snapshot(
        tables=await dump(database),
        placed=await system_columns(database),
        files=await raw_bytes(database, wal_since=wal_since),
        stored=await stored_rows(database),
        columns=await table_columns(database),
        taken_at=taken_at,
    )


@asynccontextmanager
async def inspectable_database(
    backend: str, folder: Path, sqlite_template: Path | None = None
) -> AsyncIterator[Database]:
    """A migrated database no other test wrote to; on PostgreSQL with ``pageinspect`` for raw pages.

    ``sqlite_template`` (the conftest fixture's migrated file) saves migrating SQLite again.
    """
    if backend == "sqlite":
        path = folder / "inspected.db"
        if sqlite_template is not None:
            shutil.copyfile(sqlite_template, path)
            url = f"sqlite:///{path}"
        else:
            url = f"sqlite:///{path}"
            await upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()
        return
    url = await create_postgres_database()
    try:
        await upgrade(url)
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        finally:
            await connection.close()
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()
    finally:
        await drop_postgres_database(url)


def as_moment(value: object) -> datetime | None:
    """A stored time as a naive datetime (SQLite keeps text), else None."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?", value):
        return datetime.fromisoformat(value)
    return None
