"""The mutation envelope: every mutation runs its operation through `perform`.

Like Saleor's `BaseMutation.mutate`/`handle_errors`, one place turns a GraphQL input
into an operation's plain Python arguments and its typed failures into the payload's
`errors`:

- names: the input's fields become keyword arguments under their Python (snake_case)
  names; a field left out (`strawberry.UNSET`) is not passed at all ("not given"),
  an explicit null is passed as None;
- ids: a global id becomes the database key of the object type its input field declares
  with `metadata=refers_to("User")`: the public ids it carries are looked up together,
  in one statement for the whole input (chrgraph/db/keys.py); an id of another type, or
  one that names nothing of ours, is NOT_FOUND at the top-level input field that holds
  it (`roleIds`, `locum`), and the operation is not called;
- errors: `OperationFailed` becomes `errors` in the payload, every other payload field
  keeping its default (None unless the payload type declares one).

The permission class on the field has already run (strawberry checks it first).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from chrgraph.db.keys import keys_of
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.schema.errors import UserError
from chrgraph.schema.relay import parse_global_id

P = TypeVar("P")

_REFERS_TO = "chrgraph.refers_to"
_BY_PUBLIC_ID = "chrgraph.by_public_id"


def refers_to(type_name: str, *, key: bool = True) -> dict[str, Any]:
    """Input field metadata: this global id names an object of `type_name`. With
    `key=False` the operation gets the public id itself and reads the row by it (one
    statement instead of a key lookup and a read)."""
    return {_REFERS_TO: type_name, _BY_PUBLIC_ID: not key}


@dataclasses.dataclass(frozen=True, slots=True)
class _Ref:
    """A global id of an input, until its key is looked up."""

    type_name: str
    public_id: str
    path: str


def _ref(global_id: relay.GlobalID, type_name: str, field: str) -> _Ref:
    """The public id behind a global id of the expected type; anything else (another
    type, an id that is no public id: one holding an old database key) is NOT_FOUND."""
    parsed = parse_global_id(global_id, type_name)
    if parsed is None:
        raise fail(ErrorCode.NOT_FOUND, f"No such {type_name}.", field)
    return _Ref(type_name, parsed[1], field)


def public_id(global_id: relay.GlobalID, type_name: str, field: str) -> str:
    """The public id behind a global id of the expected type, for an operation that reads
    the row by it (one statement, no key lookup first); anything else is NOT_FOUND at
    `field`."""
    return _ref(global_id, type_name, field).public_id


def _refs(value: Any) -> Iterator[_Ref]:
    if isinstance(value, _Ref):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)


def _keyed(value: Any, keys: dict[tuple[str, str], int]) -> Any:
    if isinstance(value, _Ref):
        key = keys.get((value.type_name, value.public_id))
        if key is None:
            raise fail(ErrorCode.NOT_FOUND, f"No such {value.type_name}.", value.path)
        return key
    if isinstance(value, list):
        return [_keyed(item, keys) for item in value]
    if isinstance(value, dict):
        return {name: _keyed(item, keys) for name, item in value.items()}
    return value


async def keyed_values(input: Any) -> dict[str, Any]:
    """`values(input)` with every global id replaced by its key (one lookup in all)."""
    arguments = values(input)
    refs = {(ref.type_name, ref.public_id) for ref in _refs(arguments)}
    if not refs:
        return arguments
    keys = await keys_of(refs)
    return {name: _keyed(value, keys) for name, value in arguments.items()}


# An input class's fields as (Python name, GraphQL name, referenced type, by public id),
# read once.
_FIELDS: dict[type, list[tuple[str, str, str | None, bool]]] = {}


def _fields(cls: type) -> list[tuple[str, str, str | None, bool]]:
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = [
            (
                f.python_name,
                f.graphql_name or to_camel_case(f.python_name),
                (f.metadata or {}).get(_REFERS_TO),
                bool((f.metadata or {}).get(_BY_PUBLIC_ID)),
            )
            for f in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
        ]
    return known


def _plain(value: Any, refers: str | None, path: str, by_public_id: bool = False) -> Any:
    if value is None:
        return None
    if isinstance(value, relay.GlobalID):
        if refers is None:
            raise TypeError(f"`{path}` holds a global id without `refers_to`")
        ref = _ref(value, refers, path)
        return ref.public_id if by_public_id else ref
    if isinstance(value, list):
        return [_plain(item, refers, path, by_public_id) for item in value]
    if getattr(getattr(type(value), "__strawberry_definition__", None), "is_input", False):
        return values(value, path)
    return value


def values(input: Any, path: str | None = None) -> dict[str, Any]:
    """An input object as plain Python keyword arguments (see the module docstring);
    a nested input becomes a dict, whose failures are reported at `path`, the
    top-level field holding it. Global ids are left as references to look up
    (`keyed_values`)."""
    result = {}
    for name, graphql_name, refers, by_public_id in _fields(type(input)):
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            result[name] = _plain(value, refers, path or graphql_name, by_public_id)
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
        result = await operation(**(await keyed_values(input) if input is not None else {}))
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


def describe_inputs(mutation: type) -> None:
    """Every mutation takes its arguments as one `input`, whose type describes each field:
    the `input` argument itself says so, once for all mutations (an `input` argument
    that carries its own description keeps it)."""
    for field in mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        for argument in field.arguments:
            if argument.python_name != "input" or argument.description:
                continue
            input_type = getattr(argument.type, "of_type", argument.type)
            definition = getattr(input_type, "__strawberry_definition__", None)
            name = definition.name if definition is not None else "its input type"
            argument.description = f"Everything the mutation takes; each field is described on {name}."
