"""A throwaway database per test run: a SQLite file, or a fresh PostgreSQL database
(CHRGRAPH_TEST_DB=postgres)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid

import asyncpg

ADMIN_URL = os.environ.get("CHRGRAPH_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def backend() -> str:
    return os.environ.get("CHRGRAPH_TEST_DB", "sqlite")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database() -> tuple[str, object]:
    """(database URL, cleanup callable)."""
    if backend() == "postgres":
        name = f"chrgraph_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        base = ADMIN_URL.rsplit("/", 1)[0]

        def drop() -> None:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        return f"{base}/{name}", drop
    folder = tempfile.mkdtemp(prefix="chrgraph-test-")
    return f"sqlite://{folder}/test.db", lambda: None
