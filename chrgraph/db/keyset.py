"""Keyset paging: the rows after (or before) a position in an order, as one filter of
the list's own query, so rows written while a client pages never shift a page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.expressions import Q, Subquery

_TIE_BREAKERS = ("id", "public_id")


def sort_keys(order: Sequence[str]) -> list[tuple[str, bool]]:
    """(field, descending) of an order, ending with a unique tie-breaker: the public id,
    or the database key (its cursor then names the row by its public id)."""
    keys = [(name.lstrip("-"), name.startswith("-")) for name in order]
    if not keys or keys[-1][0] not in _TIE_BREAKERS:
        keys.append(("id", keys[-1][1] if keys else False))
    return keys


def beyond(query: Any, keys: list[tuple[str, bool]], values: list[Any], public_id: str, forward: bool) -> Q:
    """Rows strictly after (`forward`) or before the cursor's position in the order."""
    last = keys[-1][0]
    # The tie-breaker: the public id itself, or the database key of the row it names (one
    # sub-select in the same statement; a row deleted since matches nothing there).
    tie = public_id if last == "public_id" else Subquery(query.filter(public_id=public_id).values("id"))
    bounds = [*values, tie]
    alternatives = []
    for i, (name, desc) in enumerate(keys):
        greater = desc != forward  # ascending and forward, or descending and backward
        condition = Q(**{f"{name}__{'gt' if greater else 'lt'}": bounds[i]})
        for j in range(i):
            condition &= Q(**{keys[j][0]: bounds[j]})
        alternatives.append(condition)
    return Q(*alternatives, join_type="OR")
