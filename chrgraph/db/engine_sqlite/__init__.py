"""Our SQLite engine (the module name must contain "sqlite": Tortoise picks the
migration schema editor by it)."""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

from chrgraph.db.observed import Observed


class ChrSqliteTransaction(Observed, SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ChrSqliteTransaction(self))

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ChrSqliteClient(Observed, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ChrSqliteTransaction(self), self._lock)


client_class = ChrSqliteClient
