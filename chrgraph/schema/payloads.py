"""The mutation envelope: every mutation runs its operation through `perform`.

Like Saleor's `BaseMutation.mutate`/`handle_errors`, one place turns a GraphQL input
into an operation's plain Python arguments and its typed failures into the payload's
`errors`:

- names: the input's fields become keyword arguments under their Python (snake_case)
  names; a field left out (`strawberry.UNSET`) is not passed at all ("not given"),
  an explicit null is passed as None;
- ids: a global id becomes the integer key of the object type its input field declares
  with `metadata=refers_to("User")`; an id of another type, or one that names nothing
  of ours, is NOT_FOUND at the top-level input field that holds it (`roleIds`,
  `locum`), and the operation is not called;
- errors: `OperationFailed` becomes `errors` in the payload, every other payload field
  keeping its default (None unless the payload type declares one).

The permission class on the field has already run (strawberry checks it first).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.schema.errors import UserError
from chrgraph.schema.relay import numeric_id

P = TypeVar("P")

_REFERS_TO = "chrgraph.refers_to"


def refers_to(type_name: str) -> dict[str, str]:
    """Input field metadata: this global id names an object of `type_name`."""
    return {_REFERS_TO: type_name}


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


# An input class's fields as (Python name, GraphQL name, referenced type), read once.
_FIELDS: dict[type, list[tuple[str, str, str | None]]] = {}


def _fields(cls: type) -> list[tuple[str, str, str | None]]:
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = [
            (
                f.python_name,
                f.graphql_name or to_camel_case(f.python_name),
                (f.metadata or {}).get(_REFERS_TO),
            )
            for f in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
        ]
    return known


def _plain(value: Any, refers: str | None, path: str) -> Any:
    if value is None:
        return None
    if isinstance(value, relay.GlobalID):
        if refers is None:
            raise TypeError(f"`{path}` holds a global id without `refers_to`")
        return local_id(value, refers, path)
    if isinstance(value, list):
        return [_plain(item, refers, path) for item in value]
    if getattr(getattr(type(value), "__strawberry_definition__", None), "is_input", False):
        return values(value, path)
    return value


def values(input: Any, path: str | None = None) -> dict[str, Any]:
    """An input object as plain Python keyword arguments (see the module docstring);
    a nested input becomes a dict, whose failures are reported at `path`, the
    top-level field holding it."""
    result = {}
    for name, graphql_name, refers in _fields(type(input)):
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            result[name] = _plain(value, refers, path or graphql_name)
    return result


async def perform(
    payload: Callable[..., P],
    operation: Callable[..., Awaitable[Any]],
    input: Any = None,
    /,
    **present: Callable[[Any], Any],
) -> P:
    """Run `operation(**values(input))` and answer `payload`: each keyword of `present`
    names a payload field and converts the operation's result into it (it may be a
    coroutine function); on `OperationFailed` those fields keep their defaults and
    `errors` lists the failures, in the order the operation raised them."""
    try:
        result = await operation(**(values(input) if input is not None else {}))
    except OperationFailed as failed:
        return payload(
            **{name: _default(payload, name) for name in present},
            errors=[UserError.from_domain(e) for e in failed.errors],
        )
    fields = {}
    for name, convert in present.items():
        value = convert(result)
        fields[name] = await value if inspect.isawaitable(value) else value
    return payload(**fields, errors=[])


def _default(payload: Any, name: str) -> Any:
    for f in dataclasses.fields(payload):
        if f.name == name:
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            if f.default is not dataclasses.MISSING:
                return f.default
    return None
