"""By-id reads whose SQL is built once.

Tortoise rebuilds a query through pypika on every call (`filter`, `resolve_filters`,
`get_parameterized_sql`): for a one-row read that was about 13 % of a whole consumer
request's CPU, and an `IN` list of 100 ids costs more (docs/performance.md). `ByIds` asks
Tortoise for the SQL of `Model.filter(<column>__in=[…])` — as models, `values_list` tuples
or `values` dicts — once per dialect, shape and list length, then runs it with the new
ids and converts rows exactly as Tortoise's own query would (`_init_from_db`, the query's
`resolve_to_python_value`). Same statement, same connection choice (a transaction's
connection inside `atomic()`), same statement hooks. A shape whose parameters are not
exactly the ids (never seen so far) is not kept: it runs through Tortoise every time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import LambdaType
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import ValuesListQuery, ValuesQuery

M = TypeVar("M", bound=Model)
_MAX_SHAPES = 256  # shapes kept per instance; DataLoader batches and pages have few lengths

_Convert = Callable[[Any], Any]


class ByIds(Generic[M]):
    def __init__(self, model: type[M], column: str = "id") -> None:
        self.model = model
        self.column = column
        self._plans: dict[tuple, tuple[str, list[tuple[str, _Convert | None]]] | None] = {}

    async def fetch(self, ids: Sequence[int]) -> list[M]:
        """Model instances, as `Model.filter(<column>__in=ids)`."""
        if not ids:
            return []
        ids = list(ids)
        db = self.model._choose_db()
        plan = self._plan(("models", db.capabilities.dialect, len(ids)), lambda: self._query(ids, db), ids)
        if plan is None:
            return await self._query(ids, db)
        _, rows = await db.execute_query(plan[0], ids)
        hydrate = self.model._init_from_db
        return [hydrate(**row) for row in rows]

    async def tuples(self, ids: Sequence[int], *fields: str, order_by: tuple[str, ...] = ()) -> list[tuple]:
        """As `Model.filter(<column>__in=ids).order_by(*order_by).values_list(*fields)`."""
        if not ids:
            return []
        ids = list(ids)
        db = self.model._choose_db()

        def build():
            return self._query(ids, db).order_by(*order_by).values_list(*fields)

        plan = self._plan(("tuples", fields, order_by, db.capabilities.dialect, len(ids)), build, ids)
        if plan is None:
            return await build()
        _, rows = await db.execute_query(plan[0], ids)
        columns = plan[1]
        if not any(convert is not None for _, convert in columns):
            return [tuple(row) for row in rows]  # every column as the driver gave it
        return [tuple(row[key] if convert is None else convert(row[key]) for key, convert in columns) for row in rows]

    async def dicts(self, ids: Sequence[int], *fields: str) -> list[dict[str, Any]]:
        """As `Model.filter(<column>__in=ids).values(*fields)`."""
        if not ids:
            return []
        ids = list(ids)
        db = self.model._choose_db()

        def build():
            return self._query(ids, db).values(*fields)

        plan = self._plan(("dicts", fields, db.capabilities.dialect, len(ids)), build, ids)
        if plan is None:
            return await build()
        rows = await db.execute_query_dict(plan[0], ids)
        columns = [(key, convert) for key, convert in plan[1] if convert is not None]
        for row in rows:
            for key, convert in columns:
                row[key] = convert(row[key])
        return rows

    def _query(self, ids: list[int], db):
        return self.model.filter(**{f"{self.column}__in": ids}).using_db(db)

    def _plan(self, key: tuple, build: Callable[[], Any], ids: list[int]):
        if key in self._plans:
            return self._plans[key]
        if len(self._plans) >= _MAX_SHAPES:
            self._plans.clear()
        query = build()
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        plan = None
        if list(params) == ids:  # the statement takes exactly the ids, in order
            plan = (sql, self._converters(query))
        self._plans[key] = plan
        return plan

    def _converters(self, query) -> list[tuple[str, _Convert | None]]:
        """Per selected column, Tortoise's converter, or None where it is the identity
        (Tortoise's identity converters are lambdas; its ValuesQuery skips them too)."""
        if isinstance(query, ValuesListQuery):
            fields = query.fields
        elif isinstance(query, ValuesQuery):
            fields = query._fields_for_select
        else:  # models: `_init_from_db` converts
            return []
        converters = [(alias, query.resolve_to_python_value(self.model, name)) for alias, name in fields.items()]
        return [(alias, None if isinstance(convert, LambdaType) else convert) for alias, convert in converters]
