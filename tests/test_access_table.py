"""Who may do what, row by row: what a consumer, the support account, the owner and a user
without the permission may do. Later issues add their rows to ROWS."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type
from strawberry.relay import from_base64

from chrgraph.auth.principals import Actor, Principal, PrincipalKind, support_cli_actor
from chrgraph.db.models import Classification, License, Permission, QuestionnaireKind, UserType
from chrgraph.db.public_ids import global_id, new_public_id
from chrgraph.resolvers.licensing.operations import request_license_upgrade
from chrgraph.resolvers.patients.patients import Identifier, create_identifier_type, register_patient
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.scheduling.work import (
    create_inbox_message,
    create_lab_integration,
    create_mdbilling_connection,
    create_questionnaire,
)
from chrgraph.resolvers.users.profile import Locum
from chrgraph.resolvers.users.roles import set_permission
from chrgraph.schema import reads, schema
from chrgraph.schema.permissions import Authenticated, Rule
from tests.accounts import make_clinic
from tests.helpers import gid, key_of, unique
from tests.scheduling_helpers import at, practitioner

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
    (
        "patientAccessLog",
        """query($p: ID!) { patientAccessLog(patientId: $p) { totalCount } }""",
        lambda c: {"p": "UGF0aWVudDpub25l"},  # Patient:none — the rule comes before the lookup
        True,
        False,
        True,
        "VIEW_AUDIT_LOG",
    ),
    ("apiLogs", "{ apiLogs { totalCount } }", None, False, True, True, None),
    ("apiConsumers", "{ apiConsumers { issuer } }", None, False, True, True, None),
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
    # One's own account: any session, for itself (inputs that change nothing).
    (
        "changePassword",
        """mutation($i: ChangePasswordInput!) { changePassword(input: $i) { errors { code } } }""",
        lambda c: {"i": {"password": "not checked", "newPassword": "weak"}},
        False,
        True,
        True,
        None,
    ),
    (
        "updateMyProfile",
        """mutation($i: UpdateMyProfileInput!) { updateMyProfile(input: $i) { errors { code } } }""",
        lambda c: {"i": {}},
        False,
        True,
        True,
        None,
    ),
    ("mySessions", "{ mySessions { current } }", None, False, True, True, None),
    (
        "revokeMySession",
        """mutation($i: RevokeMySessionInput!) { revokeMySession(input: $i) { errors { code } } }""",
        lambda c: {"i": {"sessionId": global_id("Session", new_public_id())}},
        False,
        True,
        True,
        None,
    ),
    (
        "updateSecurityPolicy",
        """mutation($i: UpdateSecurityPolicyInput!) { updateSecurityPolicy(input: $i) { errors { code } } }""",
        lambda c: {"i": {"sessionIdleTimeoutMinutes": 1}},
        False,
        True,
        True,
        None,
    ),
    (
        "startTwoFactorEnrollment",
        "mutation { startTwoFactorEnrollment { errors { code } } }",
        None,
        False,
        True,
        True,
        None,
    ),
    (
        "confirmTwoFactorEnrollment",
        "mutation($i: ConfirmTwoFactorEnrollmentInput!) { confirmTwoFactorEnrollment(input: $i) { errors { code } } }",
        lambda c: {"i": {"code": "000000"}},
        False,
        True,
        True,
        None,
    ),
    (
        "disableTwoFactor",
        """mutation($i: DisableTwoFactorInput!) { disableTwoFactor(input: $i) { errors { code } } }""",
        lambda c: {"i": {"password": "x", "code": "000000"}},
        False,
        True,
        True,
        None,
    ),
    (
        "resetSecondFactor",
        """mutation($i: ResetSecondFactorInput!) { resetSecondFactor(input: $i) { errors { code } } }""",
        lambda c: {"i": {"userId": c.owner.user_id, "password": "x"}},
        False,
        False,
        True,
        "EDIT_OTHER_USERS",
    ),
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
        lambda c: {"i": {"requestId": global_id("LicenseUpgradeRequest", new_public_id())}},
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
        "query($id: ID!) { deactivationPreview(userId: $id) { __typename } }",
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
    (
        # Support reaches it for the main lab integration (the operation refuses it others).
        "transferLabIntegration",
        """mutation($i: TransferLabIntegrationInput!) { transferLabIntegration(input: $i) { errors { code } } }""",
        lambda c: {"i": {"labIntegrationId": global_id("LabIntegration", new_public_id()), "userId": c.owner.user_id}},
        True,
        True,
        True,
        "EDIT_OTHER_USERS",
    ),
    (
        "forwardInboxMessages",
        """mutation($i: ForwardInboxMessagesInput!) { forwardInboxMessages(input: $i) { errors { code } } }""",
        lambda c: {"i": {"fromUserId": c.owner.user_id, "toUserId": c.owner.user_id}},
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
            name
            in (
                "viewer",
                "node",
                "logout",
                "licenseCatalog",
                "requestLicenseUpgrade",
                "changePassword",
                "updateMyProfile",
                "mySessions",
                "revokeMySession",
                "startTwoFactorEnrollment",
                "confirmTwoFactorEnrollment",
                "disableTwoFactor",
            ),
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


# --- Nested reads: each guarded type reached through each relation ----------------------
#
# A row grants the data as well as the operation: a type is read through any relation
# only by those its own row admits. Each row below reaches one relation from a root field:
# (name, document, path of the relation, permission the root needs, permission the
# relation's type needs, consumer, support). A session holding only the root's
# permission is refused at the path (FORBIDDEN, the field null, its siblings kept) unless
# the relation's type needs nothing more; with both it reads; the owner reads everything;
# consumer and support as their columns say (None: the root itself refuses them).

APPOINTMENT = "query($id: ID!) { node(id: $id) { ... on Appointment { start %s } } }"
INBOX = "{ inboxMessages(includeHidden: true) { edges { node { subject %s } } } }"
QUESTIONNAIRES = "{ questionnaires { edges { node { title %s } } } }"
PREVIEW = "query($id: ID!) { deactivationPreview(userId: $id) { __typename %s } }"

NESTED = [
    (
        "Appointment.patient",
        APPOINTMENT % "patient { healthCardNumber dateOfBirth phone }",
        ["node", "patient"],
        "MANAGE_SCHEDULE",
        "MANAGE_PATIENTS",
        True,
        None,
    ),
    (
        "Appointment.practitioner",
        APPOINTMENT % "practitioner { email licenseHistory { toLicense } }",
        ["node", "practitioner"],
        "MANAGE_SCHEDULE",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "Appointment.questionnaires",
        APPOINTMENT % "questionnaires { title }",
        ["node", "questionnaires"],
        "MANAGE_SCHEDULE",
        None,
        True,
        None,
    ),
    (
        "appointments > Appointment.patient",
        "{ appointments { edges { node { start patient { healthCardNumber } } } } }",
        ["appointments", "edges", "node", "patient"],
        "MANAGE_SCHEDULE",
        "MANAGE_PATIENTS",
        True,
        None,
    ),
    (
        "Questionnaire.patient",
        QUESTIONNAIRES % "patient { lastName }",
        ["questionnaires", "edges", "node", "patient"],
        "MANAGE_SCHEDULE",
        "MANAGE_PATIENTS",
        True,
        None,
    ),
    (
        "Questionnaire.practitioner",
        QUESTIONNAIRES % "practitioner { email }",
        ["questionnaires", "edges", "node", "practitioner"],
        "MANAGE_SCHEDULE",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "InboxMessage.owner",
        INBOX % "owner { email permissions }",
        ["inboxMessages", "edges", "node", "owner"],
        "MANAGE_SCHEDULE",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "InboxMessage.sender",
        INBOX % "sender { email }",
        ["inboxMessages", "edges", "node", "sender"],
        "MANAGE_SCHEDULE",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "InboxMessage.patient",
        INBOX % "patient { healthCardNumber }",
        ["inboxMessages", "edges", "node", "patient"],
        "MANAGE_SCHEDULE",
        "MANAGE_PATIENTS",
        True,
        None,
    ),
    (
        "LabIntegration.backedBy",
        "{ labIntegrations { name backedBy { email } } }",
        ["labIntegrations", "backedBy"],
        "MANAGE_SCHEDULE",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "MdBillingConnection.user",
        "{ mdBillingConnections { accountNumber user { email } } }",
        ["mdBillingConnections", "user"],
        "MANAGE_SCHEDULE",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "LicenseUpgradeRequest.user",
        "{ licenseUpgradeRequests { status user { email } } }",
        ["licenseUpgradeRequests", "user"],
        "EDIT_OTHER_USERS",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "DeactivationPreview.user",
        PREVIEW % "user { email }",
        ["deactivationPreview", "user"],
        "EDIT_OTHER_USERS",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "DeactivationPreview.futureAppointments",
        PREVIEW % "futureAppointments { totalCount }",
        ["deactivationPreview", "futureAppointments"],
        "EDIT_OTHER_USERS",
        "MANAGE_SCHEDULE",
        True,
        None,
    ),
    (
        "DeactivationPreview.inboxMessages",
        PREVIEW % "inboxMessages { totalCount }",
        ["deactivationPreview", "inboxMessages"],
        "EDIT_OTHER_USERS",
        "MANAGE_SCHEDULE",
        True,
        None,
    ),
    (
        "DeactivationPreview.labIntegrations",
        PREVIEW % "labIntegrations { totalCount }",
        ["deactivationPreview", "labIntegrations"],
        "EDIT_OTHER_USERS",
        "MANAGE_SCHEDULE",
        True,
        None,
    ),
    (
        "DeactivationPreview.mdBillingConnection",
        PREVIEW % "mdBillingConnection { accountNumber }",
        ["deactivationPreview", "mdBillingConnection"],
        "EDIT_OTHER_USERS",
        "MANAGE_SCHEDULE",
        True,
        None,
    ),
    (
        "BillingLine.users",
        '{ billingStatement(month: "%s") { lines { users { email } } } }',
        ["billingStatement", "lines", "users"],
        "VIEW_BILLING",
        "VIEW_USERS",
        True,
        None,
    ),
    (
        "Organization.owner",
        "{ viewer { organization { name owner { email } } } }",
        ["viewer", "organization", "owner"],
        None,
        "VIEW_USERS",
        True,
        True,
    ),
    ("Role.members", "{ roles { name members { email } } }", ["roles", "members"], "VIEW_USERS", None, True, True),
    (
        "User.roles",
        "{ users { edges { node { email roles { name } } } } }",
        ["users", "edges", "node", "roles"],
        "VIEW_USERS",
        None,
        True,
        True,
    ),
    (
        "LocumDetails.practitioner",
        "{ users { edges { node { locum { practitioner { email } } } } } }",
        ["users", "edges", "node", "locum", "practitioner"],
        "VIEW_USERS",
        None,
        True,
        True,
    ),
    (
        "PatientIdentifierValue.type",
        "{ patients { edges { node { identifiers { value type { name } } } } } }",
        ["patients", "edges", "node", "identifiers", "type"],
        "MANAGE_PATIENTS",
        None,
        True,
        None,
    ),
    (
        "FeatureAccess.user",
        "query($id: ID!) { featureAccess(userId: $id, feature: LABS) { included user { email } } }",
        ["featureAccess", "user"],
        "VIEW_USERS",
        None,
        True,
        True,
    ),
    (
        "createRole > Role.members",
        'mutation { createRole(input: {name: "%s", permissions: []}) { role { name members { email } } } }',
        ["createRole", "role", "members"],
        "EDIT_ROLES",
        "VIEW_USERS",
        True,
        None,
    ),
]


@dataclass
class World:
    """A clinic with one of everything a relation can reach, and sessions by permissions."""

    clinic: Any
    ids: dict[str, str]
    sessions: dict[frozenset, Any] = dataclasses.field(default_factory=dict)

    async def holding(self, *permissions: str | None) -> Any:
        key = frozenset(p for p in permissions if p)
        if key not in self.sessions:
            session = await self.clinic.member()
            for permission in sorted(key):
                await set_permission(
                    support_cli_actor(self.clinic.organization.id),
                    await key_of(session.user_id),
                    permission,
                    True,
                    None,
                )
            self.sessions[key] = session
        return self.sessions[key]


@pytest.fixture(scope="module")
async def world(client):
    clinic = await make_clinic(client)
    org = clinic.organization.id
    actor = support_cli_actor(org)
    dr_gid = await practitioner(org, license=License.CHR_LITE)
    dr = await key_of(dr_gid)
    await practitioner(
        org,
        title="Dr.",
        classification=Classification.LOCUM,
        license=License.LOCUM,
        locum=Locum(dr, date(2026, 1, 1), date(2026, 12, 31)),
    )
    chart = await create_identifier_type(actor, unique("Chart"))
    pat = await register_patient(
        actor,
        {
            "first_name": "Pat",
            "last_name": "Doe",
            "date_of_birth": date(1980, 5, 17),
            "email": None,
            "phone": "+15145550100",
            "health_card_number": unique("HC"),
        },
        [Identifier(chart.id, "C-1")],
    )
    appointment = await book_appointment(actor, dr, pat.id, datetime.fromisoformat(at(3, 9)), 15)
    await create_questionnaire(
        actor,
        kind=QuestionnaireKind.SENT,
        title="Before the visit",
        practitioner_id=dr,
        patient_id=pat.id,
        appointment_id=appointment.id,
    )
    await create_inbox_message(actor, owner_id=dr, sender_id=dr, patient_id=pat.id, subject="Results", body="x")
    await create_lab_integration(actor, name="Lab", backed_by_id=dr)
    await create_mdbilling_connection(actor, user_id=dr, account_number="A-1")
    dr_actor = Actor(Principal(PrincipalKind.USER, org, user_id=dr, user_public_id=from_base64(dr_gid)[1]))
    await request_license_upgrade(dr_actor, License.CHR_PLUS, "Labs")
    ids = {"appointment": gid(appointment), "practitioner": dr_gid}
    return World(clinic, ids)


def _variables(world: World, document: str) -> dict | None:
    if "$id" not in document:
        return None
    return {"id": world.ids["appointment" if "node(id" in document else "practitioner"]}


def _document(document: str) -> str:
    if "billingStatement" in document:
        return document % datetime.now(UTC).strftime("%Y-%m")
    if "createRole" in document:
        return document % unique("Role")
    return document


def _refused_at(body: dict, path: list) -> bool:
    """A FORBIDDEN error at `path` (list indices left out) and nowhere else."""
    paths = [
        [step for step in e.get("path", []) if not isinstance(step, int)]
        for e in body.get("errors", [])
        if e.get("extensions", {}).get("code") == "FORBIDDEN"
    ]
    assert all(p == path for p in paths), f"refused elsewhere than {path}: {body}"
    return bool(paths)


def _reached(data: Any, path: list) -> list:
    """The values at `path`, through lists."""
    values = [data]
    for step in path:
        values = [
            item
            for value in values
            for item in (value if isinstance(value, list) else [value])
            if isinstance(item, dict)
        ]
        values = [v[step] for v in values if step in v]
        values = [i for v in values for i in (v if isinstance(v, list) else [v])] if step != path[-1] else values
    return values


@pytest.mark.parametrize("row", NESTED, ids=[r[0] for r in NESTED])
async def test_nested_read(world, row):
    name, document, path, root_permission, type_permission, consumer_ok, support_ok = row
    clinic = world.clinic
    cases = [
        ("session with the root's permission only", await world.holding(root_permission), type_permission is None),
        ("session with both permissions", await world.holding(root_permission, type_permission), True),
        ("owner", clinic.owner, True),
        ("consumer", clinic.vendor, consumer_ok),
        ("support", clinic.support, support_ok),
    ]
    for who, caller, allowed in cases:
        if allowed is None:
            continue  # the root field refuses this caller (the access table above)
        body = await ask(caller, _document(document), _variables(world, document))
        assert body.get("data") is not None, f"{name} as {who}: {body}"
        if allowed:
            assert not _refused_at(body, path), f"{name} as {who}: {body}"
            values = _reached(body["data"], path)
            assert values and all(v is not None for v in values), f"{name} as {who} read nothing: {body}"
        else:
            assert _refused_at(body, path), f"{name} as {who} was not refused: {body}"
            assert _reached(body["data"], path) and all(v is None for v in _reached(body["data"], path)), body


async def test_a_consumer_reads_itself_through_the_viewer(world):
    body = await ask(world.clinic.vendor, "{ viewer { consumer { issuer } } }", None)
    assert body["data"]["viewer"]["consumer"]["issuer"] == world.clinic.vendor.consumer.issuer
    assert "errors" not in body


ME = "{ viewer { user { email permissions licenseHistory { toLicense } roles { name } } } }"


async def test_a_user_without_view_users_reads_itself_and_its_roles_but_not_their_members(world):
    plain = await world.holding()
    body = await ask(plain, ME, None)
    assert body["data"]["viewer"]["user"]["email"] == plain.email
    assert "errors" not in body
    assert isinstance(body["data"]["viewer"]["user"]["roles"], list)
    body = await ask(plain, "{ viewer { user { roles { name members { email } } } } }", None)
    assert _refused_at(body, ["viewer", "user", "roles", "members"]) or not body["data"]["viewer"]["user"]["roles"]


async def test_a_user_without_view_users_cannot_read_anothers_roles(world):
    plain = await world.holding()
    other = await world.clinic.member()
    document = "query($id: ID!) { node(id: $id) { ... on User { roles { name } } } }"
    body = await ask(plain, document, {"id": other.user_id})
    assert not (body.get("data") or {}).get("node")


async def test_a_practitioner_with_only_the_schedule_reads_itself_as_the_practitioner(world):
    """A single object that is the caller's own User is readable; others are not."""
    clinic = world.clinic
    own = await clinic.member(
        type=UserType.PRACTITIONER, classification=Classification.STANDARD, license=License.CHR_PLUS
    )
    own_pk = await key_of(own.user_id)
    await set_permission(support_cli_actor(clinic.organization.id), own_pk, "MANAGE_SCHEDULE", True, None)
    await create_lab_integration(support_cli_actor(clinic.organization.id), name="Own lab", backed_by_id=own_pk)
    body = await ask(own, "{ labIntegrations { name backedBy { id } } }", None)
    backers = {i["name"]: i["backedBy"] for i in body["data"]["labIntegrations"]}
    assert backers["Own lab"] == {"id": own.user_id}
    assert backers["Lab"] is None
    assert _refused_at(body, ["labIntegrations", "backedBy"])


async def test_every_object_type_and_relation_declares_a_read_rule():
    """The schema walk: a new type or relation without a read rule fails here (and the
    schema refuses to build: reads.install)."""
    core = schema._schema
    missing = [
        t.name
        for t in core.type_map.values()
        if isinstance(t, GraphQLObjectType)
        and not t.name.startswith("__")
        and t not in (core.query_type, core.mutation_type)
        and reads.declared(t) is None
    ]
    assert missing == [], f"object types without a read rule: {missing}"
    guarded = {f"{holder.name}.{name}": (field, rule) for holder, name, field, rule in reads.guarded_fields(core)}
    for where, (field, rule) in guarded.items():
        assert getattr(field.resolve, "read_rule", None) is rule, f"{where} is not guarded by {rule.__name__}"
        assert not (rule.refuses_some_caller and isinstance(field.type, GraphQLNonNull)), f"{where} must be nullable"
    assert {row[0].split(" > ")[-1] for row in NESTED} | {"Viewer.consumer", "Viewer.user"} <= set(guarded)
    # Every relation outside the root types, payloads and connections leads to a guarded
    # type or to a piece of its holder.
    for type_ in core.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        if type_ in (core.query_type, core.mutation_type) or type_.name.endswith(("Payload", "Connection", "Edge")):
            continue
        for name, field in type_.fields.items():
            target = get_named_type(field.type)
            if isinstance(target, GraphQLObjectType) and f"{type_.name}.{name}" not in guarded:
                assert reads.declared(target) is reads.PART or reads.declared(target) is Authenticated, (
                    f"{type_.name}.{name} reaches {target.name} unguarded"
                )


async def test_the_owner_holds_every_permission_but_managing_consumers(world):
    everything = sorted(p.value for p in Permission if p is not Permission.MANAGE_API_CONSUMERS)
    clinic = world.clinic
    me = await clinic.owner.gql("{ viewer { user { permissions } organization { owner { id permissions } } } }")
    assert me["viewer"]["user"]["permissions"] == everything
    assert me["viewer"]["organization"]["owner"] == {"id": clinic.owner.user_id, "permissions": everything}
    listed = await clinic.vendor.gql("{ users(first: 100) { edges { node { id permissions } } } }")
    owner = [e["node"] for e in listed["users"]["edges"] if e["node"]["id"] == clinic.owner.user_id]
    assert owner == [{"id": clinic.owner.user_id, "permissions": everything}]
    seen = await clinic.vendor.gql("query($id: ID!) { user(id: $id) { permissions } }", {"id": clinic.owner.user_id})
    assert seen["user"]["permissions"] == everything
