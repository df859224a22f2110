"""Our SQLite engine (the module name must contain "sqlite": Tortoise picks the
migration schema editor by it), subclassing Tortoise's client and reaching into its
internals: the one place that does so for SQLite.

Always: every statement passes the hooks (`Observed`), write transactions begin
IMMEDIATE, a failed BEGIN gives its lock back, instants are stored as UTC text, and the
planner's statistics are gathered when the connection opens.
Fast paths (`install`, for the versions below only): statements on the event loop's
thread (`LoopConnection`, instead of aiosqlite's worker thread) and reads outside a
transaction on a second, read-only connection. Off, Tortoise's aiosqlite connection runs
every statement, as stock Tortoise does."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

from chrgraph.db import hooks
from chrgraph.db.engine_sqlite.loop_connection import Checkpointer, LoopConnection
from chrgraph.db.observed import Observed
from chrgraph.settings import Settings
from chrgraph.versions import differences

# The exact versions the fast paths were written and tested for (constraints.txt).
WRITTEN_FOR = {"tortoise-orm": "1.1.9", "aiosqlite": "0.22.1"}
_fast = False
# Rows sampled per index by ANALYZE (SQLite's own advice for an approximate, quick one).
_ANALYSIS_LIMIT = 1000
log = logging.getLogger(__name__)


def install(settings: Settings) -> bool:
    """Whether connections opened from now on take the fast paths; returns it."""
    global _fast
    _fast = settings.fast_paths and not differences(WRITTEN_FOR)
    return _fast


def _instant_text(value: datetime) -> str:
    """SQLite stores an instant as text and compares it as text: only one offset makes
    text order instant order, so every aware value is written in UTC (Tortoise's own
    adapter keeps the offset it was given)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(" ")


class ChrSqliteTransaction(Observed, SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ChrSqliteTransaction(self))

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ChrSqliteTransactionContext(SqliteTransactionContext):
    """Tortoise's, except that a BEGIN that fails (another process held the write lock
    past the busy timeout) gives the lock and the connection context back: Tortoise's
    leaves both taken, and every later write of the process would wait forever."""

    async def __aenter__(self):
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class ChrSqliteClient(Observed, SqliteClient):
    """Statements run on the event loop's thread: a statement through aiosqlite's worker
    thread cost about 110 µs of CPU (queue, thread switch, waking the loop) against a few
    µs run directly (docs/performance.md). Writes and transactions use `LoopConnection`
    under Tortoise's lock as before; reads outside a transaction use a second, read-only
    connection and skip that lock: WAL lets it see every committed write without waiting
    for the writer, while a transaction's own reads go through its connection."""

    _reader: sqlite3.Connection | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = _fast  # this client takes the fast paths (as installed when it was made)
        # Replaces Tortoise's adapter (registered when its SQLite client was imported),
        # before this client sends any statement.
        sqlite3.register_adapter(datetime, _instant_text)

    def _in_transaction(self) -> TransactionContext:
        return ChrSqliteTransactionContext(ChrSqliteTransaction(self), self._lock)

    async def create_connection(self, with_db: bool) -> None:
        """Tortoise's, with our loop-thread connection in place of aiosqlite's when the
        fast paths are on."""
        if not self._connection and not self._fast:
            await super().create_connection(with_db)
            await self._gather_statistics()
        elif not self._connection:
            connection = LoopConnection(self.filename)
            # Tortoise declares aiosqlite's Connection here; ours offers the same calls.
            self._connection = connection  # type: ignore[assignment]
            for pragma, value in self.pragmas.items():
                if pragma == "busy_timeout":  # waited for on the loop, never inside SQLite
                    connection.busy_timeout = int(value) / 1000
                    continue
                cursor = await connection.execute(f"PRAGMA {pragma}={value}")
                await cursor.close()
            if self._direct_reads():  # a file: checkpoints leave the loop (Checkpointer)
                cursor = await connection.execute("PRAGMA wal_autocheckpoint=0")
                await cursor.close()
                connection.checkpointer = Checkpointer(self.filename)
            await self._post_connect()
            await self._gather_statistics()

    async def refresh_statistics(self) -> None:
        """Gather the statistics again (a database that started empty has none until it
        has rows) under the client's lock, so never inside a transaction, then reopen the
        read connection: a connection reads the statistics when it opens."""
        async with self._lock:
            await self._gather_statistics()
        if self._reader is not None:  # reads run synchronously: none is under way here
            self._reader.close()
            self._reader = None

    async def _gather_statistics(self) -> None:
        """`ANALYZE`, sampled, before the first read: without statistics SQLite's planner
        takes an organization's lookup by public ids (`organization_id = ? AND public_id
        IN (…)`) through the organization index and walks every row of the organization
        (measured: availability for 5 practitioners at 5,000 members took twice the CPU
        of the same at 120). With them it takes the unique index. `analysis_limit`
        bounds the work per index whatever the file's size. Connections opened later read
        the statistics when they open (the read connection opens on the first read)."""
        connection = self._connection
        if connection is None or self.filename == ":memory:" or "mode=memory" in self.filename:
            return
        try:
            for statement in (f"PRAGMA analysis_limit={_ANALYSIS_LIMIT}", "ANALYZE"):
                cursor = await connection.execute(statement)
                await cursor.close()
        except (sqlite3.OperationalError, OperationalError) as exc:  # e.g. locked: plans only
            log.warning("could not gather the SQLite planner statistics: %s", exc)

    async def execute_query(self, query: str, values: list | None = None) -> Any:
        if not (_is_select(query) and self._direct_reads()):
            return await super().execute_query(query, values)
        hooks.before_statement(query)
        with hooks.statement_span(query):
            rows = self._read(query, values)
            if rows is None:
                return await SqliteClient.execute_query(self, query, values)  # hooks ran
            return len(rows), rows

    async def execute_query_dict(self, query: str, values: list | None = None) -> Any:
        if not (_is_select(query) and self._direct_reads()):
            return await super().execute_query_dict(query, values)
        hooks.before_statement(query)
        with hooks.statement_span(query):
            rows = self._read(query, values)
            if rows is None:
                return await SqliteClient.execute_query_dict(self, query, values)  # hooks ran
            return list(map(dict, rows))

    def _direct_reads(self) -> bool:
        """Not for an in-memory database: a second connection would see another one."""
        return self._fast and self.filename != ":memory:" and "mode=memory" not in self.filename

    def _read(self, query: str, values: list | None) -> list[sqlite3.Row] | None:
        """The rows, or None when the file is busy for a moment (e.g. WAL recovery by
        another process) and the read must take the usual path."""
        reader = self._reader
        if reader is None:
            reader = self._reader = _open_reader(self.filename)
        try:
            return reader.execute(query.replace("\x00", "'||CHAR(0)||'"), values or ()).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None  # never block the event loop waiting: aiosqlite's thread may
            raise OperationalError(exc) from exc
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await super().close()


def _is_select(query: str) -> bool:
    return query[:6].upper() == "SELECT"


def _open_reader(filename: str) -> sqlite3.Connection:
    # timeout=0: a busy file answers at once (and the read goes the usual way) instead of
    # holding the event loop; query_only: this connection can never write.
    reader = sqlite3.connect(filename, timeout=0, isolation_level=None, check_same_thread=False)
    reader.row_factory = sqlite3.Row
    reader.execute("PRAGMA query_only=ON")
    return reader


client_class = ChrSqliteClient
