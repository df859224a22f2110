"""Everything of chrgraph that touches graphql-core's or strawberry's internals.

`install(settings, schema)` switches the fast paths on (the executor's, `executor.py`,
and the enum serializers', `enums.py`) when CHRGRAPH_FAST_PATHS is on and the installed
libraries are the versions below; otherwise strawberry's and graphql-core's own paths
run, with the same answers (the test suite runs both). `execute` runs one operation
through whichever is installed; `core_schema` is strawberry's graphql-core schema."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLSchema, MiddlewareManager
from graphql import execute as graphql_execute
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable

from chrgraph.graphql_engine import enums, executor
from chrgraph.settings import Settings
from chrgraph.versions import differences

# The exact versions the fast paths were written and tested for (constraints.txt).
WRITTEN_FOR = {"graphql-core": "3.3.2", "strawberry-graphql": "0.341.2"}

# id(graphql-core schema) of the schemas whose fast paths are on
_FAST: set[int] = set()
# The stock path's root-field spans: graphql-core's middleware, on every field.
_STOCK_MIDDLEWARE = MiddlewareManager(executor.root_spans_only)


class UnsupportedExtension(RuntimeError):
    """The schema has a strawberry extension that chrgraph's endpoint would not run."""


def core_schema(schema: Schema) -> GraphQLSchema:
    """strawberry's graphql-core schema (strawberry keeps it in a private attribute)."""
    return schema._schema


def check_extensions(schema: Schema) -> None:
    """chrgraph's endpoint parses, validates and executes with graphql-core itself (for
    its own status codes and limits), so strawberry's schema extension hooks never run:
    an extension on the schema would silently do nothing. Refuse it at start instead."""
    names = [getattr(e, "__name__", None) or type(e).__name__ for e in schema.extensions]
    if names:
        raise UnsupportedExtension(
            f"the schema has strawberry extensions that chrgraph's GraphQL endpoint does not run: "
            f"{', '.join(names)} (do their work in chrgraph.http or chrgraph.graphql_engine instead)"
        )


def install(settings: Settings, schema: Schema) -> bool:
    """Switch the fast paths on or off for `schema`; returns whether they are on."""
    core = core_schema(schema)
    on = settings.fast_paths and not differences(WRITTEN_FOR)
    if on:
        enums.install(core)  # before the executor: its plans keep each type's serializer
        executor.install(schema)
        _FAST.add(id(core))
    else:
        _FAST.discard(id(core))
        executor.uninstall(schema)
        enums.uninstall(core)
    return on


def fast(schema: Schema) -> bool:
    return id(core_schema(schema)) in _FAST


def execute(
    schema: Schema,
    document: DocumentNode,
    *,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult | Awaitable[ExecutionResult]:
    """Run one operation of a document that parsed and validated."""
    core = core_schema(schema)
    if id(core) in _FAST:
        return graphql_execute(
            core,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # typed bool, not TypeGuard
            hide_suggestions=True,
            executor_class=executor.Executor,
        )
    return graphql_execute(
        core,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # typed bool, not TypeGuard
        hide_suggestions=True,
        middleware=_STOCK_MIDDLEWARE,
        executor_class=executor.with_turns(schema.execution_context_class),
    )
