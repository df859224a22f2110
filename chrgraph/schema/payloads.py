"""Running an operation from a mutation: typed failures become payload errors."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar, overload

from strawberry import relay

from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError, fail
from chrgraph.schema.errors import UserError as UserErrorType
from chrgraph.schema.relay import numeric_id

T = TypeVar("T")


async def attempt(operation: Awaitable[T]) -> tuple[T | None, list[UserErrorType]]:
    try:
        return await operation, []
    except OperationFailed as failed:
        return None, [UserErrorType.from_domain(e) for e in failed.errors]


def refused(*errors: UserError) -> list[UserErrorType]:
    return [UserErrorType.from_domain(e) for e in errors]


@overload
def local_id(global_id: relay.GlobalID, type_name: str, field: str) -> int: ...
@overload
def local_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None: ...
def local_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    """The integer id behind a global id of the expected type; anything else is
    NOT_FOUND at `field` (another type, a non-numeric id)."""
    if global_id is None:
        return None
    key = numeric_id(global_id.node_id) if global_id.type_name == type_name else None
    if key is None:
        raise fail(ErrorCode.NOT_FOUND, f"No such {type_name}.", field)
    return key


def as_input(value: Any) -> Any:
    """strawberry.UNSET means 'not given'."""
    import strawberry

    return None if value is strawberry.UNSET else value
