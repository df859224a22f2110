"""Inserting a row that is never read back, without a model instance.

Building a Tortoise model instance runs every field's setter and the save machinery
(signals, executor, pre/post hooks): per row, about as much CPU as the INSERT itself on
SQLite (docs/performance.md). `insert` sends the model's own cached INSERT statement with
values converted by the model's fields (`to_db_value`, which also validates lengths and
enum members), on the caller's connection and through its statement hooks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tortoise.models import Model


async def insert(conn, model: type[Model], **values: Any) -> int:
    """INSERT one `model` row in `conn` (a transaction); returns its id. Columns not given
    take the field's default; a name that is not a column is an error."""
    executor = conn.executor_class(model=model, db=conn)
    columns = executor.regular_columns
    unknown = values.keys() - set(columns)
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)}")
    fields = model._meta.fields_map
    row = SimpleNamespace(**values)  # what a field's to_db_value may look at
    params = []
    for name in columns:
        field = fields[name]
        if name in values:
            value = values[name]
        else:
            value = field.default() if callable(field.default) else field.default
        params.append(field.to_db_value(value, row))  # type: ignore[arg-type]  # the stand-in above
    result = await conn.execute_insert(executor.insert_query, params)
    return result if isinstance(result, int) else result[model._meta.db_pk_column]
