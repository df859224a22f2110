"""Our PostgreSQL engine (the module name must contain "asyncpg": Tortoise picks the
migration schema editor by it), subclassing Tortoise's client and its private
`_in_transaction`: the one place that does so for PostgreSQL. It has no fast path to
switch: every statement passes the hooks (`Observed`), in both modes."""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)

from chrgraph.db.observed import Observed


class ChrPgTransaction(Observed, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ChrPgTransaction(self))


class ChrPgClient(Observed, AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return TransactionContextPooled(ChrPgTransaction(self), self._pool_init_lock)


client_class = ChrPgClient
