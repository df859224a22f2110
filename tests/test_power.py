"""Nobody raises their own power: a user never changes its own roles, permissions,
license or classification, never grants what it does not hold (directly, by a role, by
editing a role), never changes a role it holds, never decides its own upgrade request;
only the owner changes the owner. Each refusal is a payload error with its field."""

from __future__ import annotations

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import AuditEvent, Classification, License, UserPermission, UserType
from chrgraph.resolvers.users.roles import create_role
from tests.accounts import PASSWORD, Clinic, Session, make_clinic
from tests.helpers import gid, unique

GRANT = """
mutation Grant($input: GrantPermissionInput!) {
  grantPermission(input: $input) { user { extraPermissions } errors { code field } }
}"""
REVOKE = """
mutation Revoke($input: RevokePermissionInput!) {
  revokePermission(input: $input) { user { extraPermissions } errors { code field } }
}"""
ASSIGN = """
mutation Assign($input: AssignRolesInput!) {
  assignRoles(input: $input) { user { id } errors { code field } }
}"""
INVITE = """
mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id } errors { code field } }
}"""
UPDATE_USER = """
mutation Update($input: UpdateUserInput!) {
  updateUser(input: $input) { user { firstName title license classification } errors { code field } }
}"""
SET_LICENSE = """
mutation SetLicense($input: SetUserLicenseInput!) {
  setUserLicense(input: $input) { user { license } errors { code field } }
}"""
REQUEST = """
mutation Request($input: RequestLicenseUpgradeInput!) {
  requestLicenseUpgrade(input: $input) { request { id status } errors { code field } }
}"""
APPROVE = """
mutation Approve($input: ApproveLicenseUpgradeRequestInput!) {
  approveLicenseUpgradeRequest(input: $input) { request { status } errors { code field } }
}"""
DECLINE = """
mutation Decline($input: DeclineLicenseUpgradeRequestInput!) {
  declineLicenseUpgradeRequest(input: $input) { request { status } errors { code field } }
}"""
CREATE_ROLE = """
mutation Create($input: CreateRoleInput!) {
  createRole(input: $input) { role { id name permissions } errors { code field } }
}"""
UPDATE_ROLE = """
mutation UpdateRole($input: UpdateRoleInput!) {
  updateRole(input: $input) { role { name permissions } errors { code field } }
}"""
DELETE_ROLE = """
mutation Delete($input: DeleteRoleInput!) {
  deleteRole(input: $input) { deletedRoleId errors { code field } }
}"""
ROLES = "{ roles { id name } }"
ME = "{ viewer { user { permissions roles { name } } } }"
ERROR_CODES = '{ __type(name: "ErrorCode") { enumValues { name description } } }'


@pytest.fixture
async def clinic(client) -> Clinic:
    return await make_clinic(client)


def role_id(clinic: Clinic, name: str) -> str:
    return clinic.role_ids[name]


async def custom_role(clinic: Clinic, *permissions: str) -> str:
    """A custom role giving just `permissions`, made by the command line; its name."""
    name = unique("role")
    role = await create_role(support_cli_actor(clinic.organization.id), name, None, list(permissions))
    clinic.roles[name] = role.id
    clinic.role_ids[name] = gid(role)
    return name


async def holder(clinic: Clinic, *permissions: str, **profile) -> Session:
    """A logged-in user whose one custom role gives just `permissions`."""
    return await clinic.member(permissions_of=[await custom_role(clinic, *permissions)], **profile)


@pytest.fixture
async def editor(clinic) -> Session:
    """A user holding only EDIT_OTHER_USERS."""
    return await holder(clinic, "EDIT_OTHER_USERS")


@pytest.fixture
async def role_editor(clinic) -> Session:
    """A user holding only EDIT_ROLES."""
    return await holder(clinic, "EDIT_ROLES")


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return sorted((e["code"], e["field"]) for e in payload["errors"])


async def test_a_user_cannot_grant_itself_a_permission(clinic, editor):
    result = (
        await editor.gql(
            GRANT, {"input": {"userId": editor.user_id, "permission": "VIEW_AUDIT_LOG", "password": PASSWORD}}
        )
    )["grantPermission"]
    assert result["user"] is None
    assert codes(result) == [("NOT_ALLOWED_FOR_SELF", ["userId"]), ("PERMISSION_NOT_HELD", ["permission"])]
    assert "VIEW_AUDIT_LOG" not in (await editor.gql(ME))["viewer"]["user"]["permissions"]
    assert not await AuditEvent.filter(organization_id=clinic.organization.id, action="PERMISSION_GRANTED").exists()


async def test_a_user_cannot_grant_another_a_permission_it_does_not_hold(clinic, editor):
    member = await clinic.member()
    base = {"userId": member.user_id, "password": PASSWORD}
    refused = (await editor.gql(GRANT, {"input": {**base, "permission": "VIEW_AUDIT_LOG"}}))["grantPermission"]
    assert codes(refused) == [("PERMISSION_NOT_HELD", ["permission"])]
    held = (await editor.gql(GRANT, {"input": {**base, "permission": "EDIT_OTHER_USERS"}}))["grantPermission"]
    assert held == {"user": {"extraPermissions": ["EDIT_OTHER_USERS"]}, "errors": []}


async def test_a_user_may_revoke_another_users_permission_it_does_not_hold(clinic, editor):
    member = await holder(clinic, "VIEW_USERS")
    await clinic.owner.gql(
        GRANT, {"input": {"userId": member.user_id, "permission": "VIEW_BILLING", "password": PASSWORD}}
    )
    revoked = (
        await editor.gql(
            REVOKE, {"input": {"userId": member.user_id, "permission": "VIEW_BILLING", "password": PASSWORD}}
        )
    )["revokePermission"]
    assert revoked == {"user": {"extraPermissions": []}, "errors": []}


async def test_a_user_cannot_revoke_its_own_permissions(clinic):
    user = await clinic.member()
    await clinic.owner.gql(
        GRANT, {"input": {"userId": user.user_id, "permission": "EDIT_OTHER_USERS", "password": PASSWORD}}
    )
    result = (
        await user.gql(
            REVOKE, {"input": {"userId": user.user_id, "permission": "EDIT_OTHER_USERS", "password": PASSWORD}}
        )
    )["revokePermission"]
    assert codes(result) == [("NOT_ALLOWED_FOR_SELF", ["userId"])]


async def test_a_user_cannot_assign_itself_administrator(clinic, editor):
    roles = [role_id(clinic, "Administrator")]
    result = (await editor.gql(ASSIGN, {"input": {"userId": editor.user_id, "roleIds": roles, "password": PASSWORD}}))[
        "assignRoles"
    ]
    assert result["user"] is None
    assert codes(result) == [("NOT_ALLOWED_FOR_SELF", ["userId"]), ("PERMISSION_NOT_HELD", ["roleIds"])]
    me = (await editor.gql(ME))["viewer"]["user"]
    assert me["permissions"] == ["EDIT_OTHER_USERS"]
    assert "Administrator" not in [r["name"] for r in me["roles"]]


async def test_a_user_cannot_change_its_own_roles_even_to_fewer(clinic, editor):
    result = (await editor.gql(ASSIGN, {"input": {"userId": editor.user_id, "roleIds": [], "password": PASSWORD}}))[
        "assignRoles"
    ]
    assert codes(result) == [("NOT_ALLOWED_FOR_SELF", ["userId"])]


async def test_a_user_cannot_assign_a_role_giving_what_it_does_not_hold(clinic, editor):
    member = await clinic.member()
    base = {"userId": member.user_id, "password": PASSWORD}
    refused = (await editor.gql(ASSIGN, {"input": {**base, "roleIds": [role_id(clinic, "Administrator")]}}))[
        "assignRoles"
    ]
    assert codes(refused) == [("PERMISSION_NOT_HELD", ["roleIds"])]
    editors = await custom_role(clinic, "EDIT_OTHER_USERS")
    allowed = (await editor.gql(ASSIGN, {"input": {**base, "roleIds": [role_id(clinic, editors)]}}))["assignRoles"]
    # Role is read with VIEW_USERS (the editor holds only EDIT_OTHER_USERS): the owner looks.
    assert allowed == {"user": {"id": member.user_id}, "errors": []}
    seen = await clinic.owner.gql(
        "query($id: ID!) { node(id: $id) { ... on User { roles { name } } } }", {"id": member.user_id}
    )
    assert seen["node"]["roles"] == [{"name": editors}]


async def test_inviting_with_a_role_cannot_grant_what_the_caller_does_not_hold(clinic, editor):
    invite = {
        "email": f"{unique('new')}@{clinic.domain}.test",
        "type": "STAFF",
        "license": "STAFF",
        "firstName": "New",
        "lastName": "Hire",
        "roleIds": [role_id(clinic, "Administrator")],
    }
    result = (await editor.gql(INVITE, {"input": invite}))["inviteUser"]
    assert codes(result) == [("PERMISSION_NOT_HELD", ["roleIds"])]
    by_owner = (await clinic.owner.gql(INVITE, {"input": invite}))["inviteUser"]
    assert by_owner["errors"] == []


async def test_only_the_owner_changes_the_owners_profile(clinic, editor):
    change = {"userId": clinic.owner.user_id, "firstName": "Mallory"}
    refused = (await editor.gql(UPDATE_USER, {"input": change}))["updateUser"]
    assert refused == {"user": None, "errors": [{"code": "OWNER_ONLY", "field": ["userId"]}]}
    by_consumer = (await clinic.vendor.gql(UPDATE_USER, {"input": change}))["updateUser"]
    assert codes(by_consumer) == [("OWNER_ONLY", ["userId"])]
    by_owner = (await clinic.owner.gql(UPDATE_USER, {"input": {**change, "firstName": "Olive"}}))["updateUser"]
    assert by_owner["errors"] == [] and by_owner["user"]["firstName"] == "Olive"


async def test_only_the_owner_changes_the_owners_license(clinic, editor):
    change = {"userId": clinic.owner.user_id, "license": "STAFF"}
    refused = (await editor.gql(SET_LICENSE, {"input": change}))["setUserLicense"]
    assert refused == {"user": None, "errors": [{"code": "OWNER_ONLY", "field": ["userId"]}]}
    by_consumer = (await clinic.vendor.gql(SET_LICENSE, {"input": change}))["setUserLicense"]
    assert codes(by_consumer) == [("OWNER_ONLY", ["userId"])]


async def test_only_the_owner_changes_the_owners_roles_and_permissions(clinic, editor):
    owner = clinic.owner.user_id
    roles = (
        await editor.gql(
            ASSIGN,
            {"input": {"userId": owner, "roleIds": [role_id(clinic, "Billing")], "password": PASSWORD}},
        )
    )["assignRoles"]
    assert codes(roles) == [("OWNER_ONLY", ["userId"]), ("PERMISSION_NOT_HELD", ["roleIds"])]
    revoke = (await editor.gql(REVOKE, {"input": {"userId": owner, "permission": "VIEW_USERS", "password": PASSWORD}}))[
        "revokePermission"
    ]
    assert codes(revoke) == [("OWNER_ONLY", ["userId"])]
    by_consumer = (await clinic.vendor.gql(ASSIGN, {"input": {"userId": owner, "roleIds": []}}))["assignRoles"]
    assert codes(by_consumer) == [("OWNER_ONLY", ["userId"])]


async def test_the_owner_is_bound_by_the_self_rules(clinic):
    owner = clinic.owner.user_id
    grant = (
        await clinic.owner.gql(GRANT, {"input": {"userId": owner, "permission": "VIEW_USERS", "password": PASSWORD}})
    )["grantPermission"]
    assert codes(grant) == [("NOT_ALLOWED_FOR_SELF", ["userId"])]
    license = (await clinic.owner.gql(SET_LICENSE, {"input": {"userId": owner, "license": "STAFF"}}))["setUserLicense"]
    assert codes(license) == [("NOT_ALLOWED_FOR_SELF", ["userId"])]
    assert not await UserPermission.filter(user__organization_id=clinic.organization.id).exists()


async def test_a_user_cannot_change_its_own_license_or_classification(clinic):
    doctor = await holder(
        clinic,
        "EDIT_OTHER_USERS",
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=License.CHR_LITE,
    )
    me = doctor.user_id
    license = (await doctor.gql(SET_LICENSE, {"input": {"userId": me, "license": "CHR_PLUS"}}))["setUserLicense"]
    assert codes(license) == [("NOT_ALLOWED_FOR_SELF", ["userId"])]
    through_update = (await doctor.gql(UPDATE_USER, {"input": {"userId": me, "license": "CHR_PLUS"}}))["updateUser"]
    assert codes(through_update) == [("NOT_ALLOWED_FOR_SELF", ["license"])]
    classification = (
        await doctor.gql(UPDATE_USER, {"input": {"userId": me, "classification": "LOCUM", "license": "LOCUM"}})
    )["updateUser"]
    assert codes(classification) == [
        ("NOT_ALLOWED_FOR_SELF", ["classification"]),
        ("NOT_ALLOWED_FOR_SELF", ["license"]),
    ]
    profile = (await doctor.gql(UPDATE_USER, {"input": {"userId": me, "title": "Dr", "license": "CHR_LITE"}}))[
        "updateUser"
    ]
    assert profile["errors"] == [] and profile["user"] == {
        "firstName": "Pat",
        "title": "Dr",
        "license": "CHR_LITE",
        "classification": "STANDARD",
    }


async def test_a_user_cannot_approve_or_decline_its_own_upgrade_request(clinic):
    doctor = await holder(
        clinic,
        "EDIT_OTHER_USERS",
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=License.CHR_LITE,
    )
    request = (await doctor.gql(REQUEST, {"input": {"license": "CHR_PLUS"}}))["requestLicenseUpgrade"]["request"]
    approve = (await doctor.gql(APPROVE, {"input": {"requestId": request["id"]}}))["approveLicenseUpgradeRequest"]
    assert approve == {"request": None, "errors": [{"code": "NOT_ALLOWED_FOR_SELF", "field": ["requestId"]}]}
    decline = (await doctor.gql(DECLINE, {"input": {"requestId": request["id"]}}))["declineLicenseUpgradeRequest"]
    assert codes(decline) == [("NOT_ALLOWED_FOR_SELF", ["requestId"])]
    by_owner = (await clinic.owner.gql(APPROVE, {"input": {"requestId": request["id"]}}))[
        "approveLicenseUpgradeRequest"
    ]
    assert by_owner == {"request": {"status": "APPROVED"}, "errors": []}


async def test_creating_a_role_gives_only_what_the_caller_holds(clinic, role_editor):
    refused = (await role_editor.gql(CREATE_ROLE, {"input": {"name": unique("r"), "permissions": ["VIEW_AUDIT_LOG"]}}))[
        "createRole"
    ]
    assert refused == {"role": None, "errors": [{"code": "PERMISSION_NOT_HELD", "field": ["permissions"]}]}
    allowed = (await role_editor.gql(CREATE_ROLE, {"input": {"name": unique("r"), "permissions": ["EDIT_ROLES"]}}))[
        "createRole"
    ]
    assert allowed["errors"] == [] and allowed["role"]["permissions"] == ["EDIT_ROLES"]


async def test_a_user_cannot_widen_a_role_it_holds(clinic):
    name = await custom_role(clinic, "EDIT_ROLES")
    role_editor = await clinic.member(permissions_of=[name])
    everything = [
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
    change = {"roleId": role_id(clinic, name), "permissions": everything, "password": PASSWORD}
    result = (await role_editor.gql(UPDATE_ROLE, {"input": change}))["updateRole"]
    assert result == {"role": None, "errors": [{"code": "NOT_ALLOWED_FOR_SELF", "field": ["roleId"]}]}
    assert (await role_editor.gql(ME))["viewer"]["user"]["permissions"] == ["EDIT_ROLES"]


async def test_editing_a_role_adds_only_what_the_caller_holds(clinic, role_editor):
    other = await custom_role(clinic, "VIEW_BILLING")
    base = {"roleId": role_id(clinic, other), "password": PASSWORD}
    widen = (
        await role_editor.gql(UPDATE_ROLE, {"input": {**base, "permissions": ["VIEW_BILLING", "VIEW_AUDIT_LOG"]}})
    )["updateRole"]
    assert codes(widen) == [("PERMISSION_NOT_HELD", ["permissions"])]
    # Keeping what the role already gives is no grant.
    keep = (await role_editor.gql(UPDATE_ROLE, {"input": {**base, "permissions": ["VIEW_BILLING", "EDIT_ROLES"]}}))[
        "updateRole"
    ]
    assert keep["errors"] == [] and keep["role"]["permissions"] == ["EDIT_ROLES", "VIEW_BILLING"]


async def test_changing_a_roles_permissions_by_session_needs_the_password(clinic, role_editor):
    other = await custom_role(clinic, "EDIT_ROLES")
    base = {"roleId": role_id(clinic, other), "permissions": []}
    missing = (await role_editor.gql(UPDATE_ROLE, {"input": base}))["updateRole"]
    assert missing == {"role": None, "errors": [{"code": "PASSWORD_REQUIRED", "field": ["password"]}]}
    wrong = (await role_editor.gql(UPDATE_ROLE, {"input": {**base, "password": "not my password"}}))["updateRole"]
    assert codes(wrong) == [("PASSWORD_INVALID", ["password"])]
    done = (await role_editor.gql(UPDATE_ROLE, {"input": {**base, "password": PASSWORD}}))["updateRole"]
    assert done == {"role": {"name": other, "permissions": []}, "errors": []}
    renamed = (await role_editor.gql(UPDATE_ROLE, {"input": {"roleId": base["roleId"], "name": unique("n")}}))[
        "updateRole"
    ]
    assert renamed["errors"] == []
    by_consumer = (await clinic.vendor.gql(UPDATE_ROLE, {"input": {**base, "permissions": ["VIEW_USERS"]}}))[
        "updateRole"
    ]
    assert by_consumer["errors"] == []


async def test_a_custom_role_no_one_holds_is_deleted_and_audited(clinic, role_editor):
    name = await custom_role(clinic, "VIEW_USERS")
    deleted = (await role_editor.gql(DELETE_ROLE, {"input": {"roleId": role_id(clinic, name)}}))["deleteRole"]
    assert deleted == {"deletedRoleId": role_id(clinic, name), "errors": []}
    assert name not in [r["name"] for r in (await clinic.owner.gql(ROLES))["roles"]]
    event = await AuditEvent.get(organization_id=clinic.organization.id, action="ROLE_DELETED")
    assert event.target_id == role_id(clinic, name) and event.changes["name"] == name
    again = (await role_editor.gql(DELETE_ROLE, {"input": {"roleId": role_id(clinic, name)}}))["deleteRole"]
    assert codes(again) == [("NOT_FOUND", ["roleId"])]


async def test_a_role_someone_holds_is_not_deleted(clinic, role_editor):
    name = await custom_role(clinic, "VIEW_USERS")
    await clinic.member(permissions_of=[name])
    refused = (await role_editor.gql(DELETE_ROLE, {"input": {"roleId": role_id(clinic, name)}}))["deleteRole"]
    assert refused == {"deletedRoleId": None, "errors": [{"code": "ROLE_IN_USE", "field": ["roleId"]}]}
    assert name in [r["name"] for r in (await clinic.owner.gql(ROLES))["roles"]]


async def test_built_in_roles_are_never_deleted(clinic, role_editor):
    refused = (await role_editor.gql(DELETE_ROLE, {"input": {"roleId": role_id(clinic, "Billing")}}))["deleteRole"]
    assert codes(refused) == [("BUILTIN_ROLE_READ_ONLY", ["roleId"])]


async def test_deleting_a_role_needs_edit_roles_not_support_and_another_clinics_role_is_not_found(
    clinic, editor, client
):
    name = await custom_role(clinic, "VIEW_USERS")
    for refused in (editor, clinic.support):
        denied = await refused.post(DELETE_ROLE, {"input": {"roleId": role_id(clinic, name)}})
        assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await make_clinic(client)
    foreign = (await other.owner.gql(DELETE_ROLE, {"input": {"roleId": role_id(clinic, name)}}))["deleteRole"]
    assert codes(foreign) == [("NOT_FOUND", ["roleId"])]
    by_consumer = (await clinic.vendor.gql(DELETE_ROLE, {"input": {"roleId": role_id(clinic, name)}}))["deleteRole"]
    assert by_consumer["errors"] == []


async def test_the_refusal_codes_are_described_in_the_schema(clinic):
    values = {v["name"]: v["description"] for v in (await clinic.owner.gql(ERROR_CODES))["__type"]["enumValues"]}
    for code in ("NOT_ALLOWED_FOR_SELF", "PERMISSION_NOT_HELD", "OWNER_ONLY", "ROLE_IN_USE"):
        assert values[code], code
