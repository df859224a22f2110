"""Everything of chrgraph outside the engines that reaches into Tortoise's internals:
statements built once and sent as they are, rows inserted without a model instance,
and the ORM's start with its global fallback.

Fast paths (switched by `install`, for the Tortoise version below only; otherwise the
ORM's own calls run, with the same rows and answers):

- `ByIds`: by-id reads whose SQL is built once. Tortoise rebuilds a query through pypika
  on every call (`filter`, `resolve_filters`, `get_parameterized_sql`): for a one-row
  read that was about 13 % of a whole consumer request's CPU, and an `IN` list of 100
  ids costs more (docs/performance.md). `ByIds` asks Tortoise for the SQL of
  `Model.filter(<column>__in=[…])` — as models, `values_list` tuples or `values` dicts —
  once per dialect, shape and list length, then runs it with the new ids and converts
  rows exactly as Tortoise's own query would (`_init_from_db`, the query's
  `resolve_to_python_value`). Same statement, same connection choice (a transaction's
  connection inside `atomic()`), same statement hooks. A shape whose parameters are not
  exactly the ids (never seen so far) is not kept: it runs through Tortoise every time.
- `value_tuples`: a `values_list` query's rows with its instants read by
  `datetime.fromisoformat` rather than Tortoise's per-value `DatetimeField.to_python_value`
  (a general parser and time-zone checks per value: for the 100 appointments of a week's
  availability, a fifth of the request). Same statement, same values: instants aware, in
  UTC; any other column through Tortoise's own converter.
- `insert` / `insert_rows`: rows that are never read back, without a model instance.
  Building a Tortoise model instance runs every field's setter and the save machinery
  (signals, executor, pre/post hooks): per row, about as much CPU as the INSERT itself
  on SQLite. They send the model's own cached INSERT statement with values converted by
  the model's fields (`to_db_value`, which also validates lengths and enum members), on
  the caller's connection and through its statement hooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import LambdaType, SimpleNamespace
from typing import Any, Generic, TypeVar

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import DatetimeField
from tortoise.models import Model
from tortoise.queryset import ValuesListQuery, ValuesQuery

from chrgraph.settings import Settings
from chrgraph.versions import differences

# The connection type operations annotate `using_db` with (Tortoise's base client).
Connection = BaseDBAsyncClient


def table_name(model: type[Model]) -> str:
    """The model's table, as `select_for_update(of=…)` names the rows it locks."""
    return model._meta.db_table


# The exact versions the fast paths were written and tested for (constraints.txt).
WRITTEN_FOR = {"tortoise-orm": "1.1.9", "pypika-tortoise": "0.6.5"}
_fast = False


def install(settings: Settings) -> bool:
    """Switch the fast paths of this module on or off; returns whether they are on."""
    global _fast
    _fast = settings.fast_paths and not differences(WRITTEN_FOR)
    return _fast


async def start_orm(config: dict[str, Any]) -> None:
    """Tortoise.init with the global fallback, which lets every task (requests,
    background jobs, the lifespan's own task) see the ORM."""
    await Tortoise.init(config=config, _enable_global_fallback=True)


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
        if not _fast:
            return await self.model.filter(**{f"{self.column}__in": ids})
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
        if not _fast:
            query = self.model.filter(**{f"{self.column}__in": ids}).order_by(*order_by)
            return list(await query.values_list(*fields))
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
        if not _fast:
            return await self.model.filter(**{f"{self.column}__in": ids}).values(*fields)
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
            plan = (sql, _converters(query, self.model))
        self._plans[key] = plan
        return plan


def _converters(query, model: type[Model]) -> list[tuple[str, _Convert | None]]:
    """Per selected column, Tortoise's converter, or None where it is the identity
    (Tortoise's identity converters are lambdas; its ValuesQuery skips them too)."""
    if isinstance(query, ValuesListQuery):
        fields = query.fields
    elif isinstance(query, ValuesQuery):
        fields = query._fields_for_select
    else:  # models: `_init_from_db` converts
        return []
    converters = [(alias, query.resolve_to_python_value(model, name)) for alias, name in fields.items()]
    return [(alias, None if isinstance(convert, LambdaType) else convert) for alias, convert in converters]


def _instant(value: Any) -> datetime | None:
    """An instant as Tortoise reads it with use_tz and UTC (config.py): aware, in UTC.
    SQLite gives the text our engine wrote (ISO 8601, UTC); PostgreSQL a datetime."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def value_tuples(query: ValuesListQuery) -> list[tuple]:
    """The rows of `query` (a `values_list(...)` query, not flat), as `await query`."""
    if not _fast or query._flat or query._single:
        return list(await query)
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    fields = query.model._meta.fields_map
    instants = {alias for alias, name in query.fields.items() if isinstance(fields.get(name), DatetimeField)}
    converters = [_instant if alias in instants else c for alias, c in _converters(query, query.model)]
    _, rows = await query._db.execute_query(sql, params)
    return [tuple(v if c is None else c(v) for v, c in zip(row, converters, strict=True)) for row in rows]


def _columns(conn, model: type[Model]):
    executor = conn.executor_class(model=model, db=conn)
    return executor, executor.regular_columns


async def insert(conn, model: type[Model], **values: Any) -> int:
    """INSERT one `model` row in `conn` (a transaction); returns its id. Columns not given
    take the field's default; a name that is not a column is an error."""
    executor, columns = _columns(conn, model)
    unknown = values.keys() - set(columns)
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)}")
    if not _fast:
        return (await model.create(using_db=conn, **values)).pk
    fields = model._meta.fields_map
    row = SimpleNamespace(**values)  # what a field's to_db_value may look at
    params = []
    for name in columns:
        field = fields[name]
        if name in values:
            value = values[name]
        else:
            value = field.default() if callable(field.default) else field.default
        params.append(field.to_db_value(value, row))  # type: ignore[arg-type]  # a row stand-in for the model
    result = await conn.execute_insert(executor.insert_query, params)
    return result if isinstance(result, int) else result[model._meta.db_pk_column]


async def insert_rows(conn, model: type[Model], rows: Sequence[Any]) -> None:
    """One multi-row INSERT of `rows` (objects with an attribute per column), through the
    model's own statement (Tortoise's executor builds and caches it per connection) and
    its fields' `to_db_value`, which also validates."""
    executor, names = _columns(conn, model)
    if not _fast:
        await model.bulk_create([model(**{name: getattr(row, name) for name in names}) for row in rows], using_db=conn)
        return
    fields = model._meta.fields_map
    columns = [(name, fields[name]) for name in names]
    await conn.execute_many(
        executor.insert_query,
        [[field.to_db_value(getattr(row, name), row) for name, field in columns] for row in rows],
    )


async def lock_key(conn, key: str) -> None:
    """Serialize the transactions `conn` belongs to that lock the same `key`, until they
    end. PostgreSQL: a transaction-scoped advisory lock on the key's 64-bit hash (two
    keys sharing a hash only wait for each other). SQLite: nothing to do, every write
    transaction begins IMMEDIATE and so holds the database's one write lock."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key])
