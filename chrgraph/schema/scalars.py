"""The `DateTime` and `Date` scalars, and the guard that refuses dates outside the
supported range with a typed error.

Both scalars parse through `chrgraph.instants`, so every instant a client sends is an
aware UTC datetime before any resolver sees it. A well-formed value outside
1900-01-01 … 2199-12-31 is not a coercion error: the scalar hands over `OUT_OF_RANGE`,
and `RangeGuard` (on every field that takes a date or an instant, after its permission
check) answers with the field path: `INVALID_INPUT` in a mutation's payload,
`BAD_USER_INPUT` on a query field. A malformed value stays a coercion error
(`BAD_USER_INPUT` for a variable, a validation error for a literal)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from operator import methodcaller
from typing import Any

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions.field_extension import FieldExtension
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.scalar import ScalarDefinition

from chrgraph import instants
from chrgraph.resolvers.errors import ErrorCode
from chrgraph.resolvers.errors import UserError as DomainUserError
from chrgraph.schema.errors import UserError, bad_user_input


class _OutOfRange:
    """A well-formed date or instant outside the supported range (see the module)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OUT_OF_RANGE"


OUT_OF_RANGE = _OutOfRange()


def _parser(parse: Callable[[str], Any], message: str) -> Callable[[object], Any]:
    def parse_value(value: object) -> Any:
        if not isinstance(value, str):
            raise StrawberryInputCoercionError(message)
        try:
            return parse(value)
        except instants.OutOfRange:
            return OUT_OF_RANGE
        except ValueError as exc:
            raise StrawberryInputCoercionError(str(exc)) from None

    return parse_value


_isoformat = methodcaller("isoformat")  # as strawberry's own scalars: no Python frame per value


DateTime = ScalarDefinition(
    name="DateTime",
    description=(
        "An instant, ISO 8601 with its UTC offset: `2027-01-11T17:00:00Z`, "
        "`2027-01-11T12:00:00-05:00` and `2027-01-11T22:30:00+05:30` are one instant. "
        "Inputs are converted to UTC before they are stored, compared or filtered on; a "
        "value without an offset is refused (a clock time names a different instant in "
        "every time zone). Answers are UTC (`2027-01-11T17:00:00+00:00`). Instants lie "
        "between 1900-01-01T00:00:00Z and 2199-12-31T23:59:59.999999Z: a malformed value "
        "is BAD_USER_INPUT; one outside that range is INVALID_INPUT at its field in a "
        "mutation's payload, BAD_USER_INPUT on a query field."
    ),
    specified_by_url=None,
    serialize=_isoformat,
    parse_value=_parser(instants.parse_instant, instants.INSTANT_FORMAT),
    parse_literal=None,  # graphql-core reads the literal's value and calls parse_value
    origin=datetime.datetime,
)

Date = ScalarDefinition(
    name="Date",
    description=(
        "A calendar date, `YYYY-MM-DD`, between 1900-01-01 and 2199-12-31: a malformed "
        "value is BAD_USER_INPUT; one outside that range is INVALID_INPUT at its field in "
        "a mutation's payload, BAD_USER_INPUT on a query field."
    ),
    specified_by_url=None,
    serialize=_isoformat,
    parse_value=_parser(instants.parse_date, instants.DATE_FORMAT),
    parse_literal=None,
    origin=datetime.date,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime.datetime: DateTime, datetime.date: Date}


# --- the guard ------------------------------------------------------------------------

# Where dates can sit inside an argument: a leaf, a list of plans, or an input object's
# fields as (Python name, GraphQL name, plan).
_LEAF = ("leaf",)
_Plan = tuple


def _plan(type_: Any, names: NameConverter, seen: frozenset = frozenset()) -> _Plan | None:
    if isinstance(type_, StrawberryOptional):
        return _plan(type_.of_type, names, seen)
    if isinstance(type_, StrawberryList):
        item = _plan(type_.of_type, names, seen)
        return ("list", item) if item else None
    if type_ in SCALAR_OVERRIDES:
        return _LEAF
    definition = getattr(type_, "__strawberry_definition__", None)
    if definition is None or not definition.is_input or type_ in seen:
        return None
    fields = []
    for field in definition.fields:
        if (inner := _plan(field.type, names, seen | {type_})) is not None:
            fields.append((field.python_name, names.from_field(field), inner))
    return ("input", tuple(fields)) if fields else None


def _out_of_range(value: Any, plan: _Plan, path: tuple[str, ...], found: list[tuple[str, ...]]) -> None:
    if value is None or value is strawberry.UNSET:
        return
    kind = plan[0]
    if kind == "leaf":
        if value is OUT_OF_RANGE:
            found.append(path)
    elif kind == "list":
        for index, item in enumerate(value):
            _out_of_range(item, plan[1], (*path, str(index)), found)
    else:
        for python_name, graphql_name, inner in plan[1]:
            _out_of_range(getattr(value, python_name, None), inner, (*path, graphql_name), found)


class RangeGuard(FieldExtension):
    """Answers a field whose arguments hold an out-of-range date before its resolver runs
    (installed by `guard_dates`, innermost, so the permission check comes first)."""

    def __init__(self, arguments: Iterable[tuple[str, str, _Plan]], payload: Callable[[list], Any] | None) -> None:
        self.arguments = tuple(arguments)
        self.payload = payload

    def _refusal(self, kwargs: dict[str, Any]) -> Any:
        found: list[tuple[str, ...]] = []
        for python_name, graphql_name, plan in self.arguments:
            _out_of_range(kwargs.get(python_name), plan, (graphql_name,), found)
        if not found:
            return None
        if self.payload is None:
            raise bad_user_input(f"`{'.'.join(found[0])}`: {instants.RANGE_MESSAGE}")
        # A mutation's error paths start inside its one `input`.
        errors = [
            UserError.from_domain(DomainUserError(ErrorCode.INVALID_INPUT, instants.RANGE_MESSAGE, path[1:] or path))
            for path in found
        ]
        return self.payload(errors)

    def resolve(self, next_, source, info, **kwargs):
        refusal = self._refusal(kwargs)
        return next_(source, info, **kwargs) if refusal is None else refusal

    async def resolve_async(self, next_, source, info, **kwargs):
        refusal = self._refusal(kwargs)
        if refusal is not None:
            return refusal
        result = next_(source, info, **kwargs)
        return await result if hasattr(result, "__await__") else result


def _payload_factory(field: StrawberryField) -> Callable[[list], Any]:
    """A mutation's payload holding only `errors` (its other fields null)."""
    payload: Any = field.type  # the payload class
    if isinstance(payload, StrawberryOptional):  # a payload a rule can refuse is nullable
        payload = payload.of_type
    others = [f.name for f in dataclasses.fields(payload) if f.init and f.name != "errors"]
    definition = payload.__strawberry_definition__
    for name in others:
        declared = next(f for f in definition.fields if f.python_name == name)
        if not isinstance(declared.type, StrawberryOptional):
            raise TypeError(f"{payload.__name__}.{name} must be nullable: a refused input leaves it null")
    return lambda errors: payload(errors=errors, **dict.fromkeys(others))


def guard_dates(query: type, mutation: type, names: NameConverter) -> list[str]:
    """Put a `RangeGuard` on every root field with a date or instant in its arguments;
    returns their GraphQL names. Must run before the schema is built."""
    guarded = []
    for root, is_mutation in ((query, False), (mutation, True)):
        for field in get_object_definition(root, strict=True).fields:
            arguments = [
                (argument.python_name, names.from_argument(argument), plan)
                for argument in field.arguments
                if (plan := _plan(argument.type, names)) is not None
            ]
            if arguments:
                payload = _payload_factory(field) if is_mutation else None
                field.extensions.insert(0, RangeGuard(arguments, payload))
                guarded.append(names.from_field(field))
    return guarded
