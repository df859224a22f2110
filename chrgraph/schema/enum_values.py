"""What each value of a GraphQL enum means, written beside the enum's registration.

The domain enums (stored in the database, named by the operations) carry no text; the
schema shows a description on every value. `describe_values` sets them once, at import;
a test walks the schema and fails on a value left without one."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any


def describe_values(enum: type[Enum], descriptions: Mapping[Any, str]) -> None:
    """Give each value of `enum` (already registered with strawberry) its description,
    looked up by member. Values not in `descriptions` keep what they have."""
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        member = enum(value.value)
        if member in descriptions:
            value.description = descriptions[member]
