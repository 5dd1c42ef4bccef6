"""``python app.py rotate-key``: every value sealed under an old ``TEND_SECRET_KEY`` sealed again under
the current one, while the old key (in ``TEND_PREVIOUS_SECRET_KEYS``) still opens it.

What is re-sealed: each column of ``storage.sealed.SEALED_COLUMNS`` (who is on each side of a support
relay, check-in answers, sealed outbox rows, anonymous events waiting in the inbound queue) and each
platform's stored credentials (the adapters' resealers, e.g. ``adapters.slack.oauth.reseal_credentials``,
handed in by app.py, which also seal a token still stored in plain text). Each value is written back
only if its row still holds what was read, so the rotation can run beside a live Tend; running it
twice changes nothing the second time.

What cannot be re-keyed: keyed digests, computed from what Tend does not keep (a voter's platform id,
a member id per week, a platform's event id). They stay as they were; what that costs is in
docs/operations.md ("Rotating TEND_SECRET_KEY"). Digests computed with an old key stop matching once
the key changes: that is also what makes them unlinkable for good once the old key is destroyed.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot import inbound
from bot.delivery import SEALED_PURPOSE
from bot.ports import SdkTables
from bot.settings import Settings
from practices.meeting_openers import SCORE_PURPOSE
from practices.sealing import Keyring, open_with, seal
from practices.stress_reports import AUTHOR, SUPPORTER
from storage.db import Database
from storage.external import ExternalTables
from storage.migrate import DatabaseUnavailable, upgrade_sync
from storage.sealed import SEALED_COLUMNS, SealedColumn, replace_sealed, sealed_page

# The purpose each sealed column's values were sealed for (practices.sealing derives a key per purpose).
PURPOSES: dict[str, str] = {
    "relay.author": AUTHOR,
    "relay.supporter": SUPPORTER,
    "opener.score": SCORE_PURPOSE,
    "outbox.sealed": SEALED_PURPOSE,
    "inbound.sealed": inbound.SEALED_PURPOSE,
}

# An adapter's part: (the port to its SDK's tables, the keyring) -> counts by outcome.
PlatformResealer = Callable[[SdkTables, bytes], Awaitable[Mapping[str, int]]]

NO_KEY = (
    "Tend cannot rotate the key: TEND_SECRET_KEY is not set. Set it to the NEW key and put the old one "
    "in TEND_PREVIOUS_SECRET_KEYS (docs/operations.md, rotating the key)."
)


async def reseal_column(database: Database, column: SealedColumn, keys: bytes) -> Counter[str]:
    """One column, a page per transaction: ``resealed``, already ``current``, ``unreadable`` (no key
    opens it; left as it is), or ``changed`` (the row changed or went while this ran: nothing to do,
    whoever changed it sealed under whatever key it has)."""
    counts: Counter[str] = Counter()
    purpose = PURPOSES[column.name]
    after: tuple[Any, ...] | None = None
    while True:
        async with database.session() as session:
            page = await sealed_page(session, column, after)
            for key, stored in page:
                opened = open_with(keys, purpose, stored)
                if opened is None:
                    counts["unreadable"] += 1
                elif opened[0] == 0:
                    counts["current"] += 1
                elif await replace_sealed(session, column, key, stored, seal(keys, purpose, opened[1])):
                    counts["resealed"] += 1
                else:
                    counts["changed"] += 1
        if not page:
            return counts
        after = page[-1][0]


async def rotate(
    database: Database, keys: bytes, platforms: Mapping[str, PlatformResealer] | None = None
) -> dict[str, Counter[str]]:
    """Re-seals everything stored; returns counts per column and per platform part."""
    report: dict[str, Counter[str]] = {}
    for column in SEALED_COLUMNS:
        report[column.name] = await reseal_column(database, column, keys)
    for name, reseal in (platforms or {}).items():
        report[name] = Counter(dict(await reseal(ExternalTables(database.engine), keys)))
    return report


def describe(report: Mapping[str, Counter[str]]) -> list[str]:
    lines = []
    for name, counts in report.items():
        done = counts["resealed"] + counts["sealed"]
        parts = [f"{done} sealed under the new key", f"{counts['current']} already were"]
        if counts["unreadable"]:
            parts.append(f"{counts['unreadable']} no configured key opens (left as they are)")
        if counts["changed"]:
            parts.append(f"{counts['changed']} changed meanwhile (already new)")
        lines.append(f"  {name}: " + ", ".join(parts))
    return lines


def rotate_key_command(settings: Settings, platforms: Mapping[str, PlatformResealer] | None = None) -> int:
    """The command line: 0 when everything stored is sealed under the current key, 1 when some value
    no configured key opens was left, 2 when the rotation could not run."""
    keys = settings.secret_key
    if keys is None:
        print(NO_KEY, file=sys.stderr)
        return 2
    if not (isinstance(keys, Keyring) and keys.previous):
        print(
            "TEND_PREVIOUS_SECRET_KEYS is empty: only what is still in plain text is sealed; anything "
            "sealed under another key stays unreadable.",
            file=sys.stderr,
        )
    try:
        upgrade_sync(settings.database_url)
    except DatabaseUnavailable as error:
        print(f"Tend cannot rotate the key: {error}", file=sys.stderr)
        return 2

    async def run() -> dict[str, Counter[str]]:
        database = Database(settings.database_url)
        try:
            return await rotate(database, keys, platforms)
        finally:
            await database.dispose()

    report = asyncio.run(run())
    print("Re-sealed under the current TEND_SECRET_KEY:")
    print("\n".join(describe(report)))
    unreadable = sum(counts["unreadable"] for counts in report.values())
    if unreadable:
        print(
            f"{unreadable} stored values are sealed under a key that is in neither TEND_SECRET_KEY nor "
            "TEND_PREVIOUS_SECRET_KEYS; add that key to TEND_PREVIOUS_SECRET_KEYS and run this again.",
            file=sys.stderr,
        )
        return 1
    print(
        "Done. Once every replica runs with this TEND_SECRET_KEY, remove the old key from "
        "TEND_PREVIOUS_SECRET_KEYS (docs/operations.md says what keyed digests lose)."
    )
    return 0
