"""By-id reads whose SQL is built once.

Tortoise rebuilds a query through pypika on every call (`filter`, `resolve_filters`,
`get_parameterized_sql`): for a one-row read that was about 13 % of a whole consumer
request's CPU (docs/performance.md). `ByIds` asks Tortoise for the SQL of
`Model.filter(<column>__in=[…])` once per dialect and list length, then runs it with the
new ids and hydrates rows the way Tortoise's own executor does. Same statement, same
connection choice (a transaction's connection inside `atomic()`), same statement hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)
_MAX_SHAPES = 256  # list lengths kept per model; a DataLoader batch rarely has many


class ByIds(Generic[M]):
    def __init__(self, model: type[M], column: str = "id") -> None:
        self.model = model
        self.column = column
        self._sql: dict[tuple[str, int], str] = {}

    async def fetch(self, ids: Sequence[int]) -> list[M]:
        if not ids:
            return []
        ids = list(ids)
        db = self.model._choose_db()
        key = (db.capabilities.dialect, len(ids))
        sql = self._sql.get(key)
        if sql is None:
            if len(self._sql) >= _MAX_SHAPES:
                self._sql.clear()
            sql = self._sql[key] = self.model.filter(**{f"{self.column}__in": ids}).using_db(db).sql()
        _, rows = await db.execute_query(sql, ids)
        hydrate = self.model._init_from_db
        return [hydrate(**row) for row in rows]
