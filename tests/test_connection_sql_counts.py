"""Issue 5: every connection, and every list that grows with an organization, costs
the same SQL statements for 10 items as for 100, related fields included (DataLoaders:
no statement per item). `users`, `appointments` and `auditEvents` have theirs beside
their operations (test_user_lists_sql.py, test_appointments.py, test_conventions.py).

Each test makes a fresh clinic, adds 10 items through the operations, counts one real
request that reads them with their relations, adds 90 more and counts again. Related
objects (patients, practitioners, senders, backers, members) are distinct per item
(in deactivationPreview all but the previewed user), so a statement per related object
shows even when a per-request cache would have deduplicated repeated ones."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import pytest

from chrgraph.auth import epoch
from chrgraph.auth.principals import Actor, Principal, PrincipalKind, support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import Classification, License, Permission, QuestionnaireKind, User, UserType
from chrgraph.resolvers.consumers.manage import add_api_consumer_key, create_api_consumer
from chrgraph.resolvers.licensing.importer import COLUMNS as IMPORT_COLUMNS
from chrgraph.resolvers.licensing.importer import import_users
from chrgraph.resolvers.licensing.operations import request_license_upgrade
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.patients.patients import Identifier, create_identifier_type, register_patient
from chrgraph.resolvers.portal.settings import update_portal_settings
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.scheduling.work import (
    create_inbox_message,
    create_lab_integration,
    create_mdbilling_connection,
    create_questionnaire,
)
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from chrgraph.resolvers.users.roles import create_role
from tests.accounts import PASSWORD, Clinic, make_clinic
from tests.helpers import gid, public_pem, rsa_key, unique
from tests.scheduling_helpers import at

# A user and a patient as an admin screen shows them: roles and their permissions,
# the license (organization's time zone), identifiers with their types.
PERSON = """fragment Person on User { id email status license roles { name permissions } }"""
CHART = """fragment Chart on Patient { id lastName dateOfBirth identifiers { type { id name } value } }"""

API_LOGS = """{ apiLogs(first: 100) { totalCount edges { node {
  createdAt issuer keyId requestId method operationName query status responseBody durationMs } } } }"""
PATIENTS = """{ patients(first: 100) { totalCount edges { node { ...Chart email phone portalAccess } } } }""" + CHART
QUESTIONNAIRES = (
    """{ questionnaires(first: 100) { totalCount edges { node {
  id kind title status practitioner { ...Person } patient { ...Chart } } } } }"""
    + PERSON
    + CHART
)
INBOX_MESSAGES = (
    """{ inboxMessages(first: 100) { totalCount edges { node {
  id subject hidden owner { ...Person } sender { ...Person } patient { ...Chart } } } } }"""
    + PERSON
    + CHART
)
PORTAL_HISTORY = """{ portalSettingsHistory(first: 100) { totalCount edges { node {
  id seq action actorKind actorId changes { field before after } } } } }"""
PREVIEW = (
    """query($user: ID!) { deactivationPreview(userId: $user) {
  user { ...Person }
  futureAppointments { totalCount edges { node {
    id start status practitioner { ...Person } patient { ...Chart } questionnaires { id kind patient { id } } } } }
  recurringQuestionnaires { ...Questionnaires }
  sentQuestionnaires { ...Questionnaires }
  inboxMessages { totalCount edges { node {
    id subject owner { ...Person } sender { ...Person } patient { ...Chart } } } }
  labIntegrations { totalCount edges { node { id name isMain backedBy { ...Person } } } }
  mdBillingConnection { id user { id } } } }
fragment Questionnaires on QuestionnaireConnection { totalCount edges { node {
  id kind title practitioner { ...Person } patient { ...Chart } } } }"""
    + PERSON
    + CHART
)
ROLES = """{ roles { id name builtin permissions members { ...Person } } }""" + PERSON
API_CONSUMERS = """{ apiConsumers { id name issuer active lastUsedAt createdAt
  keys { kid fingerprint bits createdAt revokedAt } } }"""
UPGRADE_REQUESTS = (
    """{ licenseUpgradeRequests { id requestedLicense reason status createdAt
  user { ...Person licenseHistory { kind toLicense effectiveOn } } } }"""
    + PERSON
)
UNMAPPED_USERS = (
    """{ unmappedUsers { reason proposedLicense confidence evidence
  user { ...Person licenseHistory { kind toLicense } } } }"""
    + PERSON
)
LAB_INTEGRATIONS = """{ labIntegrations { id name isMain backedBy { ...Person } } }""" + PERSON
MD_BILLING_CONNECTIONS = (
    """{ mdBillingConnections { id accountNumber connected disconnectedAt user { ...Person } } }""" + PERSON
)
IDENTIFIER_TYPES = """{ identifierTypes { id name } }"""
PING = """query Ping { viewer { kind } }"""


# --- counting -------------------------------------------------------------------------


async def _statements(caller: Any, document: str, variables: dict | None = None) -> tuple[int, dict]:
    """The statements one request sends (its API-log row included), but the auth-epoch
    poll, which runs on a clock, not per request. A first request warms the credential
    caches, so the counted one reads the list, not the login."""
    epoch.clear_local()
    await caller.gql(document, variables)
    counter = hooks.count_statements()
    try:
        data = await caller.gql(document, variables)
    finally:
        hooks.stop_counting(counter)
    return len([s for s in counter.statements if "auth_epoch" not in s]), data


async def assert_same_cost_for_10_and_100(
    caller: Any,
    document: str,
    add: Callable[[int, int], Awaitable[None]],
    items: Callable[[dict], list],
    variables: dict | None = None,
) -> tuple[int, int]:
    """`add(start, stop)` makes items start..stop-1; `items(data)` picks them out of the
    answer. Returns the two counts."""
    await add(0, 10)
    ten, data = await _statements(caller, document, variables)
    assert len(items(data)) == 10
    await add(10, 100)
    hundred, data = await _statements(caller, document, variables)
    assert len(items(data)) == 100
    assert ten == hundred, f"{ten} statements for 10 items, {hundred} for 100"
    return ten, hundred


def edges(*path: str) -> Callable[[dict], list]:
    def pick(data: dict) -> list:
        for key in path:
            data = data[key]
        return data["edges"]

    return pick


# --- the clinic's people and patients, through the operations ---------------------------


def support(clinic: Clinic) -> Actor:
    return support_cli_actor(clinic.organization.id)


async def staff(clinic: Clinic) -> int:
    user, _ = await invite_user(
        support(clinic),
        f"{unique('staff')}@{clinic.domain}.test",
        Profile(UserType.STAFF, license=License.STAFF, first_name="Sam", last_name="Staff"),
    )
    return user.id


async def practitioner(clinic: Clinic, *, license: License = License.CHR_PLUS, accept: bool = False) -> int:
    user, token = await invite_user(
        support(clinic),
        f"{unique('dr')}@{clinic.domain}.test",
        Profile(
            UserType.PRACTITIONER,
            classification=Classification.STANDARD,
            license=license,
            first_name="Dana",
            last_name="Doc",
        ),
    )
    if accept:
        await accept_invitation(token, PASSWORD, "Dana", "Doc")
    return user.id


async def chart_number(clinic: Clinic) -> int:
    return (await create_identifier_type(support(clinic), "Chart number")).id


async def patient(clinic: Clinic, chart_type: int, i: int) -> int:
    row = await register_patient(
        support(clinic),
        {
            "first_name": "Pat",
            "last_name": f"Patient{i:03}",
            "date_of_birth": date(1980, 5, 17),
            "email": f"pat{i:03}@example.test",
            "phone": None,
            "health_card_number": None,
        },
        [Identifier(chart_type, f"C-{i:03}")],
    )
    return row.id


def slot(i: int) -> datetime:
    """Twenty 15-minute slots a day from tomorrow 08:00 UTC."""
    day, index = divmod(i, 20)
    return datetime.fromisoformat(at(1 + day, 8 + index // 4, (index % 4) * 15))


# --- Query connections ------------------------------------------------------------------


async def test_api_logs_cost_the_same_for_10_and_100_requests(client):
    clinic = await make_clinic(client)

    async def add(start: int, stop: int) -> None:
        for _ in range(start, stop):
            await clinic.vendor.gql(PING)  # each consumer request is one API-log row

    await assert_same_cost_for_10_and_100(clinic.owner, API_LOGS, add, edges("apiLogs"))


async def test_patients_with_identifiers_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)
    chart = await chart_number(clinic)
    insurance = (await create_identifier_type(support(clinic), "Insurance")).id

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await register_patient(
                support(clinic),
                {
                    "first_name": "Pat",
                    "last_name": f"Patient{i:03}",
                    "date_of_birth": date(1970 + i % 50, 1 + i % 12, 1 + i % 28),
                    "email": None,
                    "phone": "416 555 0100",
                    "health_card_number": f"HC{i:08}",
                },
                [Identifier(chart, f"C-{i:03}"), Identifier(insurance, f"I-{i:03}")],
            )

    await assert_same_cost_for_10_and_100(clinic.vendor, PATIENTS, add, edges("patients"))


async def test_questionnaires_with_practitioner_and_patient_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)
    chart = await chart_number(clinic)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await create_questionnaire(
                support(clinic),
                kind=QuestionnaireKind.RECURRING if i % 2 else QuestionnaireKind.SENT,
                title=f"Intake {i:03}",
                practitioner_id=await practitioner(clinic),
                patient_id=await patient(clinic, chart, i),
            )

    await assert_same_cost_for_10_and_100(clinic.vendor, QUESTIONNAIRES, add, edges("questionnaires"))


async def test_inbox_messages_with_owner_sender_and_patient_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)
    chart = await chart_number(clinic)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await create_inbox_message(
                support(clinic),
                owner_id=await staff(clinic),
                sender_id=await practitioner(clinic),
                patient_id=await patient(clinic, chart, i),
                subject=f"Lab result {i:03}",
                body="Please review.",
            )

    await assert_same_cost_for_10_and_100(clinic.vendor, INBOX_MESSAGES, add, edges("inboxMessages"))


async def test_portal_settings_history_costs_the_same_for_10_and_100_changes(client):
    clinic = await make_clinic(client)
    timeouts = (5, 10, 30, 60, 15)  # each differs from the one before (default 15)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await update_portal_settings(
                support(clinic),
                conversation_responses=i % 2 == 1,
                otp_timeout_minutes=timeouts[i % len(timeouts)],
            )

    def changes(data: dict) -> list:
        return [e for e in edges("portalSettingsHistory")(data) if e["node"]["action"] == "PORTAL_SETTINGS_UPDATED"]

    # MANAGE_PORTAL: the support account (consumers may not).
    await assert_same_cost_for_10_and_100(clinic.support, PORTAL_HISTORY, add, changes)


# --- the connections of deactivationPreview ---------------------------------------------


async def _future_appointments(clinic: Clinic, dr: int, chart: int, i: int) -> None:
    pat = await patient(clinic, chart, i)
    appointment = await book_appointment(support(clinic), dr, pat, slot(i), 15)
    await create_questionnaire(
        support(clinic),
        kind=QuestionnaireKind.SENT,
        title=f"Before the visit {i:03}",
        practitioner_id=dr,
        patient_id=pat,
        appointment_id=appointment.id,
    )


async def _recurring_questionnaires(clinic: Clinic, dr: int, chart: int, i: int) -> None:
    await create_questionnaire(
        support(clinic),
        kind=QuestionnaireKind.RECURRING,
        title=f"Monthly check {i:03}",
        practitioner_id=dr,
        patient_id=await patient(clinic, chart, i),
    )


async def _sent_questionnaires(clinic: Clinic, dr: int, chart: int, i: int) -> None:
    await create_questionnaire(
        support(clinic),
        kind=QuestionnaireKind.SENT,
        title=f"Follow-up {i:03}",
        practitioner_id=dr,
        patient_id=await patient(clinic, chart, i),
    )


async def _inbox_messages(clinic: Clinic, dr: int, chart: int, i: int) -> None:
    await create_inbox_message(
        support(clinic),
        owner_id=dr,
        sender_id=await staff(clinic),
        patient_id=await patient(clinic, chart, i),
        subject=f"Referral {i:03}",
        body="See attached.",
    )


async def _lab_integrations(clinic: Clinic, dr: int, chart: int, i: int) -> None:
    await create_lab_integration(support(clinic), name=f"Lab {i:03}", backed_by_id=dr, is_main=i == 0)


@pytest.mark.parametrize(
    "connection, add_one",
    [
        ("futureAppointments", _future_appointments),
        ("recurringQuestionnaires", _recurring_questionnaires),
        ("sentQuestionnaires", _sent_questionnaires),
        ("inboxMessages", _inbox_messages),
        ("labIntegrations", _lab_integrations),
    ],
)
async def test_deactivation_preview_costs_the_same_for_10_and_100_items(client, connection, add_one):
    clinic = await make_clinic(client)
    chart = await chart_number(clinic)
    dr = await practitioner(clinic, accept=True)  # ACTIVE and licensed: bookable
    await create_mdbilling_connection(support(clinic), user_id=dr, account_number="MDB-1")

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await add_one(clinic, dr, chart, i)

    await assert_same_cost_for_10_and_100(
        clinic.vendor,
        PREVIEW,
        add,
        edges("deactivationPreview", connection),
        {"user": gid(await User.get(id=dr))},
    )


# --- plain lists that grow with an organization -----------------------------------------


async def test_roles_with_permissions_and_members_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)
    grantable = [p for p in Permission if p is not Permission.MANAGE_API_CONSUMERS]

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            role = await create_role(
                support(clinic), f"Role {i:03}", "Counted", [grantable[i % len(grantable)], Permission.VIEW_USERS]
            )
            await invite_user(
                support(clinic),
                f"{unique('member')}@{clinic.domain}.test",
                Profile(UserType.STAFF, license=License.STAFF, first_name="Mo", last_name=f"Member{i:03}"),
                [role.id],
            )

    def created(data: dict) -> list:
        return [role for role in data["roles"] if not role["builtin"]]

    await assert_same_cost_for_10_and_100(clinic.owner, ROLES, add, created)


async def test_api_consumers_with_keys_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)
    first, second = public_pem(rsa_key(0)), public_pem(rsa_key(1))

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            consumer = await create_api_consumer(
                support(clinic), name=f"counted {i:03} {unique('v')}", public_key=first, kid="k1"
            )
            await add_api_consumer_key(support(clinic), consumer.issuer, second, "k2")

    def created(data: dict) -> list:
        return [c for c in data["apiConsumers"] if c["name"].startswith("counted ")]

    # MANAGE_API_CONSUMERS: the support account alone.
    await assert_same_cost_for_10_and_100(clinic.support, API_CONSUMERS, add, created)


async def test_license_upgrade_requests_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            user_id = await practitioner(clinic, license=License.CHR_LITE, accept=True)
            asker = Actor(Principal(PrincipalKind.USER, clinic.organization.id, user_id=user_id))
            await request_license_upgrade(asker, License.CHR_PLUS, f"Labs for my patients ({i:03})")

    await assert_same_cost_for_10_and_100(clinic.vendor, UPGRADE_REQUESTS, add, lambda d: d["licenseUpgradeRequests"])


async def test_unmapped_users_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)
    # Enforcement in the future: imported users the rules are unsure of stay unlicensed.
    await update_organization(support(clinic), license_enforcement_date=date(2099, 1, 1))
    tag = unique("m")[-8:]

    async def add(start: int, stop: int) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*IMPORT_COLUMNS, "expected_end_of_training"])
        for i in range(start, stop):
            # A billing number without claims (R7, 0.6) or nothing at all (R8, 0.7): unmapped.
            billing = f"{i:04}" if i % 2 else ""
            writer.writerow(
                [f"legacy{i:03}.{tag}@import.test", "Léa", f"Legacy{i:03}", "PRACTITIONER", "STANDARD", billing]
                + ["", 0, 0, 0, 0, ""]
            )
        await import_users(support(clinic), buffer.getvalue())

    await assert_same_cost_for_10_and_100(clinic.owner, UNMAPPED_USERS, add, lambda d: d["unmappedUsers"])


async def test_lab_integrations_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await create_lab_integration(
                support(clinic), name=f"Lab {i:03}", backed_by_id=await staff(clinic), is_main=i == 0
            )

    await assert_same_cost_for_10_and_100(clinic.vendor, LAB_INTEGRATIONS, add, lambda d: d["labIntegrations"])


async def test_md_billing_connections_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await create_mdbilling_connection(
                support(clinic), user_id=await practitioner(clinic), account_number=f"MDB-{i:04}"
            )

    await assert_same_cost_for_10_and_100(
        clinic.vendor, MD_BILLING_CONNECTIONS, add, lambda d: d["mdBillingConnections"]
    )


async def test_identifier_types_cost_the_same_for_10_and_100(client):
    clinic = await make_clinic(client)

    async def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            await create_identifier_type(support(clinic), f"Counted id {i:03}")

    def created(data: dict) -> list:
        return [t for t in data["identifierTypes"] if t["name"].startswith("Counted id ")]

    await assert_same_cost_for_10_and_100(clinic.vendor, IDENTIFIER_TYPES, add, created)
