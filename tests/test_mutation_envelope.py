"""The mutation envelope: every id a mutation takes declares the type it names, and
inputs reach operations as plain Python values."""

from __future__ import annotations

import pytest
from strawberry import relay
from strawberry.types.base import StrawberryList, StrawberryOptional

from chrgraph.db.models import User
from chrgraph.db.public_ids import new_public_id
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.schema import schema
from chrgraph.schema.payloads import keyed_values, values
from chrgraph.schema.scheduling.operations import CreateInboxMessageInput
from chrgraph.schema.users.mutations import LocumInput, UpdateUserInput
from tests.accounts import make_clinic


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


async def test_values_leave_out_what_was_not_given_and_keep_an_explicit_null(client):
    clinic = await make_clinic(client)
    owner = await User.get(organization_id=clinic.organization.id, login_email=clinic.owner.email)
    given = UpdateUserInput(user_id=relay.GlobalID("User", owner.public_id), title=None)
    assert await keyed_values(given) == {"user_id": owner.id, "title": None}


def test_a_nested_id_of_another_type_is_not_found_at_the_top_level_field():
    locum = LocumInput(practitioner_id=relay.GlobalID("Patient", new_public_id()))
    with pytest.raises(OperationFailed) as failed:
        values(UpdateUserInput(user_id=relay.GlobalID("User", new_public_id()), locum=locum))
    [error] = failed.value.errors
    assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ("locum",))


@pytest.mark.parametrize("node_id", ["x", "1", "9" * 26])
def test_an_id_that_is_not_a_public_id_is_not_found_at_its_field(node_id):
    """A key (what global ids carried before public ids) names nothing."""
    message = CreateInboxMessageInput(
        owner_id=relay.GlobalID("User", new_public_id()),
        subject="s",
        body="b",
        sender_id=relay.GlobalID("User", node_id),
    )
    with pytest.raises(OperationFailed) as failed:
        values(message)
    assert failed.value.errors[0].field == ("senderId",)


async def test_a_well_formed_public_id_that_names_nothing_is_not_found_at_its_field(client):
    given = UpdateUserInput(user_id=relay.GlobalID("User", new_public_id()))
    with pytest.raises(OperationFailed) as failed:
        await keyed_values(given)
    [error] = failed.value.errors
    assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ("userId",))
