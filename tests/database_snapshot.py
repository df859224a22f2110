"""Every row of every table, to prove that a request wrote nothing (or exactly what it
should). Read with plain SQL, outside the ORM's models, on either database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

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
    rows: dict[str, Counter[str]]

    def difference(self, later: Snapshot) -> dict[str, dict[str, list[str]]]:
        """{table: {"added": […], "removed": […]}} for every table whose rows differ
        (an updated row is one removed and one added)."""
        changed = {}
        for table in sorted(set(self.rows) | set(later.rows)):
            before, after = self.rows.get(table, Counter()), later.rows.get(table, Counter())
            if before != after:
                changed[table] = {
                    "added": sorted((after - before).elements()),
                    "removed": sorted((before - after).elements()),
                }
        return changed


async def take_snapshot(exclude: frozenset[str] = BACKGROUND_TABLES) -> Snapshot:
    conn = connections.get("default")
    rows: dict[str, Counter[str]] = {}
    for table in table_names():
        if table in exclude:
            continue
        result = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        aside = BACKGROUND_COLUMNS.get(table, frozenset())
        rows[table] = Counter(repr(sorted((k, v) for k, v in dict(row).items() if k not in aside)) for row in result)
    return Snapshot(rows)
