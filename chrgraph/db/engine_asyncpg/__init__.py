"""Our PostgreSQL engine (the module name must contain "asyncpg": Tortoise picks the
migration schema editor by it), subclassing Tortoise's client and its private
`_in_transaction`: the one place that does so for PostgreSQL. It has no fast path to
switch: every statement passes the hooks (`Observed`), in both modes.

Its transaction context survives a database restart. Tortoise's own
(`TransactionContextPooled`) leaves the connection acquired and its context variable set
when `BEGIN` fails, and leaves the variable set when releasing the connection fails: the
task that ran it (the API-log writer lives for the whole process) then keeps sending
every later statement to that dead connection, long after PostgreSQL is back. Here the
variable is always reset, and a connection whose `BEGIN`, `COMMIT` or `ROLLBACK` failed
is discarded (terminated: the pool opens a fresh one on the next acquire), never
returned to the pool in an unknown state."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from chrgraph.db.observed import Observed

_log = logging.getLogger("chrgraph.db")


class ChrPgTransaction(Observed, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ChrPgTransaction(self))


class ChrPgTransactionContext(TransactionContextPooled):
    """`TransactionContextPooled` that always gives its connection back (or discards it)
    and always resets the task's connection variable."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        await self.ensure_connection()
        self.client._connection = await self.client._parent._pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            self._finish_discarding()
            raise
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        client = self.client
        if client._finalized:
            await self._finish()
            return
        if exc_type is None:
            try:
                await client.commit()
            except BaseException:
                self._finish_discarding()
                raise
            await self._finish()
            return
        if exc_type is TransactionManagementError:  # Tortoise's rule: nothing to roll back
            await self._finish()
            return
        try:
            await client.rollback()
        except BaseException as failed:
            # The connection is gone or broken: the server rolls the transaction back
            # itself. The caller's own exception is the one that goes on.
            _log.warning("rollback failed (%s); the connection is discarded", type(failed).__name__)
            self._finish_discarding()
            return
        await self._finish()

    async def _finish(self) -> None:
        """Give the connection back to the pool (which resets it, or terminates it when
        the reset fails); never let that failure hide the transaction's outcome."""
        try:
            await self.client._parent._pool.release(self.client._connection)
        except Exception as failed:  # the pool has terminated it already
            _log.warning("releasing a connection failed (%s); it was discarded", type(failed).__name__)
        finally:
            get_connections().reset(self.token)

    def _finish_discarding(self) -> None:
        try:
            # A terminated pool connection returns its slot to the pool by itself.
            self.client._connection.terminate()
        except Exception as failed:
            _log.warning("discarding a connection failed (%s)", type(failed).__name__)
        finally:
            get_connections().reset(self.token)


class ChrPgClient(Observed, AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return ChrPgTransactionContext(ChrPgTransaction(self), self._pool_init_lock)


client_class = ChrPgClient
