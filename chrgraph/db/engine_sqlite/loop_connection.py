"""The SQLite connection of our engine, run on the event loop's thread.

Tortoise's SQLite client talks to aiosqlite, which hands every statement to a worker
thread and wakes the event loop when it is done: about 110 µs of CPU per statement on
our machine, against a few µs for the statement itself (docs/performance.md). This class
offers the part of `aiosqlite.Connection` that Tortoise uses, running each call directly.

Two things aiosqlite's thread gave us for free are kept by hand:
- waiting for another process's write lock never blocks the loop: the connection has no
  busy timeout of its own (`timeout=0`; the engine turns the `busy_timeout` pragma into
  `LoopConnection.busy_timeout`), and a busy answer is retried after an `asyncio.sleep`
  until that many seconds have passed;
- a long run of statements (a bulk import, license enforcement) still lets other
  requests in: the loop gets a turn at least every `YIELD_AFTER` seconds."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

BUSY_TIMEOUT = 5.0  # seconds, sqlite3's default
YIELD_AFTER = 0.002
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class LoopCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def close(self) -> None:
        self._cursor.close()


class Checkpointer:
    """WAL checkpoints in a worker thread, not inside a commit on the event loop.

    SQLite checkpoints automatically inside the commit that grows the WAL past 1,000
    pages: copying the pages and syncing the file, on the loop's thread now that commits
    run there, would stall every request in flight. The main connection turns that off
    (`wal_autocheckpoint=0`); after a commit, at most every `INTERVAL` seconds, a PASSIVE
    checkpoint (it never waits for readers or writers) runs on its own connection in a
    thread. Committed data is in the WAL either way: this only moves the copying."""

    INTERVAL = 1.0

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._conn: sqlite3.Connection | None = None
        self._running: asyncio.Future | None = None
        self._last = time.monotonic()

    def after_commit(self) -> None:
        now = time.monotonic()
        if now - self._last < self.INTERVAL or (self._running is not None and not self._running.done()):
            return
        self._last = now
        self._running = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        self._running.add_done_callback(_log_failure)

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(self.filename, timeout=0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def close(self) -> None:
        if self._running is not None:
            await asyncio.wait([self._running])
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _log_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logging.getLogger("chrgraph").warning("WAL checkpoint failed: %s", future.exception())


class LoopConnection:
    def __init__(self, filename: str, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.busy_timeout = busy_timeout
        self.checkpointer: Checkpointer | None = None
        self._conn = sqlite3.connect(filename, timeout=0, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._turn = time.perf_counter()

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        pause, waited = 0.001, 0.0
        while True:
            try:
                result = call(*args)
                break
            except sqlite3.OperationalError as exc:
                # SQLite did nothing when it answers busy: the same call can be repeated.
                if getattr(exc, "sqlite_errorcode", None) not in _BUSY or waited >= self.busy_timeout:
                    raise
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.05)
        if self.checkpointer is not None and not self._conn.in_transaction:
            self.checkpointer.after_commit()
        now = time.perf_counter()
        if now - self._turn > YIELD_AFTER:
            await asyncio.sleep(0)
            self._turn = time.perf_counter()
        return result

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> LoopCursor:
        return LoopCursor(await self._run(self._conn.execute, sql, parameters))

    async def execute_insert(self, sql: str, parameters: Iterable[Any] | None = None) -> Any:
        return await self._run(self._insert, sql, parameters or [])

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None) -> list[Any]:
        return await self._run(self._fetchall, sql, parameters or [])

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> None:
        await self._run(self._conn.executemany, sql, list(parameters))

    async def executescript(self, script: str) -> None:
        await self._run(self._conn.executescript, script)

    async def commit(self) -> None:
        await self._run(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self.checkpointer is not None:
            await self.checkpointer.close()
        self._conn.close()

    def _insert(self, sql: str, parameters: Sequence[Any]) -> Any:
        cursor = self._conn.execute(sql, parameters)
        cursor.execute("SELECT last_insert_rowid()")
        return cursor.fetchone()

    def _fetchall(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()
