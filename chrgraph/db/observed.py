"""The Tortoise clients of chrgraph have two needs built in: every statement passes through
`hooks` (counts, spans, fault injection), and SQLite write transactions begin
IMMEDIATE so that two processes appending to one audit chain serialize instead of
forking it (SQLite transactions start DEFERRED by default)."""

from __future__ import annotations

from typing import Any

from chrgraph.db import hooks


class Observed:
    """Mixin: run the hooks before each statement."""

    async def execute_insert(self, query: str, values: list) -> Any:
        hooks.before_statement(query)
        with hooks.statement_span(query):
            return await super().execute_insert(query, values)  # type: ignore[misc]

    async def execute_many(self, query: str, values: list) -> None:
        hooks.before_statement(query)
        with hooks.statement_span(query):
            return await super().execute_many(query, values)  # type: ignore[misc]

    async def execute_query(self, query: str, values: list | None = None) -> Any:
        hooks.before_statement(query)
        with hooks.statement_span(query):
            return await super().execute_query(query, values)  # type: ignore[misc]

    async def execute_query_dict(self, query: str, values: list | None = None) -> Any:
        hooks.before_statement(query)
        with hooks.statement_span(query):
            return await super().execute_query_dict(query, values)  # type: ignore[misc]

    async def execute_script(self, query: str) -> None:
        hooks.before_statement(query)
        with hooks.statement_span(query):
            return await super().execute_script(query)  # type: ignore[misc]
