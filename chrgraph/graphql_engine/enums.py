"""Enum output from a map built once (docs/decisions.md): strawberry serializes an enum
member by scanning every value and reading the `Enum.value` property each time; a list
of 100 users' permissions spends ~20 % of its time there. It replaces the
`coerce_output_value` of strawberry's enum types, so `uninstall` puts each one back."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema
from strawberry.schema.schema_converter import CustomGraphQLEnumType

# id(graphql-core schema) -> the enum types changed and their own serializers
_REPLACED: dict[int, list[tuple[CustomGraphQLEnumType, Any]]] = {}


def _fast_output(enum_type: CustomGraphQLEnumType) -> Any:
    names = {value.value: name for name, value in enum_type.values.items()}
    slow = enum_type.coerce_output_value
    wrapped = enum_type.wrapped_cls

    def coerce_output_value(output_value):
        if isinstance(output_value, wrapped):
            name = names.get(output_value._value_)
            if name is not None:
                return name
        return slow(output_value)

    return coerce_output_value


def install(core: GraphQLSchema) -> None:
    if id(core) in _REPLACED:
        return
    replaced = _REPLACED[id(core)] = []
    for type_ in core.type_map.values():
        if isinstance(type_, CustomGraphQLEnumType):
            replaced.append((type_, type_.coerce_output_value))
            type_.coerce_output_value = _fast_output(type_)  # type: ignore[method-assign]


def uninstall(core: GraphQLSchema) -> None:
    for type_, original in _REPLACED.pop(id(core), []):
        type_.coerce_output_value = original  # type: ignore[method-assign]
