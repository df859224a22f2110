"""The Tortoise configuration, built from CHRGRAPH_DATABASE_URL alone (§10)."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

from chrgraph.settings import get_settings

MODELS = ["chrgraph.db.models"]


def dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def tortoise_config(url: str | None = None) -> dict[str, Any]:
    url = url or get_settings().database_url
    expanded = expand_db_url(url)
    credentials = expanded["credentials"]
    if dialect(url) == "sqlite":
        engine = "chrgraph.db.engine_sqlite"
        # WAL + NORMAL: durable against a process crash (the API-log promise of §8),
        # about 5x cheaper per commit than FULL (LIBRARY-NOTES). busy_timeout lets the
        # CLI and the server share the file.
        credentials.setdefault("journal_mode", "WAL")
        credentials.setdefault("synchronous", "NORMAL")
        credentials.setdefault("busy_timeout", 10000)
    else:
        engine = "chrgraph.db.engine_asyncpg"
        credentials.setdefault("minsize", 1)
        credentials.setdefault("maxsize", 10)
    return {
        "connections": {"default": {"engine": engine, "credentials": credentials}},
        "apps": {
            "chrgraph": {
                "models": MODELS,
                "default_connection": "default",
                "migrations": "chrgraph.db.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(url: str | None = None, *, migrate: bool = True) -> None:
    """Connect and (by default) bring the schema up to date with our migrations."""
    config = tortoise_config(url)
    if migrate:
        from tortoise.migrations.api import migrate as run_migrations

        await run_migrations(config=config)
        await Tortoise.close_connections()
    # The global fallback lets every task (requests, background jobs) see the ORM.
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()
