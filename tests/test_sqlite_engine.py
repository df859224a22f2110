"""Our SQLite engine runs statements on the event loop's thread (docs/decisions.md):
writes and transactions on the main connection, reads outside a transaction on a second,
read-only one. What must hold: reads see every committed write at once, a transaction
reads its own uncommitted writes, statements are counted and fault-injected as before,
the reader can never write, a busy file never fails a read nor holds the loop, and a
write waits (without blocking the loop) for another process's write lock."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from chrgraph.db import hooks
from chrgraph.db.models import Organization
from chrgraph.db.transactions import atomic
from chrgraph.settings import get_settings
from tests.databases import backend
from tests.helpers import unique

pytestmark = [
    pytest.mark.skipif(backend() != "sqlite", reason="the SQLite engine's reader"),
    pytest.mark.skipif(not get_settings().fast_paths, reason="the engine's fast paths are off"),
]

NAME = 'SELECT "name" FROM "organization" WHERE "id" = ?'


async def _org(app) -> Organization:
    return await Organization.create(name=unique("reads"), domain=unique("reads")[:60])


async def test_a_write_committed_by_another_connection_is_read_at_once(app):
    org = await _org(app)
    client = connections.get("default")
    other = sqlite3.connect(client.filename, isolation_level=None)
    try:
        other.execute('UPDATE "organization" SET "name" = ? WHERE "id" = ?', ("Renamed elsewhere", org.id))
    finally:
        other.close()
    assert (await Organization.get(id=org.id)).name == "Renamed elsewhere"


async def test_a_transaction_reads_its_own_uncommitted_write(app):
    org = await _org(app)
    client = connections.get("default")
    async with atomic() as conn:
        await Organization.filter(id=org.id).using_db(conn).update(name="Inside")
        assert (await Organization.get(id=org.id).using_db(conn)).name == "Inside"
        # Outside the transaction (the client itself), nobody sees it before the commit.
        _, rows = await client.execute_query(NAME, [org.id])
        assert rows[0]["name"] != "Inside"
    assert (await Organization.get(id=org.id)).name == "Inside"


async def test_direct_reads_are_counted_and_can_be_failed_by_fault_injection(app):
    org = await _org(app)
    counter = hooks.count_statements()
    try:
        await Organization.get(id=org.id)
    finally:
        hooks.stop_counting(counter)
    assert counter.count == 1
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="organization", reads=True))
    try:
        with pytest.raises(hooks.InjectedFault):
            await Organization.get(id=org.id)
    finally:
        hooks.disarm_fault()


async def test_the_reader_cannot_write(app):
    await _org(app)
    client = connections.get("default")
    with pytest.raises(OperationalError):
        client._read('DELETE FROM "organization" WHERE 0 = 1 RETURNING 1', [])


async def test_a_busy_file_sends_the_read_the_usual_way(app, monkeypatch):
    org = await _org(app)
    client = connections.get("default")

    class BusyReader:
        def execute(self, *args):
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise error

        def close(self):
            pass

    monkeypatch.setattr(client, "_reader", BusyReader())
    _, rows = await client.execute_query(NAME, [org.id])
    assert rows[0]["name"] == org.name


def _hold_write_lock(filename: str) -> sqlite3.Connection:
    """Another process's writer, in effect: a connection in a write transaction."""
    other = sqlite3.connect(filename, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_transaction_waits_for_another_writer_without_blocking_the_loop(app):
    org = await _org(app)
    client = connections.get("default")
    other = _hold_write_lock(client.filename)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    asyncio.get_running_loop().call_later(0.3, other.commit)
    try:
        async with atomic() as conn:
            await Organization.filter(id=org.id).using_db(conn).update(name="After the wait")
    finally:
        ticking.cancel()
        other.close()
    assert ticks >= 10  # the loop ran other work all along the ~0.3 s wait
    assert (await Organization.get(id=org.id)).name == "After the wait"


async def test_a_writer_that_never_lets_go_is_a_clear_error(app, monkeypatch):
    org = await _org(app)
    client = connections.get("default")
    monkeypatch.setattr(client._connection, "busy_timeout", 0.05)
    other = _hold_write_lock(client.filename)
    try:
        with pytest.raises(Exception, match="locked"):
            async with atomic() as conn:
                await Organization.filter(id=org.id).using_db(conn).update(name="Never")
    finally:
        other.rollback()
        other.close()
    assert (await Organization.get(id=org.id)).name == org.name
    # The failed BEGIN gave the process's transaction lock back: the next write goes on.
    async with atomic() as conn:
        await Organization.filter(id=org.id).using_db(conn).update(name="Later")
    assert (await Organization.get(id=org.id)).name == "Later"


async def test_wal_checkpoints_run_in_a_thread_not_inside_a_commit(app, monkeypatch):
    org = await _org(app)
    client = connections.get("default")
    connection = client._connection
    _, [setting] = await client.execute_query("PRAGMA wal_autocheckpoint")
    assert setting[0] == 0  # SQLite's own checkpoint would run inside the commit, on the loop
    checkpointer = connection.checkpointer
    monkeypatch.setattr(checkpointer, "INTERVAL", 0.0)
    if checkpointer._running is not None:
        await asyncio.wait([checkpointer._running])
    await Organization.filter(id=org.id).update(name="Checkpointed")
    assert checkpointer._running is not None
    await asyncio.wait([checkpointer._running])
    assert checkpointer._running.exception() is None
