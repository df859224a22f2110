"""The mutation envelope: every id a mutation takes declares the type it names, and
inputs reach operations as plain Python values."""

from __future__ import annotations

import pytest
from strawberry import relay
from strawberry.types.base import StrawberryList, StrawberryOptional

from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.schema import schema
from chrgraph.schema.payloads import values
from chrgraph.schema.scheduling.operations import CreateInboxMessageInput
from chrgraph.schema.users.mutations import LocumInput, UpdateUserInput


def _named(type_):
    while isinstance(type_, (StrawberryList, StrawberryOptional)):
        type_ = type_.of_type
    return type_


def _input_class(type_) -> type | None:
    named = _named(type_)
    definition = getattr(named, "__strawberry_definition__", None)
    return named if getattr(definition, "is_input", False) else None


def test_every_id_in_a_mutation_input_declares_its_type():
    undeclared, seen = [], set()

    def walk(cls: type, where: str) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for field in cls.__strawberry_definition__.fields:
            if _named(field.type) is relay.GlobalID and not (field.metadata or {}):
                undeclared.append(f"{where}.{field.python_name}")
            if nested := _input_class(field.type):
                walk(nested, f"{where}.{field.python_name}")

    for field in schema.get_type_by_name("Mutation").fields:
        for argument in field.arguments:
            if cls := _input_class(argument.type):
                walk(cls, field.name)
    assert undeclared == []


def test_values_leave_out_what_was_not_given_and_keep_an_explicit_null():
    given = UpdateUserInput(user_id=relay.GlobalID("User", "7"), title=None)
    assert values(given) == {"user_id": 7, "title": None}


def test_a_nested_id_of_another_type_is_not_found_at_the_top_level_field():
    locum = LocumInput(practitioner_id=relay.GlobalID("Patient", "3"))
    with pytest.raises(OperationFailed) as failed:
        values(UpdateUserInput(user_id=relay.GlobalID("User", "7"), locum=locum))
    [error] = failed.value.errors
    assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ("locum",))


def test_an_id_that_is_not_a_number_is_not_found_at_its_field():
    message = CreateInboxMessageInput(
        owner_id=relay.GlobalID("User", "1"), subject="s", body="b", sender_id=relay.GlobalID("User", "x")
    )
    with pytest.raises(OperationFailed) as failed:
        values(message)
    assert failed.value.errors[0].field == ("senderId",)
