"""Who may do what, row by row: what a consumer, the support account, the owner and a user
without the permission may do. Later issues add their rows to ROWS."""

from __future__ import annotations

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.resolvers.users.roles import set_permission
from chrgraph.schema import schema
from chrgraph.schema.permissions import Rule
from tests.accounts import make_clinic
from tests.helpers import key_of

# (operation, document, variables builder, consumer, support, owner, permission that grants it)
ROWS = [
    ("viewer", "{ viewer { kind } }", None, True, True, True, None),
    ("node", 'query { node(id: "T3JnYW5pemF0aW9uOjE=") { id } }', None, True, True, True, None),
    ("users", "{ users { totalCount } }", None, True, True, True, "VIEW_USERS"),
    ("roles", "{ roles { name } }", None, True, True, True, "VIEW_USERS"),
    (
        "inviteUser",
        """mutation($i: InviteUserInput!) { inviteUser(input: $i) { errors { code } } }""",
        lambda c: {
            "i": {
                "email": "not-an-email",
                "type": "STAFF",
                "firstName": "A",
                "lastName": "B",
                "license": "STAFF",
            }
        },
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "createServiceAccount",
        """mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { errors { code } } }""",
        lambda c: {"i": {"email": "bad", "firstName": "A", "lastName": "B", "displayName": "C"}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "updateUser",
        """mutation($i: UpdateUserInput!) { updateUser(input: $i) { errors { code } } }""",
        lambda c: {"i": {"userId": c.owner.user_id}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "createRole",
        """mutation($i: CreateRoleInput!) { createRole(input: $i) { errors { code } } }""",
        lambda c: {"i": {"name": "", "permissions": []}},
        True,
        False,
        True,
        "EDIT_ROLES",
    ),
    (
        "transferOwnership",
        """mutation($i: TransferOwnershipInput!) { transferOwnership(input: $i) { errors { code } } }""",
        lambda c: {"i": {"userId": c.owner.user_id, "password": "x"}},
        False,
        False,
        True,
        None,
    ),
    ("auditEvents", "{ auditEvents { totalCount } }", None, True, True, True, "VIEW_AUDIT_LOG"),
    ("apiLogs", "{ apiLogs { totalCount } }", None, False, True, True, None),
    ("apiConsumers", "{ apiConsumers { issuer } }", None, False, True, False, None),
    (
        "updateOrganization",
        """mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { errors { code } } }""",
        lambda c: {"i": {}},
        False,
        True,
        False,
        None,
    ),
    (
        "createApiConsumer",
        """mutation($i: CreateApiConsumerInput!) { createApiConsumer(input: $i) { errors { code } } }""",
        lambda c: {"i": {"name": "x", "publicKey": "not a key"}},
        False,
        True,
        False,
        None,
    ),
    ("logout", "mutation { logout { errors { code } } }", None, False, True, True, None),
    ("patients", "{ patients { totalCount } }", None, True, False, True, "MANAGE_PATIENTS"),
    (
        "registerPatient",
        """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { errors { code } } }""",
        lambda c: {"i": {"firstName": "", "lastName": "B", "dateOfBirth": "2000-01-01"}},
        True,
        False,
        True,
        "MANAGE_PATIENTS",
    ),
    ("appointments", "{ appointments { totalCount } }", None, True, False, True, "MANAGE_SCHEDULE"),
    (
        "bookAppointment",
        """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { errors { code } } }""",
        lambda c: {
            "i": {
                "practitionerId": c.owner.user_id,
                "patientId": "UGF0aWVudDow",
                "start": "2020-01-01T00:00:00+00:00",
                "durationMinutes": 30,
            }
        },
        True,
        False,
        True,
        "MANAGE_SCHEDULE",
    ),
    ("labIntegrations", "{ labIntegrations { name } }", None, True, False, True, "MANAGE_SCHEDULE"),
    ("portalSettings", "{ portalSettings { otpTimeoutMinutes } }", None, False, True, True, "MANAGE_PORTAL"),
    (
        "updatePortalSettings",
        """mutation($i: UpdatePortalSettingsInput!) { updatePortalSettings(input: $i) { errors { code } } }""",
        lambda c: {"i": {"otpTimeoutMinutes": 7}},
        False,
        True,
        True,
        "MANAGE_PORTAL",
    ),
    ("enablePortal", "mutation { enablePortal { errors { code } } }", None, False, True, True, None),
    (
        "setPatientPortalAccess",
        """mutation($i: SetPatientPortalAccessInput!) { setPatientPortalAccess(input: $i) { errors { code } } }""",
        lambda c: {"i": {"patientId": "UGF0aWVudDow", "enabled": True}},
        True,
        False,
        True,
        "MANAGE_PATIENTS",
    ),
    ("licenseCatalog", "{ licenseCatalog { license } }", None, True, True, True, None),
    (
        "featureAccess",
        "query($id: ID!) { featureAccess(userId: $id, feature: LABS) { included } }",
        lambda c: {"id": c.owner.user_id},
        True,
        True,
        True,
        "VIEW_USERS",
    ),
    (
        "setUserLicense",
        """mutation($i: SetUserLicenseInput!) { setUserLicense(input: $i) { errors { code } } }""",
        lambda c: {"i": {"userId": c.owner.user_id, "license": "CHR_PLUS"}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "runLicenseMapping",
        """mutation($i: RunLicenseMappingInput!) { runLicenseMapping(input: $i) { errors { code } } }""",
        lambda c: {"i": {"dryRun": True}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    ("unmappedUsers", "{ unmappedUsers { reason } }", None, True, False, True, "EDIT_OTHER_USERS"),
    (
        "licenseUpgradeRequests",
        "{ licenseUpgradeRequests { id } }",
        None,
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "approveLicenseUpgradeRequest",
        """mutation($i: ApproveLicenseUpgradeRequestInput!) { approveLicenseUpgradeRequest(input: $i) {
       errors { code } } }""",
        lambda c: {"i": {"requestId": "TGljZW5zZVVwZ3JhZGVSZXF1ZXN0OjA="}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "upgradeOwnLicense",
        """mutation($i: UpgradeOwnLicenseInput!) { upgradeOwnLicense(input: $i) {
       errors { code } } }""",
        lambda c: {"i": {"license": "STAFF"}},
        False,
        False,
        True,
        "UPGRADE_TYPE_CLASSIFICATION",
    ),
    (
        "requestLicenseUpgrade",
        """mutation($i: RequestLicenseUpgradeInput!) { requestLicenseUpgrade(input: $i) {
       errors { code } } }""",
        lambda c: {"i": {"license": "CHR_PLUS"}},
        False,
        False,
        True,
        None,
    ),
    (
        "billingStatement",
        '{ billingStatement(month: "2026-03") { billedTotal } }',
        None,
        True,
        False,
        True,
        "VIEW_BILLING",
    ),
    (
        "deactivationPreview",
        "query($id: ID!) { deactivationPreview(userId: $id) { user { id } } }",
        lambda c: {"id": c.owner.user_id},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "deactivateUser",
        """mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { errors { code } } }""",
        lambda c: {"i": {"userId": c.owner.user_id}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "reactivateUser",
        """mutation($i: ReactivateUserInput!) { reactivateUser(input: $i) { errors { code } } }""",
        lambda c: {"i": {"userId": c.owner.user_id}},
        True,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
]


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def forbidden(body: dict) -> bool:
    return any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in body.get("errors", []))


async def ask(caller, document, variables):
    response = await caller.post(document, variables)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
async def test_access_table_row(clinic, row):
    name, document, build, consumer_ok, support_ok, owner_ok, permission = row
    variables = build(clinic) if build else None
    plain = await clinic.member()  # a user without any role or extra permission
    for who, caller, allowed in (
        ("consumer", clinic.vendor, consumer_ok),
        ("support", clinic.support, support_ok),
        ("owner", clinic.owner, owner_ok),
        (
            "plain user",
            plain,
            name in ("viewer", "node", "logout", "licenseCatalog", "requestLicenseUpgrade"),
        ),
    ):
        if name == "logout" and who in ("support", "owner"):
            continue  # ends the fixture's sessions; the plain user shows the rule
        body = await ask(caller, document, variables)
        assert forbidden(body) is (not allowed), f"{name} as {who}: {body}"
    if permission:
        granted = await clinic.member()
        await set_permission(
            support_cli_actor(clinic.organization.id),
            await key_of(granted.user_id),
            permission,
            True,
            None,
        )
        body = await ask(granted, document, variables)
        assert not forbidden(body), f"{name} with {permission}: {body}"


async def test_every_root_field_declares_a_rule():
    for root in ("Query", "Mutation"):
        definition = schema.get_type_by_name(root)
        for field in definition.fields:
            assert field.permission_classes, f"{root}.{field.name} declares no permission class"
            assert all(issubclass(c, Rule) for c in field.permission_classes)
