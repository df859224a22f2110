"""Roles, extra permissions and ownership."""

from __future__ import annotations

import pytest

from chrgraph.db.models import AuditEvent
from tests.accounts import PASSWORD, make_clinic

ROLES = "{ roles { id name builtin permissions members { email } } }"
ASSIGN = """
mutation Assign($input: AssignRolesInput!) {
  assignRoles(input: $input) { user { roles { name } permissions } errors { code field } }
}"""
GRANT = """
mutation Grant($input: GrantPermissionInput!) {
  grantPermission(input: $input) { user { extraPermissions permissions } errors { code field } }
}"""
REVOKE = """
mutation Revoke($input: RevokePermissionInput!) {
  revokePermission(input: $input) { user { extraPermissions } errors { code field } }
}"""
CREATE_ROLE = """
mutation Create($input: CreateRoleInput!) {
  createRole(input: $input) { role { id name permissions } errors { code field } }
}"""
UPDATE_ROLE = """
mutation Update($input: UpdateRoleInput!) {
  updateRole(input: $input) { role { name permissions } errors { code field } }
}"""
TRANSFER = """
mutation Transfer($input: TransferOwnershipInput!) {
  transferOwnership(input: $input) { organization { id } errors { code field } }
}"""
ME = "{ viewer { user { isOwner permissions } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def role_id(clinic, name: str) -> str:
    return clinic.role_ids[name]


async def test_built_in_roles_have_their_default_permissions(clinic):
    roles = {r["name"]: r for r in (await clinic.owner.gql(ROLES))["roles"]}
    assert set(roles) == {"Administrator", "Practitioner", "Front desk", "Billing"}
    assert "MANAGE_API_CONSUMERS" not in roles["Administrator"]["permissions"]
    assert len(roles["Administrator"]["permissions"]) == 9
    assert roles["Billing"]["permissions"] == ["VIEW_BILLING", "VIEW_USERS"]
    assert roles["Front desk"]["permissions"] == ["MANAGE_PATIENTS", "MANAGE_SCHEDULE", "VIEW_USERS"]


async def test_assigning_roles_by_session_needs_the_password_again(clinic):
    member = await clinic.member()
    base = {"userId": member.user_id, "roleIds": [role_id(clinic, "Billing")]}
    missing = (await clinic.owner.gql(ASSIGN, {"input": base}))["assignRoles"]
    assert missing["errors"] == [{"code": "PASSWORD_REQUIRED", "field": ["password"]}]
    wrong = (await clinic.owner.gql(ASSIGN, {"input": {**base, "password": "not my password"}}))["assignRoles"]
    assert wrong["errors"] == [{"code": "PASSWORD_INVALID", "field": ["password"]}]
    done = (await clinic.owner.gql(ASSIGN, {"input": {**base, "password": PASSWORD}}))["assignRoles"]
    assert done["errors"] == [] and [r["name"] for r in done["user"]["roles"]] == ["Billing"]
    assert await AuditEvent.filter(action="ROLES_ASSIGNED", organization_id=clinic.organization.id).count() == 1


async def test_a_consumer_assigns_roles_without_a_password(clinic):
    member = await clinic.member()
    data = await clinic.vendor.gql(
        ASSIGN, {"input": {"userId": member.user_id, "roleIds": [role_id(clinic, "Front desk")]}}
    )
    assert data["assignRoles"]["errors"] == []


async def test_new_permissions_apply_to_an_open_session_at_once(clinic):
    member = await clinic.member()
    denied = await member.post("{ users { totalCount } }")
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    granted = (
        await clinic.owner.gql(
            GRANT, {"input": {"userId": member.user_id, "permission": "VIEW_USERS", "password": PASSWORD}}
        )
    )["grantPermission"]
    assert granted["errors"] == [] and granted["user"]["extraPermissions"] == ["VIEW_USERS"]
    assert (await member.gql("{ users { totalCount } }"))["users"]["totalCount"] >= 1
    revoked = (
        await clinic.owner.gql(
            REVOKE, {"input": {"userId": member.user_id, "permission": "VIEW_USERS", "password": PASSWORD}}
        )
    )["revokePermission"]
    assert revoked["errors"] == [] and revoked["user"]["extraPermissions"] == []
    again = await member.post("{ users { totalCount } }")
    assert again.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_manage_api_consumers_can_never_be_granted(clinic):
    member = await clinic.member()
    grant = (
        await clinic.owner.gql(
            GRANT,
            {"input": {"userId": member.user_id, "permission": "MANAGE_API_CONSUMERS", "password": PASSWORD}},
        )
    )["grantPermission"]
    assert grant["errors"][0]["code"] == "PERMISSION_NOT_GRANTABLE"
    role = await clinic.owner.gql(
        CREATE_ROLE, {"input": {"name": "Integrations", "permissions": ["MANAGE_API_CONSUMERS"]}}
    )
    assert role["createRole"]["errors"][0]["code"] == "PERMISSION_NOT_GRANTABLE"
    owner = (await clinic.owner.gql(ME))["viewer"]["user"]
    assert owner["isOwner"] is True and "MANAGE_API_CONSUMERS" not in owner["permissions"]


async def test_custom_roles_are_created_and_updated_and_built_ins_stay(clinic):
    created = (
        await clinic.owner.gql(CREATE_ROLE, {"input": {"name": "Scheduler", "permissions": ["MANAGE_SCHEDULE"]}})
    )["createRole"]
    assert created["errors"] == []
    taken = await clinic.owner.gql(CREATE_ROLE, {"input": {"name": "Scheduler", "permissions": []}})
    assert taken["createRole"]["errors"][0]["code"] == "ROLE_NAME_TAKEN"
    updated = (
        await clinic.owner.gql(
            UPDATE_ROLE,
            {
                "input": {
                    "roleId": created["role"]["id"],
                    "name": "Booking desk",
                    "permissions": ["MANAGE_SCHEDULE", "MANAGE_PATIENTS"],
                    "password": PASSWORD,
                }
            },
        )
    )["updateRole"]
    assert updated == {
        "role": {"name": "Booking desk", "permissions": ["MANAGE_PATIENTS", "MANAGE_SCHEDULE"]},
        "errors": [],
    }
    builtin = (
        await clinic.owner.gql(
            UPDATE_ROLE, {"input": {"roleId": role_id(clinic, "Billing"), "permissions": [], "password": PASSWORD}}
        )
    )["updateRole"]
    assert builtin["errors"][0]["code"] == "BUILTIN_ROLE_READ_ONLY"


async def test_ownership_moves_to_another_active_user(clinic):
    member = await clinic.member()
    result = await clinic.owner.gql(TRANSFER, {"input": {"userId": member.user_id, "password": PASSWORD}})
    assert result["transferOwnership"]["errors"] == []
    assert (await member.gql(ME))["viewer"]["user"]["isOwner"] is True
    assert (await clinic.owner.gql(ME))["viewer"]["user"]["isOwner"] is False
    denied = await clinic.owner.post(TRANSFER, {"input": {"userId": member.user_id, "password": PASSWORD}})
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
