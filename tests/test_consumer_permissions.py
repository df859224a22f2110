"""API consumers hold permissions too: by default every permission but
MANAGE_API_CONSUMERS (the clinic's unrestricted integration); the support account may
narrow one, and the consumer then does, and grants, only what it holds, from its very
next request."""

from __future__ import annotations

import json
import time

import pytest

from chrgraph.db.models import ApiConsumer, AuditEvent
from tests.accounts import Clinic, make_clinic
from tests.helpers import gid, unique
from tests.processes import chrgraph

SET_PERMISSIONS = """
mutation Narrow($input: SetApiConsumerPermissionsInput!) {
  setApiConsumerPermissions(input: $input) { apiConsumer { issuer permissions } errors { code field } }
}"""
CONSUMERS = "{ apiConsumers { issuer permissions } }"
INVITE = """
mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id roles { name } } errors { code field } }
}"""
ASSIGN = """
mutation Assign($input: AssignRolesInput!) {
  assignRoles(input: $input) { user { roles { name } } errors { code field } }
}"""
GRANT = """
mutation Grant($input: GrantPermissionInput!) {
  grantPermission(input: $input) { user { extraPermissions } errors { code field } }
}"""
USERS = "{ users { totalCount } }"
PATIENTS = "{ patients { totalCount } }"
APPOINTMENTS = "{ appointments { totalCount } }"
AUDIT = "{ auditEvents { totalCount } }"
ALL_BUT_SUPPORT = [
    "VIEW_USERS",
    "EDIT_OTHER_USERS",
    "EDIT_ROLES",
    "UPGRADE_TYPE_CLASSIFICATION",
    "MANAGE_PATIENTS",
    "MANAGE_SCHEDULE",
    "VIEW_BILLING",
    "MANAGE_PORTAL",
    "VIEW_AUDIT_LOG",
]


@pytest.fixture
async def clinic(client) -> Clinic:
    return await make_clinic(client)


def consumer_id(clinic: Clinic) -> str:
    return gid(clinic.vendor.consumer)


def role_id(clinic: Clinic, name: str) -> str:
    return clinic.role_ids[name]


async def narrow(clinic: Clinic, permissions: list[str] | None) -> dict:
    data = await clinic.support.gql(
        SET_PERMISSIONS, {"input": {"consumerId": consumer_id(clinic), "permissions": permissions}}
    )
    return data["setApiConsumerPermissions"]


def invitation(clinic: Clinic, *roles: str) -> dict:
    return {
        "input": {
            "email": f"{unique('invited')}@{clinic.domain}.test",
            "type": "STAFF",
            "license": "STAFF",
            "firstName": "Ivy",
            "lastName": "Invited",
            "roleIds": [role_id(clinic, r) for r in roles],
        }
    }


async def refused(clinic: Clinic, document: str, variables: dict | None = None, token: str | None = None) -> None:
    """The consumer is refused the root field: FORBIDDEN, and the field is null."""
    body = (await clinic.vendor.post(document, variables, token=token)).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert not any((body.get("data") or {}).values()), body


async def test_a_consumer_holds_every_permission_but_managing_consumers_by_default(clinic):
    listed = (await clinic.support.gql(CONSUMERS))["apiConsumers"]
    assert listed == [{"issuer": clinic.vendor.consumer.issuer, "permissions": ALL_BUT_SUPPORT}]
    for document in (USERS, PATIENTS, APPOINTMENTS, AUDIT, "{ roles { name } }"):
        await clinic.vendor.gql(document)
    # It grants what it holds: an Administrator is invited, with every permission.
    invited = (await clinic.vendor.gql(INVITE, invitation(clinic, "Administrator")))["inviteUser"]
    assert invited["errors"] == [] and invited["user"]["roles"] == [{"name": "Administrator"}]


async def test_a_leaked_booking_key_narrowed_to_scheduling_and_patients_cannot_invite_an_administrator(clinic):
    token = clinic.vendor.token()
    assert "errors" not in (await clinic.vendor.post(USERS, token=token)).json()  # cached in this process
    done = await narrow(clinic, ["MANAGE_SCHEDULE", "MANAGE_PATIENTS"])
    assert done == {
        "apiConsumer": {"issuer": clinic.vendor.consumer.issuer, "permissions": ["MANAGE_PATIENTS", "MANAGE_SCHEDULE"]},
        "errors": [],
    }
    # Its next request, with the very token it used before, is held to what it holds.
    await refused(clinic, USERS, token=token)
    await refused(clinic, INVITE, invitation(clinic, "Administrator"))
    await refused(clinic, AUDIT)
    await refused(clinic, "{ roles { name } }")
    await refused(clinic, "query($id: ID!) { user(id: $id) { email } }", {"id": clinic.owner.user_id})
    # What it holds still works.
    assert (await clinic.vendor.gql(PATIENTS))["patients"]["totalCount"] == 0
    await clinic.vendor.gql(APPOINTMENTS)
    assert not await AuditEvent.filter(
        organization_id=clinic.organization.id, action="USER_INVITED", actor_kind="CONSUMER"
    ).exists()


async def test_a_consumer_grants_only_what_it_holds(clinic):
    staff = await clinic.member(permissions_of=["Front desk"])
    await narrow(clinic, ["EDIT_OTHER_USERS"])

    by_role = (
        await clinic.vendor.gql(
            ASSIGN, {"input": {"userId": staff.user_id, "roleIds": [role_id(clinic, "Administrator")]}}
        )
    )["assignRoles"]
    assert by_role["user"] is None
    assert by_role["errors"] == [{"code": "PERMISSION_NOT_HELD", "field": ["roleIds"]}]
    invited = (await clinic.vendor.gql(INVITE, invitation(clinic, "Billing")))["inviteUser"]
    assert invited["user"] is None
    assert invited["errors"] == [{"code": "PERMISSION_NOT_HELD", "field": ["roleIds"]}]
    direct = (await clinic.vendor.gql(GRANT, {"input": {"userId": staff.user_id, "permission": "VIEW_AUDIT_LOG"}}))[
        "grantPermission"
    ]
    assert direct["errors"] == [{"code": "PERMISSION_NOT_HELD", "field": ["permission"]}]
    # What it holds, it grants; a role with no permissions grants nothing.
    held = (await clinic.vendor.gql(GRANT, {"input": {"userId": staff.user_id, "permission": "EDIT_OTHER_USERS"}}))[
        "grantPermission"
    ]
    assert held == {"user": {"extraPermissions": ["EDIT_OTHER_USERS"]}, "errors": []}
    # (Role is read with VIEW_USERS, which this consumer lacks: it asks for the id only.)
    plain = (await clinic.vendor.gql(INVITE.replace(" roles { name }", ""), invitation(clinic)))["inviteUser"]
    assert plain["errors"] == [] and plain["user"]["id"]


# One operation per permission a consumer may use, harmless to run (a refused input at most).
BY_PERMISSION = {
    "VIEW_USERS": (USERS, None),
    "EDIT_OTHER_USERS": ("{ unmappedUsers { reason } }", None),
    "EDIT_ROLES": (
        "mutation($i: CreateRoleInput!) { createRole(input: $i) { errors { code } } }",
        {"i": {"name": "", "permissions": []}},
    ),
    "MANAGE_PATIENTS": (PATIENTS, None),
    "MANAGE_SCHEDULE": (APPOINTMENTS, None),
    "VIEW_BILLING": ('{ billingStatement(month: "2026-03") { billedTotal } }', None),
    "VIEW_AUDIT_LOG": (AUDIT, None),
}


async def test_each_permission_opens_its_operations_to_a_consumer_and_nothing_else(clinic):
    for permission, (document, variables) in BY_PERMISSION.items():
        await narrow(clinic, [permission])
        for other, (other_document, other_variables) in BY_PERMISSION.items():
            body = (await clinic.vendor.post(other_document, other_variables)).json()
            refusal = [e["extensions"]["code"] for e in body.get("errors", [])]
            assert refusal == ([] if other == permission else ["FORBIDDEN"]), f"{other} held {permission}: {body}"
        await narrow(clinic, [p for p in ALL_BUT_SUPPORT if p != permission])
        await refused(clinic, document, variables)


async def test_only_support_narrows_a_consumer(clinic):
    editor = await clinic.member(permissions_of=["Administrator"])
    variables = {"input": {"consumerId": consumer_id(clinic), "permissions": ["VIEW_USERS"]}}
    for caller in (clinic.owner, editor, clinic.vendor):
        body = (await caller.post(SET_PERMISSIONS, variables)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert not (body["data"] or {}).get("setApiConsumerPermissions")
    stored = await ApiConsumer.get(id=clinic.vendor.consumer.id)
    assert stored.permissions is None
    await clinic.vendor.gql(USERS)
    assert not await AuditEvent.filter(
        organization_id=clinic.organization.id, action="API_CONSUMER_PERMISSIONS_SET"
    ).exists()


async def test_managing_consumers_is_never_a_consumers_permission(clinic):
    done = await narrow(clinic, ["VIEW_USERS", "MANAGE_API_CONSUMERS"])
    assert done == {"apiConsumer": None, "errors": [{"code": "PERMISSION_NOT_GRANTABLE", "field": ["permissions"]}]}
    assert (await ApiConsumer.get(id=clinic.vendor.consumer.id)).permissions is None
    # Not by default, nor after being narrowed: the consumer mutations stay support's.
    await refused(clinic, CONSUMERS)
    await narrow(clinic, ["VIEW_USERS"])
    await refused(clinic, CONSUMERS)


async def test_narrowing_is_audited_and_the_default_comes_back_with_null(clinic):
    await narrow(clinic, ["VIEW_USERS", "VIEW_USERS"])
    event = await AuditEvent.filter(
        organization_id=clinic.organization.id, action="API_CONSUMER_PERMISSIONS_SET", actor_kind="SUPPORT"
    ).first()
    assert event is not None and event.target_id == consumer_id(clinic)
    assert event.changes["permissions"] == {"before": sorted(ALL_BUT_SUPPORT), "after": ["VIEW_USERS"]}
    assert event.changes["default"] == {"before": True, "after": False}
    await refused(clinic, PATIENTS)
    # The same set again writes nothing.
    await narrow(clinic, ["VIEW_USERS"])
    assert (
        await AuditEvent.filter(organization_id=clinic.organization.id, action="API_CONSUMER_PERMISSIONS_SET").count()
        == 1
    )
    # An empty set: it holds nothing (it is still authenticated).
    assert (await narrow(clinic, []))["apiConsumer"]["permissions"] == []
    await refused(clinic, USERS)
    await clinic.vendor.gql("{ viewer { kind } }")
    back = await narrow(clinic, None)
    assert back["apiConsumer"]["permissions"] == ALL_BUT_SUPPORT
    assert (await ApiConsumer.get(id=clinic.vendor.consumer.id)).permissions is None
    await clinic.vendor.gql(PATIENTS)


async def test_another_clinics_consumer_is_not_found(clinic, client):
    other = await make_clinic(client)
    variables = {"input": {"consumerId": gid(other.vendor.consumer), "permissions": []}}
    done = (await clinic.support.gql(SET_PERMISSIONS, variables))["setApiConsumerPermissions"]
    assert done == {"apiConsumer": None, "errors": [{"code": "NOT_FOUND", "field": ["consumerId"]}]}
    await other.vendor.gql(USERS)


async def test_the_cli_narrows_a_consumer_through_the_same_operation(clinic):
    issuer = clinic.vendor.consumer.issuer
    await clinic.vendor.gql(USERS)  # its credentials are cached in this server process
    done = await chrgraph(
        "consumers",
        "set-permissions",
        "--org",
        clinic.domain,
        "--issuer",
        issuer,
        "--permission",
        "MANAGE_SCHEDULE",
        "--permission",
        "MANAGE_PATIENTS",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "issuer": issuer,
        "permissions": ["MANAGE_PATIENTS", "MANAGE_SCHEDULE"],
        "default": False,
    }
    assert await AuditEvent.filter(
        organization_id=clinic.organization.id, action="API_CONSUMER_PERMISSIONS_SET", actor_kind="SUPPORT"
    ).exists()
    # Another process changed it: this server holds the consumer to it within a second.
    deadline = time.monotonic() + 5
    while "errors" not in (await clinic.vendor.post(USERS)).json():
        assert time.monotonic() < deadline, "the server still let the narrowed consumer read users"
    await refused(clinic, INVITE, invitation(clinic, "Administrator"))
    listed = await chrgraph("consumers", "list", "--org", clinic.domain, "--json")
    assert json.loads(listed.stdout)[0]["permissions"] == ["MANAGE_PATIENTS", "MANAGE_SCHEDULE"]

    back = await chrgraph("consumers", "set-permissions", "--org", clinic.domain, "--issuer", issuer, "--default")
    assert back.returncode == 0, back.stderr
    assert (await ApiConsumer.get(id=clinic.vendor.consumer.id)).permissions is None


@pytest.mark.parametrize(
    ("arguments", "code", "exit_code"),
    [
        ([], "INVALID_USAGE", 2),
        (["--permission", "VIEW_USERS", "--default"], "INVALID_USAGE", 2),
        (["--permission", "MANAGE_API_CONSUMERS"], "PERMISSION_NOT_GRANTABLE", 1),
        (["--permission", "VIEW_EVERYTHING"], "INVALID_INPUT", 1),
    ],
)
async def test_the_cli_refuses_bad_input_with_one_line_and_an_exit_code(clinic, arguments, code, exit_code):
    issuer = clinic.vendor.consumer.issuer
    answer = await chrgraph(
        "consumers", "set-permissions", "--org", clinic.domain, "--issuer", issuer, *arguments, "--json"
    )
    assert answer.returncode == exit_code, answer
    assert "Traceback" not in answer.stderr and len(answer.stderr.strip().splitlines()) == 1, answer
    assert [e["code"] for e in json.loads(answer.stderr)["errors"]] == [code]
    assert (await ApiConsumer.get(id=clinic.vendor.consumer.id)).permissions is None


async def test_the_cli_refuses_an_unknown_consumer(clinic):
    answer = await chrgraph(
        "consumers", "set-permissions", "--org", clinic.domain, "--issuer", unique("nobody"), "--default"
    )
    assert answer.returncode == 1 and "NOT_FOUND" in answer.stderr and "Traceback" not in answer.stderr
