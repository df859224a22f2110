"""SQLite plans with statistics: gathered (sampled) when the server's connection opens
and again every hour, after which the read connection reopens to use them (a connection
reads them when it loads the schema). Without them SQLite takes an organization's lookup
by public ids through the organization index and walks every member of the organization;
with them, in one clinic's database, it takes the unique index."""

from __future__ import annotations

import sqlite3

import pytest
from tortoise import connections

from chrgraph.db.engine_sqlite import _ANALYSIS_LIMIT
from tests.accounts import make_clinic
from tests.databases import backend

pytestmark = pytest.mark.skipif(backend() != "sqlite", reason="SQLite's query planner")

LOOKUP = 'SELECT "id" FROM "user" WHERE "organization_id" = ? AND "public_id" IN (?, ?, ?, ?, ?)'


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


async def test_statistics_are_gathered_again_and_the_read_connection_reopens(client):
    conn = connections.get("default")
    await conn.execute_script("DROP TABLE IF EXISTS sqlite_stat1")
    await make_clinic(client)  # rows to describe; a read opens the read connection
    reader = getattr(conn, "_reader", None)
    await conn.refresh_statistics()  # what the hourly job does

    _, stats = await conn.execute_query("SELECT idx FROM sqlite_stat1 WHERE tbl = 'user'")
    assert {row[0] for row in stats} >= {"uid_user_public_id", "fkx_user_organization_id"}
    if reader is not None:  # the fast paths' read connection: a new one since
        assert conn._reader is not reader


async def test_with_statistics_one_clinics_lookup_by_public_ids_takes_the_unique_index(client, tmp_path):
    """Why: one clinic's database (what SQLite serves) with 300 members, the user table and
    its indexes exactly as migrated. PostgreSQL keeps statistics per value on its own."""
    clinic = await make_clinic(client)
    await _many_members(clinic.organization.id, 300)
    conn = connections.get("default")
    _, made = await conn.execute_query(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'user' AND type IN ('table', 'index') AND sql IS NOT NULL"
        " ORDER BY type = 'index'"
    )
    members = 'SELECT * FROM "user" WHERE "organization_id" = ?'
    rows = await conn.execute_query_dict(members, [clinic.organization.id])
    one = sqlite3.connect(tmp_path / "one-clinic.db", isolation_level=None)
    try:
        for (sql,) in made:
            one.execute(sql)
        columns = list(rows[0])
        names = ", ".join(f'"{c}"' for c in columns)
        insert = f'INSERT INTO "user" ({names}) VALUES ({", ".join("?" for _ in columns)})'
        one.executemany(insert, [[row[c] for c in columns] for row in rows])
        values = [clinic.organization.id, "a", "b", "c", "d", "e"]

        def plan() -> str:
            return " / ".join(str(r[3]) for r in one.execute(f"EXPLAIN QUERY PLAN {LOOKUP}", values))

        assert "uid_user_public_id" not in plan()  # no statistics: the organization's walk
        one.execute(f"PRAGMA analysis_limit={_ANALYSIS_LIMIT}")
        one.execute("ANALYZE")
        one.close()
        one = sqlite3.connect(tmp_path / "one-clinic.db", isolation_level=None)  # reads them on opening
        assert "uid_user_public_id" in plan()
    finally:
        one.close()
