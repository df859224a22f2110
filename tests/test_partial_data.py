"""Partial data: a refused field is null with a top-level FORBIDDEN error at its path,
and every field the caller may see keeps its data. This holds because every field that
can be refused is nullable; the schema walk below proves it from each field's declared
rule, so a new field cannot forget it."""

from __future__ import annotations

import pytest
from graphql import GraphQLInterfaceType, GraphQLNonNull, GraphQLObjectType
from strawberry.permission import BasePermission, PermissionExtension

from chrgraph.schema import schema
from chrgraph.schema.permissions import Authenticated, Rule
from tests.accounts import make_clinic
from tests.scheduling_helpers import patient

FRONT_DESK_DAY = """
query FrontDeskDay {
  viewer { kind user { id } }
  patients(first: 10) { totalCount edges { node { id lastName } } }
  billingStatement(month: "2026-03") { month billedTotal }
}
"""

CONSUMER_OVERVIEW = """
query ConsumerOverview {
  viewer { kind }
  licenseCatalog { license }
  patients(first: 10) { totalCount }
  portalSettings { portalEnabled }
  apiConsumers { issuer }
  appointments(first: 10) { totalCount }
}
"""

SWITCH_ON_AND_REGISTER = """
mutation SwitchOnAndRegister($patient: RegisterPatientInput!) {
  enablePortal { organization { id } errors { code } }
  registerPatient(input: $patient) { patient { id lastName } errors { code field } }
}
"""

PORTAL_STATE = "{ portalSettings { portalEnabled } }"


def _guards(field_extensions) -> list[type[BasePermission]]:
    """The permission classes a field runs, however they were attached."""
    return [
        type(permission)
        for extension in field_extensions
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
    ]


def _can_be_forbidden(guards: list[type[BasePermission]]) -> bool:
    # A permission class that is not one of our rules says nothing about whom it admits:
    # it counts as one that can refuse.
    return any(not issubclass(g, Rule) or g.refuses_some_caller for g in guards)


def _guarded_fields() -> list[tuple[str, str, object, list[type[BasePermission]]]]:
    """(type, field, GraphQL type, permission classes) for every field of every object
    and interface type that declares a permission, root types included."""
    found = []
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            guards = _guards(definition.extensions) if definition is not None else []
            if guards:
                found.append((type_.name, name, field.type, guards))
    return found


def _forbidden_paths(body: dict) -> list[list]:
    return [e["path"] for e in body.get("errors", []) if e.get("extensions", {}).get("code") == "FORBIDDEN"]


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def test_every_field_that_can_be_forbidden_is_nullable():
    guarded = _guarded_fields()
    non_null = [
        f"{parent}.{name}: {type_}"
        for parent, name, type_, guards in guarded
        if _can_be_forbidden(guards) and isinstance(type_, GraphQLNonNull)
    ]
    assert non_null == [], "a refusal here would wipe the caller's other fields: " + ", ".join(non_null)
    # The walk saw the fields it is about: queries and mutations that can be refused,
    # and the rule that never refuses a caller who reached execution.
    forbiddable = {f"{parent}.{name}" for parent, name, _, guards in guarded if _can_be_forbidden(guards)}
    assert {"Query.billingStatement", "Query.patients", "Mutation.inviteUser", "Mutation.logout"} <= forbiddable
    assert "Query.viewer" not in forbiddable
    assert any(Authenticated in guards for *_, guards in guarded)


async def test_front_desk_sees_its_patients_while_billing_is_refused_at_its_path(clinic):
    registered = await patient(clinic.organization.id, last_name="Tremblay")
    front_desk = await clinic.member(permissions_of=["Front desk"])

    response = await front_desk.post(FRONT_DESK_DAY)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is not None, f"one refusal wiped the whole answer: {body}"
    data = body["data"]
    assert data["viewer"] == {"kind": "USER", "user": {"id": front_desk.user_id}}
    assert data["patients"]["totalCount"] >= 1
    assert {"id": registered, "lastName": "Tremblay"} in [e["node"] for e in data["patients"]["edges"]]
    assert data["billingStatement"] is None
    assert len(body["errors"]) == 1, body
    assert _forbidden_paths(body) == [["billingStatement"]]


async def test_a_consumer_keeps_its_data_beside_the_fields_it_may_not_read(clinic):
    await patient(clinic.organization.id)

    response = await clinic.vendor.post(CONSUMER_OVERVIEW)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is not None, f"one refusal wiped the whole answer: {body}"
    data = body["data"]
    assert data["viewer"] == {"kind": "CONSUMER"}
    assert data["licenseCatalog"]
    assert data["patients"]["totalCount"] >= 1
    assert data["appointments"] == {"totalCount": 0}
    assert data["portalSettings"] is None
    assert data["apiConsumers"] is None
    assert sorted(_forbidden_paths(body)) == [["apiConsumers"], ["portalSettings"]]
    assert len(body["errors"]) == 2, body


async def test_a_refused_mutation_is_null_and_the_next_one_in_the_operation_still_runs(clinic):
    front_desk = await clinic.member(permissions_of=["Front desk"])
    before = (await clinic.owner.gql(PORTAL_STATE))["portalSettings"]["portalEnabled"]

    response = await front_desk.post(
        SWITCH_ON_AND_REGISTER,
        {"patient": {"firstName": "Noor", "lastName": "Haddad", "dateOfBirth": "1991-04-02"}},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is not None, f"one refusal wiped the whole answer: {body}"
    assert body["data"]["enablePortal"] is None
    assert _forbidden_paths(body) == [["enablePortal"]]
    assert len(body["errors"]) == 1, body
    registered = body["data"]["registerPatient"]
    assert registered["errors"] == []
    assert registered["patient"]["lastName"] == "Haddad"
    assert (await clinic.owner.gql(PORTAL_STATE))["portalSettings"]["portalEnabled"] is before
