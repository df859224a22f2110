"""SQLite plans with statistics: gathered (sampled) when the server's connection opens
and again every hour, after which the read connection reopens to use them (a connection
reads them when it loads the schema). Without them
SQLite takes an organization's lookup by public ids through the organization index and
walks every member of the organization; with them it takes the unique index."""

from __future__ import annotations

import pytest
from tortoise import connections

from tests.accounts import make_clinic
from tests.databases import backend

pytestmark = pytest.mark.skipif(backend() != "sqlite", reason="SQLite's query planner")

LOOKUP = 'SELECT "id" FROM "user" WHERE "organization_id" = ? AND "public_id" IN (?, ?, ?, ?, ?)'


async def _plans(sql: str, values: list) -> list[str]:
    """The plan on the main connection, and on the read connection where the fast paths
    read through one (statements other than SELECT never go there)."""
    conn = connections.get("default")
    _, rows = await conn.execute_query(f"EXPLAIN QUERY PLAN {sql}", values)
    plans = [" / ".join(str(row[3]) for row in rows)]
    if getattr(conn, "_direct_reads", lambda: False)():
        plans.append(" / ".join(str(row[3]) for row in conn._read(f"EXPLAIN QUERY PLAN {sql}", values)))
    return plans


async def _many_members(org_id: int, count: int) -> None:
    """`count` copies of one member of the organization (its unique text columns made
    unique): the size at which the planner's choice matters."""
    conn = connections.get("default")
    (row,) = await conn.execute_query_dict('SELECT * FROM "user" WHERE "organization_id" = ? LIMIT 1', [org_id])
    unique_columns: set[str] = set()
    for index in await conn.execute_query_dict("PRAGMA index_list('user')"):
        if index["unique"]:
            info = await conn.execute_query_dict(f"PRAGMA index_info('{index['name']}')")
            unique_columns |= {c["name"] for c in info}
    columns = [c for c in row if c != "id"]
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "user" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    for n in range(count):
        values = [f"{row[c]}-{n}" if c in unique_columns and isinstance(row[c], str) else row[c] for c in columns]
        await conn.execute_query(sql, values)


async def test_a_lookup_by_public_ids_takes_the_unique_index_once_statistics_are_gathered(client):
    clinic = await make_clinic(client)
    await _many_members(clinic.organization.id, 300)
    conn = connections.get("default")
    # No statistics at all, as in a database that never had them (dropping the table is
    # a schema change: every connection reloads it).
    await conn.execute_script("DROP TABLE IF EXISTS sqlite_stat1")
    for plan in await _plans(LOOKUP, [clinic.organization.id, "a", "b", "c", "d", "e"]):
        assert "uid_user_public_id" not in plan, plan  # through the organization index
    await conn.refresh_statistics()  # what the hourly job does

    _, stats = await conn.execute_query("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'user'")
    assert {row[0] for row in stats} >= {"uid_user_public_id", "fkx_user_organization_id"}
    for plan in await _plans(LOOKUP, [clinic.organization.id, "a", "b", "c", "d", "e"]):
        assert "uid_user_public_id" in plan, plan
