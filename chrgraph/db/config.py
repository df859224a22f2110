"""The Tortoise configuration, built from CHRGRAPH_DATABASE_URL alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from asyncpg import InvalidCatalogNameError, PostgresError
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError

from chrgraph.db.raw import start_orm
from chrgraph.settings import get_settings

MODELS = ["chrgraph.db.models"]


def dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


# What connecting raises when the database cannot be opened (OSError covers a refused or
# timed-out connection and an unknown host).
_CANNOT_OPEN = (OSError, TimeoutError, sqlite3.Error, PostgresError, DBConnectionError)


class DatabaseMissing(Exception):
    """No chrgraph database at the configured URL (and this command does not create one)."""


class DatabaseUnreachable(Exception):
    """The database at the configured URL cannot be opened: server down, refused login,
    unreadable file."""


def shown_url(url: str) -> str:
    """The URL as it may be printed: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def sqlite_file(url: str) -> Path | None:
    """The SQLite file a URL names, absolute; None for PostgreSQL and in-memory SQLite."""
    if dialect(url) != "sqlite":
        return None
    path = expand_db_url(url)["credentials"]["file_path"]
    return None if path == ":memory:" else Path(path).absolute()


def tortoise_config(url: str | None = None) -> dict[str, Any]:
    url = url or get_settings().database_url
    expanded = expand_db_url(url)
    credentials = expanded["credentials"]
    if dialect(url) == "sqlite":
        engine = "chrgraph.db.engine_sqlite"
        # WAL + NORMAL: durable against a process crash (an answered consumer request
        # keeps its API-log row),
        # about 5x cheaper per commit than FULL. busy_timeout lets the
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
    await start_orm(config)


async def open_database(url: str | None = None, *, create: bool) -> None:
    """`init_db` for a command: a database that cannot be opened is `DatabaseUnreachable`;
    without `create`, an absent one (no SQLite file, no PostgreSQL database, or one that
    holds no chrgraph tables) is `DatabaseMissing` and nothing is written. A PostgreSQL
    database is never created here: its administrator creates it."""
    url = url or get_settings().database_url
    config = tortoise_config(url)
    file = sqlite_file(url)
    missing = (
        f"no chrgraph database at {shown_url(url)}"
        + (f" ({file})" if file else "")
        + ": create it with `chrgraph migrate`, or set CHRGRAPH_DATABASE_URL to the right one"
    )
    if file is not None and not create and not file.exists():
        raise DatabaseMissing(missing)  # connecting would create the file
    try:
        await Tortoise.init(config=config)
        found = await _has_chrgraph_tables(url)
    except Exception as exc:
        await Tortoise.close_connections()
        if _caused_by(exc, InvalidCatalogNameError):
            raise DatabaseMissing(
                f"no database at {shown_url(url)}: create it (CREATE DATABASE), "
                "or set CHRGRAPH_DATABASE_URL to the right one"
            ) from None
        if _caused_by(exc, *_CANNOT_OPEN):
            raise DatabaseUnreachable(f"cannot open the database at {shown_url(url)}: {_reason(exc)}") from None
        raise
    await Tortoise.close_connections()
    if not found and not create:
        raise DatabaseMissing(missing)
    await init_db(url)


async def _has_chrgraph_tables(url: str) -> bool:
    if dialect(url) == "sqlite":
        sql = "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'tortoise_migrations'"
    else:
        sql = "SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE tablename = 'tortoise_migrations'"
    _, rows = await connections.get("default").execute_query(sql)
    return bool(rows[0]["n"])


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _caused_by(exc: BaseException, *kinds: type[BaseException]) -> bool:
    return any(isinstance(link, kinds) for link in _chain(exc))


def _reason(exc: BaseException) -> str:
    """The innermost cause's message, on one line."""
    root = _chain(exc)[-1]
    return " ".join(str(root).split()) or type(root).__name__


async def refresh_planner_statistics() -> None:
    """SQLite: gather the query planner's statistics again (an hourly job of the server;
    chrgraph/db/engine_sqlite). PostgreSQL's autovacuum keeps its own."""
    refresh = getattr(connections.get("default"), "refresh_statistics", None)
    if refresh is not None:
        await refresh()


async def close_db() -> None:
    await Tortoise.close_connections()
