"""Every row of every table, to prove that a request wrote nothing (or exactly what it
should). Read with plain SQL, outside the ORM's models, on either database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tortoise import Tortoise, connections

# Written outside any request's transaction: the API-log writer (its own group commit),
# the scheduled checkpoint signer, and the login throttle, whose reservation commits
# before the password is checked on purpose (a guess counts whatever follows it). None
# belongs to the mutation under test. The webhook worker sends deliveries and records
# their attempts on its own too (the events, the outbox, are the mutation's).
BACKGROUND_TABLES = frozenset({"api_log", "audit_checkpoint", "login_failure", "webhook_delivery", "webhook_attempt"})
# Columns stored on the side of a request, never by the mutation under test: a session's
# last use (written at most once a minute by whichever request comes then) and a
# consumer's (the API-log writer's). BACKGROUND_STATEMENTS tells their writes apart.
BACKGROUND_COLUMNS = {"session": frozenset({"last_used_at"}), "api_consumer": frozenset({"last_used_at"})}
BACKGROUND_STATEMENTS = ('SET "last_used_at"',)


def table_names() -> list[str]:
    return sorted({model._meta.db_table for app in Tortoise.apps.values() for model in app.values()})


@dataclass(frozen=True)
class Snapshot:
    """Each table's rows as a multiset of value tuples (hashed as they come, so a snapshot
    of a large database costs about what reading it costs), and its column names."""

    rows: dict[str, Counter[tuple[Any, ...]]]
    columns: dict[str, tuple[str, ...]]

    def difference(self, later: Snapshot) -> dict[str, dict[str, list[str]]]:
        """{table: {"added": […], "removed": […]}} for every table whose rows differ
        (an updated row is one removed and one added), each row shown with its columns."""
        changed = {}
        for table in sorted(set(self.rows) | set(later.rows)):
            before, after = self.rows.get(table, Counter()), later.rows.get(table, Counter())
            if before != after:
                names = later.columns.get(table) or self.columns.get(table, ())
                changed[table] = {
                    "added": sorted(repr(dict(zip(names, row, strict=False))) for row in (after - before).elements()),
                    "removed": sorted(repr(dict(zip(names, row, strict=False))) for row in (before - after).elements()),
                }
        return changed


def _hashable(values: tuple[Any, ...]) -> tuple[Any, ...]:
    try:
        hash(values)
    except TypeError:  # a JSON value decoded to a dict or list: compared by its text
        return tuple(v if isinstance(v, str | int | float | bytes | type(None)) else repr(v) for v in values)
    return values


async def take_snapshot(exclude: frozenset[str] = BACKGROUND_TABLES) -> Snapshot:
    conn = connections.get("default")
    rows: dict[str, Counter[tuple[Any, ...]]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for table in table_names():
        if table in exclude:
            continue
        _, result = await conn.execute_query(f'SELECT * FROM "{table}"')
        names = tuple(result[0].keys()) if result else ()
        aside = BACKGROUND_COLUMNS.get(table, frozenset())
        kept = [i for i, name in enumerate(names) if name not in aside]
        if len(kept) == len(names):
            rows[table] = Counter(_hashable(tuple(row)) for row in result)
        else:
            rows[table] = Counter(_hashable(tuple(row[i] for i in kept)) for row in result)
        columns[table] = tuple(names[i] for i in kept)
    return Snapshot(rows, columns)
