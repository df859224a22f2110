"""Fault injection (issue 9, point 4: no change without its audit event, no event
without its change; a refused mutation writes nothing). For every mutation of the schema: run it once on
fresh data and count its writes; then, for each N, run it again on fresh data with the
database failing at its Nth write, and prove that not one row of any table changed (no
half-written change, no audit event for a change that did not happen) and that the
caller got a masked error rather than a success.

The mutations are enumerated from the schema. Each needs an entry in CALLS: an async
builder of a valid call (document, variables, caller) on fresh data. A mutation without
one fails its test, so a new mutation cannot slip by unexercised.

Callers are sessions or anonymous, whose requests are not API-logged; the snapshot
ignores the tables written outside a request's transaction anyway (api_log,
audit_checkpoint), and so does the fault plan."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from chrgraph.audit.webhooks import WebhookEventType, event_type_for
from chrgraph.auth.principals import support_cli_actor
from chrgraph.auth.sessions import session_hash, session_public_id
from chrgraph.db import hooks
from chrgraph.db.keys import node_model
from chrgraph.db.models import (
    AuditEvent,
    Classification,
    Contract,
    License,
    OutboxMessage,
    Permission,
    QuestionnaireKind,
    Role,
    UserType,
    WebhookDelivery,
)
from chrgraph.db.public_ids import global_id
from chrgraph.resolvers.consumers.manage import create_api_consumer, set_api_consumer_active
from chrgraph.resolvers.deactivation.deactivate_user import deactivate_user
from chrgraph.resolvers.licensing.operations import set_user_license
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.patients.patients import create_identifier_type
from chrgraph.resolvers.portal.images import upload_background_image
from chrgraph.resolvers.portal.settings import set_portal_enabled
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.scheduling.hours import Weekday, add_schedule_exception, set_working_hours
from chrgraph.resolvers.scheduling.work import (
    create_inbox_message,
    create_lab_integration,
    create_mdbilling_connection,
    create_questionnaire,
)
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.password_changes import request_password_reset
from chrgraph.resolvers.users.profile import Profile
from chrgraph.resolvers.users.roles import create_role, set_permission
from chrgraph.schema import schema
from tests.accounts import PASSWORD, Clinic, forget_token_guesses, make_clinic, session_for
from tests.database_snapshot import BACKGROUND_STATEMENTS, BACKGROUND_TABLES, Snapshot, take_snapshot
from tests.helpers import gid, key_of, make_vendor, public_pem, rsa_key, unique
from tests.scheduling_helpers import at, patient, practitioner

MUTATIONS = sorted(schema._schema.mutation_type.fields)
REQUEST_UPGRADE = """
mutation Ask($input: RequestLicenseUpgradeInput!) {
  requestLicenseUpgrade(input: $input) { request { id } errors { code } }
}"""
INTERNAL = "INTERNAL_SERVER_ERROR"


def document(name: str, *, has_input: bool = True) -> str:
    """`mutation { name(input: $input) { errors { code field message } } }`"""
    type_name = name[0].upper() + name[1:] + "Input"
    if not has_input:
        return f"mutation {{ {name} {{ errors {{ code field message }} }} }}"
    return f"mutation Run($input: {type_name}!) {{ {name}(input: $input) {{ errors {{ code field message }} }} }}"


@dataclass
class Call:
    """One request: the document, its input, who sends it (a session token, or nobody)."""

    name: str
    input: dict[str, Any] | None
    token: str | None
    upload: bytes | None = None
    # Tables the caller's own request touches outside the transaction under test (an API
    # consumer's last use, noted by the API-log writer).
    background: frozenset[str] = frozenset()
    # Its change is to a row the webhook worker writes too (a delivery queued again), in a
    # table the snapshot leaves out; tests/test_webhooks.py proves that change.
    changes_elsewhere: bool = False

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = document(self.name, has_input=self.input is not None)
        variables = {"input": self.input} if self.input is not None else None
        if self.upload is None:
            return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        operations = json.dumps({"query": query, "variables": {"input": {**(self.input or {}), "file": None}}})
        return await client.post(
            "/graphql",
            headers=headers,
            files={"0": ("bg.png", self.upload, "image/png")},
            data={"operations": operations, "map": json.dumps({"0": ["variables.input.file"]})},
        )


@dataclass
class World:
    """A shared clinic (fresh objects are made in it for every run), and fresh clinics
    for mutations that change the whole organization."""

    client: httpx.AsyncClient
    clinic: Clinic
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def org_id(self) -> int:
        return self.clinic.organization.id

    @property
    def cli(self):
        return support_cli_actor(self.org_id)

    @property
    def owner(self) -> str:
        return self.clinic.owner.token

    @property
    def support(self) -> str:
        return self.clinic.support.token

    async def fresh_clinic(self, **org: Any) -> Clinic:
        return await make_clinic(self.client, **org)

    async def shared(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self.cache:
            self.cache[key] = await make()
        return self.cache[key]

    async def doctor(self) -> str:
        return await self.shared("doctor", lambda: practitioner(self.org_id))

    async def patient(self) -> str:
        return await self.shared("patient", lambda: patient(self.org_id))

    async def identifier_type(self) -> str:
        async def make() -> str:
            row = await create_identifier_type(self.cli, unique("Chart"))
            return gid(row)

        return await self.shared("identifier type", make)

    def role(self, name: str) -> str:
        return self.clinic.role_ids[name]

    async def invited(self, **profile: Any) -> int:
        profile.setdefault("type", UserType.STAFF)
        if profile["type"] is UserType.STAFF:
            profile.setdefault("license", License.STAFF)
        user, _ = await invite_user(
            self.cli, f"{unique('user')}@fault.test", Profile(first_name="Fay", last_name="Ult", **profile)
        )
        return user.id

    async def logged_in_practitioner(self, license: License = License.CHR_LITE) -> tuple[int, str]:
        email = f"{unique('dr')}@fault.test"
        user, token = await invite_user(
            self.cli,
            email,
            Profile(
                UserType.PRACTITIONER,
                classification=Classification.STANDARD,
                license=license,
                first_name="Dana",
                last_name="Doc",
            ),
        )
        await accept_invitation(token, PASSWORD, "Dana", "Doc")
        return user.id, (await session_for(self.client, email)).token

    async def appointment(self, days: int = 2) -> int:
        doctor = await pk(await practitioner(self.org_id))
        row = await book_appointment(
            self.cli, doctor, await pk(await self.patient()), datetime.fromisoformat(at(days, 10)), 30
        )
        return row.id


async def pk(global_id: str) -> int:
    return await key_of(global_id)


async def global_id_of(type_name: str, key: int) -> str:
    """The global id of the row with this key (its public id, looked up)."""
    model = node_model(type_name)
    assert model is not None, type_name
    return global_id(type_name, (await model.get(id=key)).public_id)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 24), (10, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- valid calls, one builder per mutation ---------------------------------------------


async def invite_user_call(w: World) -> Call:
    return Call(
        "inviteUser",
        {
            "email": f"{unique('new')}@fault.test",
            "type": "PRACTITIONER",
            "firstName": "Ines",
            "lastName": "Vited",
            "classification": "STANDARD",
            "license": "CHR_PLUS",
            "roleIds": [w.role("Practitioner")],
        },
        w.owner,
    )


async def create_service_account_call(w: World) -> Call:
    return Call(
        "createServiceAccount",
        {
            "email": "robot@fault.test",
            "firstName": "Sam",
            "lastName": "Ervice",
            "displayName": unique("Booking robot"),
        },
        w.owner,
    )


async def resend_invitation_call(w: World) -> Call:
    return Call("resendInvitation", {"userId": await global_id_of("User", await w.invited())}, w.owner)


async def accept_invitation_call(w: World) -> Call:
    _, token = await invite_user(
        w.cli,
        f"{unique('inv')}@fault.test",
        Profile(UserType.STAFF, license=License.STAFF, first_name="A", last_name="B"),
    )
    return Call(
        "acceptInvitation",
        {"token": token, "password": PASSWORD, "firstName": "Acey", "lastName": "Cepted"},
        None,
    )


async def update_user_call(w: World) -> Call:
    user = await w.invited(type=UserType.PRACTITIONER, classification=Classification.STANDARD, license=License.CHR_PLUS)
    return Call(
        "updateUser",
        {
            "userId": await global_id_of("User", user),
            "title": "Dr",
            "position": unique("Lead"),
            "billingNumber": "123456",
        },
        w.owner,
    )


async def login_call(w: World) -> Call:
    async def make() -> str:
        return (await w.clinic.member()).email

    return Call("login", {"email": await w.shared("login email", make), "password": PASSWORD}, None)


async def logout_call(w: World) -> Call:
    email = await w.shared("logout email", lambda: _member_email(w))
    return Call("logout", None, (await session_for(w.client, email)).token)


async def _member_email(w: World) -> str:
    return (await w.clinic.member()).email


async def assign_roles_call(w: World) -> Call:
    return Call(
        "assignRoles",
        {
            "userId": await global_id_of("User", await w.invited()),
            "roleIds": [w.role("Front desk"), w.role("Billing")],
            "password": PASSWORD,
        },
        w.owner,
    )


async def grant_permission_call(w: World) -> Call:
    return Call(
        "grantPermission",
        {"userId": await global_id_of("User", await w.invited()), "permission": "VIEW_BILLING", "password": PASSWORD},
        w.owner,
    )


async def revoke_permission_call(w: World) -> Call:
    user = await w.invited()
    await set_permission(w.cli, user, Permission.VIEW_BILLING, True, None)
    return Call(
        "revokePermission",
        {"userId": await global_id_of("User", user), "permission": "VIEW_BILLING", "password": PASSWORD},
        w.owner,
    )


async def create_role_call(w: World) -> Call:
    return Call(
        "createRole",
        {
            "name": unique("Triage"),
            "permissions": ["VIEW_USERS", "MANAGE_PATIENTS"],
            "description": "Nurses at the door",
        },
        w.owner,
    )


async def update_role_call(w: World) -> Call:
    role = await create_role(w.cli, unique("Scribe"), None, [Permission.VIEW_USERS])
    return Call(
        "updateRole",
        {
            "roleId": await global_id_of("Role", role.id),
            "name": unique("Scribe"),
            "permissions": ["VIEW_USERS", "VIEW_BILLING"],
            "password": PASSWORD,
        },
        w.owner,
    )


async def delete_role_call(w: World) -> Call:
    role = await create_role(w.cli, unique("Retired"), None, [Permission.VIEW_USERS])
    return Call("deleteRole", {"roleId": gid(role)}, w.owner)


async def transfer_ownership_call(w: World) -> Call:
    clinic = await w.fresh_clinic()
    heir = await clinic.member()
    return Call("transferOwnership", {"userId": heir.user_id, "password": PASSWORD}, clinic.owner.token)


async def _second_factor_member(w: World, *, confirmed: bool = True):
    """A fresh member, logged in, with a second factor started (and confirmed): its
    session, the secret and the recovery codes (none when not confirmed)."""
    import pyotp

    from chrgraph import clock
    from chrgraph.auth.principals import Actor, Principal, PrincipalKind
    from chrgraph.db.models import User
    from chrgraph.resolvers.users import two_factor

    member = await w.clinic.member()
    user = await User.get(id=await key_of(member.user_id))
    actor = Actor(Principal(PrincipalKind.USER, user.organization_id, user_id=user.id, user_public_id=user.public_id))
    secret = (await two_factor.start_two_factor_enrollment(actor)).secret
    codes = []
    if confirmed:
        codes = await two_factor.confirm_two_factor_enrollment(actor, pyotp.TOTP(secret).at(clock.now()))
    return member, secret, codes


async def start_two_factor_enrollment_call(w: World) -> Call:
    return Call("startTwoFactorEnrollment", None, (await w.clinic.member()).token)


async def confirm_two_factor_enrollment_call(w: World) -> Call:
    import pyotp

    member, secret, _ = await _second_factor_member(w, confirmed=False)
    return Call("confirmTwoFactorEnrollment", {"code": pyotp.TOTP(secret).now()}, member.token)


async def verify_second_factor_call(w: World) -> Call:
    from chrgraph.resolvers.users.login import login

    member, _, codes = await _second_factor_member(w)
    challenge = (await login(member.email, PASSWORD)).challenge_token
    # A recovery code: the authenticator's current step was spent by the confirmation.
    return Call("verifySecondFactor", {"challengeToken": challenge, "code": codes[0]}, None)


async def disable_two_factor_call(w: World) -> Call:
    member, _, codes = await _second_factor_member(w)
    return Call("disableTwoFactor", {"password": PASSWORD, "code": codes[0]}, member.token)


async def reset_second_factor_call(w: World) -> Call:
    member, _, _ = await _second_factor_member(w)
    return Call("resetSecondFactor", {"userId": member.user_id, "password": PASSWORD}, w.owner)


async def _consumer(w: World, active: bool = True) -> int:
    consumer = await create_api_consumer(w.cli, name=unique("vendor"), public_key=public_pem(rsa_key(0)), kid="k1")
    if not active:
        await set_api_consumer_active(w.cli, consumer.issuer, False)
    return consumer.id


async def create_api_consumer_call(w: World) -> Call:
    return Call(
        "createApiConsumer",
        {"name": unique("Booking vendor"), "publicKey": public_pem(rsa_key(0)), "kid": "k1"},
        w.support,
    )


async def deactivate_api_consumer_call(w: World) -> Call:
    return Call(
        "deactivateApiConsumer", {"consumerId": await global_id_of("ApiConsumer", await _consumer(w))}, w.support
    )


async def reactivate_api_consumer_call(w: World) -> Call:
    return Call(
        "reactivateApiConsumer",
        {"consumerId": await global_id_of("ApiConsumer", await _consumer(w, active=False))},
        w.support,
    )


async def add_api_consumer_key_call(w: World) -> Call:
    return Call(
        "addApiConsumerKey",
        {
            "consumerId": await global_id_of("ApiConsumer", await _consumer(w)),
            "publicKey": public_pem(rsa_key(1)),
            "kid": "k2",
        },
        w.support,
    )


async def revoke_api_consumer_key_call(w: World) -> Call:
    return Call(
        "revokeApiConsumerKey",
        {"consumerId": await global_id_of("ApiConsumer", await _consumer(w)), "kid": "k1"},
        w.support,
    )


async def set_api_consumer_cost_budget_call(w: World) -> Call:
    return Call(
        "setApiConsumerCostBudget",
        {"consumerId": await global_id_of("ApiConsumer", await _consumer(w)), "costPerMinute": 500},
        w.support,
    )


async def set_api_consumer_permissions_call(w: World) -> Call:
    return Call(
        "setApiConsumerPermissions",
        {"consumerId": await global_id_of("ApiConsumer", await _consumer(w)), "permissions": ["MANAGE_SCHEDULE"]},
        w.support,
    )


# Event notifications. The shared clinic's vendor subscribes to every event (fixture
# `world`), so each mutation that tells subscribers writes its webhook event in the
# transaction under test; the webhook mutations themselves run as fresh vendors.
NOWHERE = "http://127.0.0.1:9/hooks"  # allowed in tests; nothing listens there
SUBSCRIBE = """mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) {
  subscription { id } errors { code } } }"""


async def _subscription(vendor, events: list[str]) -> str:
    made = (await vendor.gql(SUBSCRIBE, {"i": {"url": NOWHERE, "events": events}}))["createWebhookSubscription"]
    assert made["errors"] == [], made
    return made["subscription"]["id"]


async def _vendor(w: World):
    return await make_vendor(w.client)


CONSUMER = frozenset({"api_consumer"})


async def create_webhook_subscription_call(w: World) -> Call:
    vendor = await _vendor(w)
    return Call(
        "createWebhookSubscription",
        {"url": NOWHERE, "events": ["PATIENT_UPDATED"]},
        vendor.token(),
        background=CONSUMER,
    )


async def update_webhook_subscription_call(w: World) -> Call:
    vendor = await _vendor(w)
    sid = await _subscription(vendor, ["PATIENT_UPDATED"])
    return Call(
        "updateWebhookSubscription",
        {"subscriptionId": sid, "description": "Moved"},
        vendor.token(),
        background=CONSUMER,
    )


async def rotate_webhook_secret_call(w: World) -> Call:
    vendor = await _vendor(w)
    return Call(
        "rotateWebhookSecret",
        {"subscriptionId": await _subscription(vendor, ["USER_UPDATED"])},
        vendor.token(),
        background=CONSUMER,
    )


async def delete_webhook_subscription_call(w: World) -> Call:
    vendor = await _vendor(w)
    sid = await _subscription(vendor, ["USER_UPDATED"])
    return Call("deleteWebhookSubscription", {"subscriptionId": sid}, vendor.token(), background=CONSUMER)


async def redeliver_webhook_event_call(w: World) -> Call:
    await patient(w.org_id)  # a PATIENT_REGISTERED event, delivered to the shared subscription
    delivery = await WebhookDelivery.filter(organization_id=w.org_id).order_by("-id").first()
    if delivery is None:  # a world of another test file, which subscribes to nothing
        await _subscription(w.clinic.vendor, ["PATIENT_REGISTERED"])
        await patient(w.org_id)
        delivery = await WebhookDelivery.filter(organization_id=w.org_id).order_by("-id").first()
    assert delivery is not None
    return Call(
        "redeliverWebhookEvent",
        {"deliveryId": global_id("WebhookDelivery", delivery.public_id)},
        w.owner,
        changes_elsewhere=True,
    )


async def update_organization_call(w: World) -> Call:
    return Call("updateOrganization", {"name": unique("Clinic"), "province": "QC"}, w.support)


async def register_patient_call(w: World) -> Call:
    return Call(
        "registerPatient",
        {
            "firstName": "Zoë",
            "lastName": unique("Patient"),
            "dateOfBirth": "1984-02-29",
            "email": "zoe@fault.test",
            "phone": "(416) 555-0199",
            "healthCardNumber": unique("HC")[-12:].upper(),
            "identifiers": [{"typeId": await w.identifier_type(), "value": "A-1"}],
        },
        w.owner,
    )


async def update_patient_call(w: World) -> Call:
    return Call(
        "updatePatient",
        {
            "patientId": await patient(w.org_id),
            "lastName": unique("Renamed"),
            "phone": "+33 1 23 45 67 89",
            "identifiers": [{"typeId": await w.identifier_type(), "value": "B-2"}],
        },
        w.owner,
    )


async def create_identifier_type_call(w: World) -> Call:
    return Call("createIdentifierType", {"name": unique("Band")}, w.owner)


async def book_appointment_call(w: World) -> Call:
    return Call(
        "bookAppointment",
        {
            "practitionerId": await practitioner(w.org_id),
            "patientId": await w.patient(),
            "start": at(3, 9),
            "durationMinutes": 45,
        },
        w.owner,
    )


async def reschedule_appointment_call(w: World) -> Call:
    return Call(
        "rescheduleAppointment",
        {
            "appointmentId": await global_id_of("Appointment", await w.appointment()),
            "start": at(5, 15),
            "durationMinutes": 20,
        },
        w.owner,
    )


async def _owner_with_hours(w: World) -> str:
    """A practitioner with working hours (set through the operation), by global id."""
    owner = await practitioner(w.org_id)
    week = [{"weekday": Weekday.MONDAY, "start": time(9), "end": time(17)}]
    await set_working_hours(w.cli, await key_of(owner), week)
    return owner


def _exception_date() -> date:
    return date.today() + timedelta(days=30)


async def set_working_hours_call(w: World) -> Call:
    weekly = [{"weekday": "TUESDAY", "start": "09:00", "end": "12:00"}]
    return Call("setWorkingHours", {"ownerId": await practitioner(w.org_id), "weekly": weekly}, w.owner)


async def add_schedule_exception_call(w: World) -> Call:
    values = {"ownerId": await _owner_with_hours(w), "date": _exception_date().isoformat(), "closed": True}
    return Call("addScheduleException", values, w.owner)


async def remove_schedule_exception_call(w: World) -> Call:
    owner = await _owner_with_hours(w)
    await add_schedule_exception(w.cli, await key_of(owner), _exception_date(), closed=True)
    return Call("removeScheduleException", {"ownerId": owner, "date": _exception_date().isoformat()}, w.owner)


async def cancel_appointment_call(w: World) -> Call:
    appointment = await w.appointment()
    await create_questionnaire(
        w.cli,
        kind=QuestionnaireKind.SENT,
        title="Intake",
        practitioner_id=await pk(await w.doctor()),
        patient_id=await pk(await w.patient()),
        appointment_id=appointment,
    )
    return Call(
        "cancelAppointment",
        {"appointmentId": await global_id_of("Appointment", appointment), "reason": "Asked to"},
        w.owner,
    )


async def set_appointment_status_call(w: World) -> Call:
    return Call(
        "setAppointmentStatus",
        {"appointmentId": await global_id_of("Appointment", await w.appointment()), "status": "NO_SHOW"},
        w.owner,
    )


async def create_questionnaire_call(w: World) -> Call:
    return Call(
        "createQuestionnaire",
        {
            "kind": "RECURRING",
            "title": "BP diary",
            "practitionerId": await w.doctor(),
            "patientId": await w.patient(),
        },
        w.owner,
    )


async def create_inbox_message_call(w: World) -> Call:
    return Call(
        "createInboxMessage",
        {
            "ownerId": await w.doctor(),
            "subject": "Lab result",
            "body": "Normal.",
            "patientId": await w.patient(),
            "snoozedUntil": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
        w.owner,
    )


async def create_lab_integration_call(w: World) -> Call:
    return Call(
        "createLabIntegration",
        {"name": unique("LifeLabs"), "backedById": await w.doctor(), "isMain": True},
        w.owner,
    )


async def create_md_billing_connection_call(w: World) -> Call:
    return Call(
        "createMdBillingConnection",
        {"userId": await practitioner(w.org_id), "accountNumber": "ON-77"},
        w.owner,
    )


async def deactivate_user_call(w: World) -> Call:
    """A practitioner with one of each kind of work, handed over or cancelled."""
    doctor = await practitioner(w.org_id)
    successor, patient_id = await w.doctor(), await w.patient()
    appointment = await book_appointment(
        w.cli, await pk(doctor), await pk(patient_id), datetime.fromisoformat(at(4, 11)), 30
    )
    await create_questionnaire(
        w.cli,
        kind=QuestionnaireKind.SENT,
        title="Intake",
        practitioner_id=await pk(doctor),
        patient_id=await pk(patient_id),
        appointment_id=appointment.id,
    )
    await create_questionnaire(
        w.cli,
        kind=QuestionnaireKind.RECURRING,
        title="Diary",
        practitioner_id=await pk(doctor),
        patient_id=await pk(patient_id),
    )
    await create_inbox_message(w.cli, owner_id=await pk(doctor), subject="Result", body="ok")
    lab = await create_lab_integration(w.cli, name=unique("Dynacare"), backed_by_id=await pk(doctor))
    await create_mdbilling_connection(w.cli, user_id=await pk(doctor), account_number="ON-1")
    return Call(
        "deactivateUser",
        {
            "userId": doctor,
            "password": PASSWORD,
            "appointments": {"action": "CANCEL"},
            "recurringQuestionnaires": {"action": "MOVE", "toPractitionerId": successor},
            "sentQuestionnaires": {"action": "CANCEL"},
            "forwardInboxToUserId": successor,
            "labIntegrationSuccessors": [
                {"labIntegrationId": await global_id_of("LabIntegration", lab.id), "userId": successor}
            ],
        },
        w.owner,
    )


async def transfer_lab_integration_call(w: World) -> Call:
    lab = await create_lab_integration(
        w.cli, name=unique("Dynacare"), backed_by_id=await pk(await practitioner(w.org_id))
    )
    return Call(
        "transferLabIntegration",
        {"labIntegrationId": gid(lab), "userId": await w.doctor()},
        w.owner,
    )


async def forward_inbox_messages_call(w: World) -> Call:
    doctor = await practitioner(w.org_id)
    for subject in ("Result", "Referral"):
        await create_inbox_message(w.cli, owner_id=await pk(doctor), subject=subject, body="ok")
    return Call("forwardInboxMessages", {"fromUserId": doctor, "toUserId": await w.doctor()}, w.owner)


async def reactivate_user_call(w: World) -> Call:
    member = await w.clinic.member(permissions_of=["Billing"])
    await deactivate_user(w.cli, await pk(member.user_id))
    return Call("reactivateUser", {"userId": member.user_id}, w.owner)


async def update_portal_settings_call(w: World) -> Call:
    clinic = await w.fresh_clinic()
    return Call(
        "updatePortalSettings",
        {
            "portalAccessible": True,
            "otpTimeoutMinutes": 30,
            "hiddenAppointmentStatuses": ["CANCELLED", "NO_SHOW"],
            "notificationLogin": "ID_AND_DATE_OF_BIRTH",
        },
        clinic.owner.token,
    )


async def enable_portal_call(w: World) -> Call:
    return Call("enablePortal", None, (await w.fresh_clinic()).owner.token)


async def disable_portal_call(w: World) -> Call:
    clinic = await w.fresh_clinic()
    await set_portal_enabled(support_cli_actor(clinic.organization.id), True)
    return Call("disablePortal", None, clinic.owner.token)


async def upload_portal_background_image_call(w: World) -> Call:
    return Call("uploadPortalBackgroundImage", {}, w.owner, upload=png())


async def remove_portal_background_image_call(w: World) -> Call:
    clinic = await w.fresh_clinic()
    await upload_background_image(support_cli_actor(clinic.organization.id), png())
    return Call("removePortalBackgroundImage", None, clinic.owner.token)


async def set_patient_portal_access_call(w: World) -> Call:
    return Call("setPatientPortalAccess", {"patientId": await patient(w.org_id), "enabled": True}, w.owner)


async def set_user_license_call(w: World) -> Call:
    user = await w.invited(type=UserType.PRACTITIONER, classification=Classification.STANDARD, license=License.CHR_LITE)
    return Call("setUserLicense", {"userId": await global_id_of("User", user), "license": "CHR_PLUS"}, w.owner)


async def cancel_pending_license_change_call(w: World) -> Call:
    user = await w.invited(type=UserType.PRACTITIONER, classification=Classification.STANDARD, license=License.CHR_PLUS)
    await set_user_license(w.cli, user, License.CHR_LITE)  # a downgrade waits for next month
    return Call("cancelPendingLicenseChange", {"userId": await global_id_of("User", user)}, w.owner)


async def run_license_mapping_call(w: World) -> Call:
    """Users without a license exist only in organizations that move to STANDARD."""
    clinic = await w.fresh_clinic(contract=Contract.CUSTOM)
    actor = support_cli_actor(clinic.organization.id)
    for _ in range(2):
        await invite_user(
            actor,
            f"{unique('legacy')}@fault.test",
            Profile(UserType.STAFF, first_name="Leg", last_name="Acy"),
        )
    await update_organization(actor, contract=Contract.STANDARD.value)
    return Call("runLicenseMapping", {"dryRun": False}, clinic.owner.token)


async def upgrade_own_license_call(w: World) -> Call:
    user, token = await w.logged_in_practitioner()
    await set_permission(w.cli, user, Permission.UPGRADE_TYPE_CLASSIFICATION, True, None)
    return Call("upgradeOwnLicense", {"license": "CHR_PLUS"}, token)


async def request_license_upgrade_call(w: World) -> Call:
    _, token = await w.logged_in_practitioner()
    return Call("requestLicenseUpgrade", {"license": "CHR_PLUS", "reason": "Labs for my patients"}, token)


async def _upgrade_request(w: World) -> str:
    _, token = await w.logged_in_practitioner()
    response = await w.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        json={"query": REQUEST_UPGRADE, "variables": {"input": {"license": "CHR_LITE_VV"}}},
    )
    payload = response.json()["data"]["requestLicenseUpgrade"]
    assert payload["errors"] == [], response.text
    return payload["request"]["id"]


async def approve_license_upgrade_request_call(w: World) -> Call:
    return Call("approveLicenseUpgradeRequest", {"requestId": await _upgrade_request(w)}, w.owner)


async def decline_license_upgrade_request_call(w: World) -> Call:
    return Call("declineLicenseUpgradeRequest", {"requestId": await _upgrade_request(w), "reason": "Budget"}, w.owner)


async def change_password_call(w: World) -> Call:
    member = await w.clinic.member()
    return Call("changePassword", {"password": PASSWORD, "newPassword": unique("amber otter lantern")}, member.token)


async def request_password_reset_call(w: World) -> Call:
    return Call("requestPasswordReset", {"email": (await w.clinic.member()).email}, None)


async def reset_password_call(w: World) -> Call:
    email = (await w.clinic.member()).email
    await forget_token_guesses()
    await request_password_reset(email)
    message = await OutboxMessage.filter(to_email=email, password_reset_id__isnull=False).order_by("-id").first()
    return Call("resetPassword", {"token": message.token, "newPassword": unique("quiet harbour falcon")}, None)


async def update_my_profile_call(w: World) -> Call:
    member = await w.clinic.member()
    return Call("updateMyProfile", {"position": unique("Desk"), "title": None}, member.token)


async def revoke_my_session_call(w: World) -> Call:
    member = await w.clinic.member()
    other = await session_for(w.client, member.email)
    return Call(
        "revokeMySession",
        {"sessionId": global_id("Session", session_public_id(session_hash(other.token)))},
        member.token,
    )


async def update_security_policy_call(w: World) -> Call:
    # A new value every run (long enough that no session of the shared clinic idles out).
    w.cache["idle minutes"] = w.cache.get("idle minutes", 600) + 1
    return Call("updateSecurityPolicy", {"sessionIdleTimeoutMinutes": w.cache["idle minutes"]}, w.owner)


CALLS: dict[str, Callable[[World], Awaitable[Call]]] = {
    "changePassword": change_password_call,
    "requestPasswordReset": request_password_reset_call,
    "resetPassword": reset_password_call,
    "updateMyProfile": update_my_profile_call,
    "revokeMySession": revoke_my_session_call,
    "updateSecurityPolicy": update_security_policy_call,
    "inviteUser": invite_user_call,
    "createServiceAccount": create_service_account_call,
    "resendInvitation": resend_invitation_call,
    "acceptInvitation": accept_invitation_call,
    "updateUser": update_user_call,
    "login": login_call,
    "logout": logout_call,
    "assignRoles": assign_roles_call,
    "grantPermission": grant_permission_call,
    "revokePermission": revoke_permission_call,
    "createRole": create_role_call,
    "updateRole": update_role_call,
    "deleteRole": delete_role_call,
    "transferOwnership": transfer_ownership_call,
    "startTwoFactorEnrollment": start_two_factor_enrollment_call,
    "confirmTwoFactorEnrollment": confirm_two_factor_enrollment_call,
    "verifySecondFactor": verify_second_factor_call,
    "disableTwoFactor": disable_two_factor_call,
    "resetSecondFactor": reset_second_factor_call,
    "createApiConsumer": create_api_consumer_call,
    "deactivateApiConsumer": deactivate_api_consumer_call,
    "reactivateApiConsumer": reactivate_api_consumer_call,
    "addApiConsumerKey": add_api_consumer_key_call,
    "revokeApiConsumerKey": revoke_api_consumer_key_call,
    "setApiConsumerCostBudget": set_api_consumer_cost_budget_call,
    "setApiConsumerPermissions": set_api_consumer_permissions_call,
    "updateOrganization": update_organization_call,
    "registerPatient": register_patient_call,
    "updatePatient": update_patient_call,
    "createIdentifierType": create_identifier_type_call,
    "bookAppointment": book_appointment_call,
    "rescheduleAppointment": reschedule_appointment_call,
    "setWorkingHours": set_working_hours_call,
    "addScheduleException": add_schedule_exception_call,
    "removeScheduleException": remove_schedule_exception_call,
    "cancelAppointment": cancel_appointment_call,
    "setAppointmentStatus": set_appointment_status_call,
    "createQuestionnaire": create_questionnaire_call,
    "createInboxMessage": create_inbox_message_call,
    "createLabIntegration": create_lab_integration_call,
    "createMdBillingConnection": create_md_billing_connection_call,
    "deactivateUser": deactivate_user_call,
    "reactivateUser": reactivate_user_call,
    "transferLabIntegration": transfer_lab_integration_call,
    "forwardInboxMessages": forward_inbox_messages_call,
    "updatePortalSettings": update_portal_settings_call,
    "enablePortal": enable_portal_call,
    "disablePortal": disable_portal_call,
    "uploadPortalBackgroundImage": upload_portal_background_image_call,
    "removePortalBackgroundImage": remove_portal_background_image_call,
    "setPatientPortalAccess": set_patient_portal_access_call,
    "setUserLicense": set_user_license_call,
    "cancelPendingLicenseChange": cancel_pending_license_change_call,
    "runLicenseMapping": run_license_mapping_call,
    "upgradeOwnLicense": upgrade_own_license_call,
    "requestLicenseUpgrade": request_license_upgrade_call,
    "approveLicenseUpgradeRequest": approve_license_upgrade_request_call,
    "declineLicenseUpgradeRequest": decline_license_upgrade_request_call,
    "createWebhookSubscription": create_webhook_subscription_call,
    "updateWebhookSubscription": update_webhook_subscription_call,
    "rotateWebhookSecret": rotate_webhook_secret_call,
    "deleteWebhookSubscription": delete_webhook_subscription_call,
    "redeliverWebhookEvent": redeliver_webhook_event_call,
}


# --- running a call, observed ------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    response: httpx.Response
    writes: list[str]
    changes: dict[str, dict[str, list[str]]]
    events: list[AuditEvent]

    @property
    def body(self) -> dict[str, Any]:
        return self.response.json()

    @property
    def succeeded(self) -> bool:
        body = self.body
        payload = (body.get("data") or {}).get(self.name)
        return (
            self.response.status_code == 200
            and not body.get("errors")
            and payload is not None
            and payload["errors"] == []
        )


def _counted(sql: str) -> bool:
    return hooks.is_write(sql) and not any(part in sql for part in (*BACKGROUND_TABLES, *BACKGROUND_STATEMENTS))


async def observe(world: World, call: Call, plan: hooks.FaultPlan | None = None) -> Outcome:
    excluded = BACKGROUND_TABLES | call.background
    before: Snapshot = await take_snapshot(excluded)
    counter = hooks.count_statements()
    if plan is not None:
        hooks.arm_fault(plan)
    try:
        response = await call.send(world.client)
    finally:
        hooks.disarm_fault()
        hooks.stop_counting(counter)
    after = await take_snapshot(excluded)
    request_id = response.headers["x-request-id"]
    events = await AuditEvent.filter(request_id=request_id).order_by("id")
    return Outcome(
        call.name, response, [s for s in counter.statements if _counted(s)], before.difference(after), events
    )


def assert_masked(outcome: Outcome) -> None:
    """The caller learns that it failed, with a request id, and nothing about why."""
    assert outcome.response.status_code == 200, outcome.response.text
    assert not outcome.succeeded, f"{outcome.name} reported success although its write failed"
    errors = outcome.body.get("errors") or []
    assert [e["extensions"]["code"] for e in errors] == [INTERNAL], outcome.body
    assert "injected" not in outcome.response.text.lower()
    assert outcome.body["data"] in (None, {outcome.name: None}), outcome.body


def assert_complete(outcome: Outcome, changes_elsewhere: bool = False) -> None:
    """A success: it wrote, it changed something besides the audit chain, and every new
    audit event belongs to this request (no change without its event, and vice versa)."""
    name = outcome.name
    assert outcome.succeeded, f"the valid call of {name} did not succeed: {outcome.response.text}"
    assert outcome.writes, f"{name} succeeded without writing: its builder should make it change something"
    changed = set(outcome.changes)
    assert "audit_event" in changed, f"{name} changed {sorted(changed)} without an audit event"
    assert changes_elsewhere or changed - {"audit_event", "audit_chain_head"}, (
        f"{name} recorded an event without any change"
    )
    assert not outcome.changes["audit_event"]["removed"], "audit events are append-only"
    assert len(outcome.changes["audit_event"]["added"]) == len(outcome.events) >= 1, (
        "every new audit event carries this request's id"
    )


@pytest.fixture(scope="module")
async def world(client) -> World:
    clinic = await make_clinic(client)
    await _subscription(clinic.vendor, [e.value for e in WebhookEventType])
    return World(client, clinic)


def assert_webhook_events(world: World, outcome: Outcome) -> None:
    """Each audited change of the shared clinic that subscribers hear of wrote its webhook
    event in the same transaction, and nothing else wrote one."""
    told = [e for e in outcome.events if e.organization_id == world.org_id and event_type_for(e.action)]
    written = outcome.changes.get("webhook_event", {"added": [], "removed": []})
    assert not written["removed"], "webhook events are only added by mutations"
    assert len(written["added"]) == len(told), (outcome.name, len(written["added"]), [e.action for e in told])


# --- the tests ---------------------------------------------------------------------------


def test_every_registered_call_names_a_mutation_of_the_schema():
    stale = sorted(set(CALLS) - set(MUTATIONS))
    assert not stale, f"CALLS has entries for mutations the schema no longer has: {stale}"


@pytest.mark.parametrize("name", MUTATIONS)
async def test_a_write_failing_at_any_step_leaves_nothing_behind(world, name):
    build = CALLS.get(name)
    assert build is not None, (
        f"Mutation `{name}` has no entry in CALLS of tests/test_fault_injection.py. Add an async builder "
        f"that returns a valid Call for it on fresh data, so its writes get fault-injected like the others."
    )

    first = await build(world)
    clean = await observe(world, first)
    assert_complete(clean, first.changes_elsewhere)
    assert_webhook_events(world, clean)

    # A run on fresh data may take a path with a write more or less than the first (the
    # first revocation ever creates the epoch row): fail write 1, 2, … until a run makes
    # fewer writes than the step, which must then have completed normally.
    step = 1
    while True:
        call = await build(world)
        plan = hooks.FaultPlan(fail_at=step, exclude=(*BACKGROUND_TABLES, *call.background, *BACKGROUND_STATEMENTS))
        failed = await observe(world, call, plan)
        if not plan.fired:
            assert step > len(clean.writes) - 1, f"{name}: a run made only {step - 1} of {len(clean.writes)} writes"
            assert_complete(failed, call.changes_elsewhere)
            assert_webhook_events(world, failed)
            break
        assert_masked(failed)
        assert failed.changes == {}, f"{name} with write {step} failing left {failed.changes}"
        assert failed.events == []
        step += 1
        assert step <= 2 * len(clean.writes) + 2, f"{name} keeps writing more on every run"


async def test_the_snapshot_sees_a_single_changed_column(world):
    """The proof above is only as good as the snapshot: it must see an update of one
    column of one row, not only inserted rows."""
    before = await take_snapshot()
    role = await Role.filter(organization_id=world.org_id).first()
    assert role is not None
    await Role.filter(id=role.id).update(description=f"{role.description or ''}!")
    changes = before.difference(await take_snapshot())
    assert list(changes) == ["role"]
    assert len(changes["role"]["added"]) == len(changes["role"]["removed"]) == 1
    await Role.filter(id=role.id).update(description=role.description)
