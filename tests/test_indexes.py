"""Foreign keys we look rows up by are indexed on both databases (migration 0011), and
the lookups that made whole-table scans use them."""

from __future__ import annotations

import importlib

import pytest
from tortoise import connections

from tests.databases import backend

migration = importlib.import_module("chrgraph.db.migrations.0011_foreign_key_indexes")


async def _index_names() -> set[str]:
    conn = connections.get("default")
    if backend() == "sqlite":
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        _, rows = await conn.execute_query("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
    return {row["name"] for row in rows}


async def test_every_foreign_key_index_exists(app):
    expected = {
        migration.index_name(table, columns) for table, indexes in migration.INDEXES.items() for columns in indexes
    }
    assert expected <= await _index_names()


@pytest.mark.skipif(backend() != "sqlite", reason="PostgreSQL's planner scans small tables; the catalog test covers it")
async def test_an_organizations_users_and_a_users_invitations_are_found_by_index(app):
    conn = connections.get("default")
    for sql in (
        'SELECT "id" FROM "user" WHERE "organization_id" = ?',
        'UPDATE "invitation" SET "voided_at" = ? WHERE "user_id" = ? AND "used_at" IS NULL',
        'SELECT "id" FROM "appointment" WHERE "practitioner_id" = ? AND "start" < ?',
    ):
        _, plan = await conn.execute_query("EXPLAIN QUERY PLAN " + sql, [1, 1] if sql.count("?") == 2 else [1])
        details = " ".join(row["detail"] for row in plan)
        assert "USING INDEX fkx_" in details or "USING COVERING INDEX fkx_" in details, (sql, details)
