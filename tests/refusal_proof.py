"""Proof that a request was refused before any resolver ran: graphql-core's `execute`
was never called, and the only SQL statements sent while it was served read or wrote
the tables that authentication and the API log own (a consumer's credentials, the
revocation epoch, its log row). Anything else would be a resolver at work."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

import chrgraph.http.graphql as view
from chrgraph.db import hooks

AUTH_AND_LOG_TABLES = frozenset({"auth_epoch", "api_consumer", "api_consumer_key", "organization", "api_log"})
_TABLE = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+[`"]?([A-Za-z_][A-Za-z0-9_]*)[`"]?', re.I)


def tables_of(sql: str) -> set[str]:
    return {name.lower() for name in _TABLE.findall(sql)}


@dataclass
class Observation:
    executions: int = 0
    statements: list[str] = field(default_factory=list)

    @property
    def tables(self) -> set[str]:
        return set().union(*(tables_of(sql) for sql in self.statements))


@contextlib.contextmanager
def observed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Observation]:
    """Count `execute` calls and record every SQL statement until the block ends."""
    observation = Observation()
    real_execute = view.execute

    def counting_execute(*args, **kwargs):
        observation.executions += 1
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(view, "execute", counting_execute)
    counter = hooks.count_statements()
    try:
        yield observation
    finally:
        hooks.stop_counting(counter)
        monkeypatch.setattr(view, "execute", real_execute)
        observation.statements = list(counter.statements)


def assert_nothing_resolved(observation: Observation, *, sql_allowed: bool = True) -> None:
    """No execution started; SQL, if any, only authenticated the caller and logged the call."""
    assert observation.executions == 0, "the operation was executed"
    if not sql_allowed:
        assert observation.statements == [], observation.statements
    strangers = observation.tables - AUTH_AND_LOG_TABLES
    assert not strangers, f"statements touched {sorted(strangers)}: {observation.statements}"


@contextlib.contextmanager
def refused_before_resolvers(monkeypatch: pytest.MonkeyPatch, *, sql_allowed: bool = True) -> Iterator[Observation]:
    with observed(monkeypatch) as observation:
        yield observation
    assert_nothing_resolved(observation, sql_allowed=sql_allowed)
