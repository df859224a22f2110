"""Ids reveal nothing: a global id carries a random public id, never the sequential
database key, so a clinic cannot count what other clinics create between two of its
own records. Old ids (which held the key) name nothing, and another clinic's id is
exactly like one that does not exist. Audit events and API-log rows show the same
public ids."""

from __future__ import annotations

import orjson
import pytest
from strawberry.relay import from_base64, to_base64

from chrgraph.auth import epoch
from chrgraph.db import hooks
from chrgraph.db.models import ApiLog, AuditEvent, Patient
from chrgraph.db.public_ids import is_public_id
from tests.accounts import PASSWORD, make_clinic
from tests.helpers import gid, unique
from tests.scheduling_helpers import at, practitioner

REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) {
  patient { id } errors { code field } } }"""
UPDATE = """mutation($i: UpdatePatientInput!) { updatePatient(input: $i) {
  patient { id lastName } errors { code field } } }"""
PATIENT = "query($id: ID!) { patient(id: $id) { id } node(id: $id) { id } }"
EVENTS = """query($f: AuditEventFilter) { auditEvents(filter: $f) {
  edges { node { id actorId targetType targetId } } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
LOGS = """query($f: ApiLogFilter) { apiLogs(filter: $f) { edges { node { requestId responseBody } } } }"""


@pytest.fixture(scope="module")
async def clinics(client):
    return await make_clinic(client), await make_clinic(client)


async def register(vendor) -> str:
    fields = {"firstName": "Ada", "lastName": unique("Public"), "dateOfBirth": "1980-01-02"}
    result = (await vendor.gql(REGISTER, {"i": fields}))["registerPatient"]
    assert result["errors"] == [], result
    return result["patient"]["id"]


def public_part(global_id: str) -> str:
    type_name, public_id = from_base64(global_id)
    assert type_name == "Patient"
    return public_id


async def test_consecutive_registrations_reveal_no_order_and_no_count(clinics):
    mine, theirs = clinics
    first = await register(mine.vendor)
    for _ in range(3):
        await register(theirs.vendor)  # the other clinic registers three in between
    second = await register(mine.vendor)

    rows = {gid: await Patient.get(public_id=public_part(gid)) for gid in (first, second)}
    assert rows[second].id - rows[first].id >= 4, "the database keys count the other clinic's rows..."
    for global_id, row in rows.items():
        public_id = public_part(global_id)
        assert is_public_id(public_id) and not public_id.isdigit()
        assert public_id != str(row.id) and public_id == row.public_id
    # ...and nothing in the ids says so: 128 random bits each, no shared prefix.
    assert public_part(first)[:8] != public_part(second)[:8]


async def test_an_old_global_id_holding_the_database_key_names_nothing(clinics):
    mine, _ = clinics
    current = await register(mine.vendor)
    row = await Patient.get(public_id=public_part(current))
    old = to_base64("Patient", row.id)

    assert await mine.owner.gql(PATIENT, {"id": old}) == {"patient": None, "node": None}
    assert await mine.owner.gql(PATIENT, {"id": current}) == {"patient": {"id": current}, "node": {"id": current}}
    updated = (await mine.owner.gql(UPDATE, {"i": {"patientId": old, "lastName": "Renamed"}}))["updatePatient"]
    assert updated == {"patient": None, "errors": [{"code": "NOT_FOUND", "field": ["patientId"]}]}


async def test_another_clinics_public_id_is_not_found(clinics):
    mine, theirs = clinics
    their_patient = await register(theirs.vendor)

    assert await mine.owner.gql(PATIENT, {"id": their_patient}) == {"patient": None, "node": None}
    updated = (await mine.owner.gql(UPDATE, {"i": {"patientId": their_patient, "lastName": "X"}}))["updatePatient"]
    assert updated == {"patient": None, "errors": [{"code": "NOT_FOUND", "field": ["patientId"]}]}
    assert (await Patient.get(public_id=public_part(their_patient))).last_name != "X"


async def test_audit_events_name_target_and_actor_by_global_id(clinics):
    mine, _ = clinics
    patient = await register(mine.vendor)

    data = await mine.owner.gql(EVENTS, {"f": {"action": "PATIENT_REGISTERED", "targetId": patient}})
    [event] = [edge["node"] for edge in data["auditEvents"]["edges"]]
    assert (event["targetType"], event["targetId"]) == ("Patient", patient)
    assert event["actorId"] == gid(mine.vendor.consumer)
    stored = await AuditEvent.get(public_id=from_base64(event["id"])[1])
    assert stored.target_id == patient
    # Each id is followable with `node`, and none is a database key.
    assert (await mine.owner.gql(NODE, {"id": patient}))["node"] == {"__typename": "Patient", "id": patient}
    followed = await mine.owner.gql(NODE, {"id": event["id"]})
    assert followed["node"] == {"__typename": "AuditEvent", "id": event["id"]}
    assert all(is_public_id(from_base64(value)[1]) for value in (event["id"], event["actorId"], patient))


async def test_api_log_rows_hold_the_public_ids_the_client_saw(clinics):
    mine, _ = clinics
    fields = {"firstName": "Log", "lastName": unique("Row"), "dateOfBirth": "1980-01-02"}
    response = await mine.vendor.post(REGISTER, {"i": fields})
    patient = response.json()["data"]["registerPatient"]["patient"]["id"]
    row = await Patient.get(public_id=public_part(patient))
    logged = await ApiLog.get(request_id=response.headers["x-request-id"])

    assert orjson.loads(logged.response_body) == response.json()
    assert patient in logged.response_body
    assert to_base64("Patient", row.id) not in logged.response_body

    # The owner finds the consumer's rows by the consumer's global id.
    data = await mine.owner.gql(LOGS, {"f": {"consumerId": gid(mine.vendor.consumer)}})
    shown = {edge["node"]["requestId"]: edge["node"]["responseBody"] for edge in data["apiLogs"]["edges"]}
    assert patient in shown[logged.request_id]


# --- what audit events' `changes` name other records by --------------------------------

INVITE = """mutation($i: InviteUserInput!) { inviteUser(input: $i) { user { id } errors { code field } } }"""
UPDATE_USER = """mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } errors { code field } } }"""
ASSIGN = """mutation($i: AssignRolesInput!) { assignRoles(input: $i) { user { id } errors { code field } } }"""
IDENTIFIER_TYPE = """mutation($i: CreateIdentifierTypeInput!) { createIdentifierType(input: $i) {
  identifierType { id } errors { code field } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id } errors { code field } } }"""
RESCHEDULE = """mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) {
  appointment { id } errors { code field } } }"""
QUESTIONNAIRE = """mutation($i: CreateQuestionnaireInput!) { createQuestionnaire(input: $i) {
  questionnaire { id } errors { code field } } }"""
MESSAGE = """mutation($i: CreateInboxMessageInput!) { createInboxMessage(input: $i) {
  inboxMessage { id } errors { code field } } }"""
LAB = """mutation($i: CreateLabIntegrationInput!) { createLabIntegration(input: $i) {
  labIntegration { id } errors { code field } } }"""
MDBILLING = """mutation($i: CreateMdBillingConnectionInput!) { createMdBillingConnection(input: $i) {
  connection { id } errors { code field } } }"""
TRANSFER_LAB = """mutation($i: TransferLabIntegrationInput!) { transferLabIntegration(input: $i) {
  labIntegration { id } errors { code field } } }"""
FORWARD = """mutation($i: ForwardInboxMessagesInput!) { forwardInboxMessages(input: $i) { errors { code field } } }"""
DEACTIVATE = """mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { errors { code field } } }"""
SET_LICENSE = """mutation($i: SetUserLicenseInput!) { setUserLicense(input: $i) { errors { code field } } }"""
TRANSFER_OWNERSHIP = (
    """mutation($i: TransferOwnershipInput!) { transferOwnership(input: $i) { errors { code field } } }"""
)
LOGOUT = "mutation { logout { errors { code } } }"
ALL_EVENTS = """query($after: String) { auditEvents(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { action targetId changes { field before after } } } } }"""

# The fields whose values are numbers of their own (durations, sizes, counts, budgets):
# an integer anywhere else in `changes` would be a database key.
NUMBERS = {
    "durationMinutes",
    "revokedSessions",
    "otpTimeoutMinutes",
    "costBudgetPerMinute",
    "width",
    "height",
    "size",
    "uploadedSize",
    "usage",
}
# Fields that name other records: each value is a global id (or a list of them).
REFERENCES = {
    "practitioner",
    "patient",
    "appointment",
    "owner",
    "user",
    "backedBy",
    "locumFor",
    "appointmentsMovedTo",
    "inboxForwardedTo",
    "movedAppointments",
    "cancelledAppointments",
    "movedQuestionnaires",
    "removedQuestionnaires",
    "forwardedMessages",
    "hiddenMessages",
    "transferredLabIntegrations",
    "disconnectedMdBilling",
}


async def ok(caller, document: str, fields: dict, name: str) -> dict:
    result = (await caller.gql(document, {"i": fields}))[name]
    assert result["errors"] == [], (name, result)
    return result


def leaks(value, where: str) -> list[str]:
    """Every integer (a database key's shape) and every all-digit dict key under `value`."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [f"{where} = {value}"]
    if isinstance(value, list):
        return [leak for i, item in enumerate(value) for leak in leaks(item, f"{where}[{i}]")]
    if isinstance(value, dict):
        found = [f"{where} has key {key!r}" for key in value if str(key).isdigit()]
        return found + [leak for key, item in value.items() for leak in leaks(item, f"{where}.{key}")]
    return []


def global_ids(value) -> list[str]:
    """The strings under `value` (integers are `leaks`; `owner` of USER_INVITED is a flag)."""
    if isinstance(value, dict):  # a diff's {"before": …, "after": …}
        return [i for item in value.values() for i in global_ids(item)]
    if isinstance(value, list):
        return [i for item in value for i in global_ids(item)]
    return [value] if isinstance(value, str) else []


async def test_audit_changes_name_other_records_by_global_id_never_by_database_key(client):
    clinic = await make_clinic(client)
    org, vendor = clinic.organization.id, clinic.vendor
    dr, dr2, dr3 = await practitioner(org), await practitioner(org), await practitioner(org)

    # Patients with identifiers, by their type.
    chart = (await ok(vendor, IDENTIFIER_TYPE, {"name": unique("Chart")}, "createIdentifierType"))["identifierType"]
    fields = {"firstName": "Ada", "lastName": unique("Audit"), "dateOfBirth": "1980-01-02"}
    pat = (
        await ok(
            vendor, REGISTER, {**fields, "identifiers": [{"typeId": chart["id"], "value": "C-1"}]}, "registerPatient"
        )
    )["patient"]["id"]
    await ok(
        vendor, UPDATE, {"patientId": pat, "identifiers": [{"typeId": chart["id"], "value": "C-2"}]}, "updatePatient"
    )

    # A locum invited with a role, covering one practitioner, then another; roles changed.
    locum = {"practitionerId": dr, "startDate": "2030-01-01", "endDate": "2030-02-01"}
    invited = await ok(
        vendor,
        INVITE,
        {
            "email": f"{unique('locum')}@x.test",
            "type": "PRACTITIONER",
            "classification": "LOCUM",
            "license": "LOCUM",
            "firstName": "Lou",
            "lastName": "Cum",
            "locum": locum,
            "roleIds": [clinic.role_ids["Front desk"]],
        },
        "inviteUser",
    )
    locum_user = invited["user"]["id"]
    await ok(vendor, UPDATE_USER, {"userId": locum_user, "locum": {**locum, "practitionerId": dr2}}, "updateUser")
    await ok(
        vendor,
        ASSIGN,
        {"userId": locum_user, "roleIds": [clinic.role_ids["Practitioner"], clinic.role_ids["Billing"]]},
        "assignRoles",
    )

    # Work: an appointment (booked, moved in time), questionnaires, messages, labs, MDBilling.
    booked = {"practitionerId": dr, "patientId": pat, "start": at(3, 10, 0), "durationMinutes": 30}
    appointment = (await ok(vendor, BOOK, booked, "bookAppointment"))["appointment"]["id"]
    await ok(vendor, RESCHEDULE, {"appointmentId": appointment, "start": at(3, 11, 0)}, "rescheduleAppointment")
    for kind, extra in (("SENT", {"appointmentId": appointment}), ("RECURRING", {})):
        questionnaire = {"kind": kind, "title": "Intake", "practitionerId": dr, "patientId": pat, **extra}
        await ok(vendor, QUESTIONNAIRE, questionnaire, "createQuestionnaire")
    for subject in ("Result", "Later"):
        await ok(
            vendor, MESSAGE, {"ownerId": dr, "subject": subject, "body": "b", "patientId": pat}, "createInboxMessage"
        )
    labs = [
        (await ok(vendor, LAB, {"name": unique("Lab"), "backedById": dr}, "createLabIntegration"))["labIntegration"][
            "id"
        ]
        for _ in range(2)
    ]
    await ok(vendor, MDBILLING, {"userId": dr, "accountNumber": "ON-1"}, "createMdBillingConnection")

    # The handover, ahead and at deactivation; a license change; the ownership.
    await ok(clinic.owner, TRANSFER_LAB, {"labIntegrationId": labs[0], "userId": dr2}, "transferLabIntegration")
    await ok(vendor, FORWARD, {"fromUserId": dr, "toUserId": dr2}, "forwardInboxMessages")
    await ok(vendor, MESSAGE, {"ownerId": dr, "subject": "Another", "body": "b"}, "createInboxMessage")
    deactivation = {
        "userId": dr,
        "appointments": {"action": "MOVE", "toPractitionerId": dr3},
        "recurringQuestionnaires": {"action": "MOVE", "toPractitionerId": dr3},
        "forwardInboxToUserId": dr2,
        "labIntegrationSuccessors": [{"labIntegrationId": labs[1], "userId": dr3}],
    }
    await ok(vendor, DEACTIVATE, deactivation, "deactivateUser")
    await ok(vendor, SET_LICENSE, {"userId": dr3, "license": "CHR_LITE"}, "setUserLicense")
    await ok(clinic.owner, TRANSFER_OWNERSHIP, {"userId": dr2, "password": PASSWORD}, "transferOwnership")
    member = await clinic.member()
    assert (await member.gql(LOGOUT))["logout"] == {"errors": []}

    # Every event of the clinic, as a client reads them.
    events, after = [], None
    while True:
        page = (await vendor.gql(ALL_EVENTS, {"after": after}))["auditEvents"]
        events += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    actions = {event["action"] for event in events}
    assert {
        "USER_INVITED",
        "USER_UPDATED",
        "ROLES_ASSIGNED",
        "PATIENT_REGISTERED",
        "PATIENT_UPDATED",
        "APPOINTMENT_BOOKED",
        "APPOINTMENT_RESCHEDULED",
        "APPOINTMENT_MOVED",
        "QUESTIONNAIRE_CREATED",
        "QUESTIONNAIRE_MOVED",
        "INBOX_MESSAGE_CREATED",
        "INBOX_MESSAGE_FORWARDED",
        "LAB_INTEGRATION_CREATED",
        "LAB_INTEGRATION_TRANSFERRED",
        "MDBILLING_CONNECTED",
        "MDBILLING_DISCONNECTED",
        "USER_DEACTIVATED",
        "LICENSE_CHANGED",
        "OWNERSHIP_TRANSFERRED",
        "USER_LOGGED_IN",
        "USER_LOGGED_OUT",
    } <= actions

    found = [
        leak
        for event in events
        for change in event["changes"]
        if change["field"] not in NUMBERS
        for side in ("before", "after")
        for leak in leaks(change[side], f"{event['action']}.{change['field']}.{side}")
    ]
    assert found == [], "database keys in audit changes"
    for event in events:
        for change in event["changes"]:
            if change["field"] in REFERENCES:
                for named in global_ids([change["before"], change["after"]]):
                    type_name, public_id = from_base64(named)
                    assert is_public_id(public_id), (event["action"], change)
                    assert (await vendor.gql(NODE, {"id": named}))["node"]["__typename"] == type_name

    # What a reader can follow: the handover names the practitioners, the lab's backers
    # and the identifier's type by the global ids the API gave out.
    def change(action: str, field: str, target: str | None = None) -> dict:
        [hit] = [
            c
            for e in events
            if e["action"] == action and target in (None, e["targetId"])
            for c in e["changes"]
            if c["field"] == field
        ]
        return hit

    moved = [c for e in events if e["action"] == "APPOINTMENT_MOVED" for c in e["changes"]]
    assert moved == [{"field": "practitioner", "before": dr, "after": dr3}]
    assert change("LAB_INTEGRATION_TRANSFERRED", "backedBy", labs[0])["before"] == dr
    assert change("LAB_INTEGRATION_TRANSFERRED", "backedBy", labs[0])["after"] == dr2
    assert change("USER_DEACTIVATED", "appointmentsMovedTo")["after"] == dr3
    assert change("USER_DEACTIVATED", "inboxForwardedTo")["after"] == dr2
    assert change("USER_DEACTIVATED", "movedAppointments")["after"] == [appointment]
    assert change("USER_UPDATED", "locumFor", locum_user) == {"field": "locumFor", "before": dr, "after": dr2}
    owner = change("OWNERSHIP_TRANSFERRED", "owner")
    assert (owner["before"], owner["after"]) == (clinic.owner.user_id, dr2)
    assert change("PATIENT_UPDATED", "identifiers", pat)["after"] == {"after": {chart["id"]: "C-2"}}


# --- reads by a global id the query or mutation takes: one statement ------------------

PREVIEW = "query($u: ID!) { deactivationPreview(userId: $u) { user { id } } }"
FEATURE = "query($u: ID!) { featureAccess(userId: $u, feature: SCHEDULING) { included } }"
BUDGET = """mutation($i: SetApiConsumerCostBudgetInput!) { setApiConsumerCostBudget(input: $i) {
  apiConsumer { id } errors { code field } } }"""


async def statements(caller, document: str, variables: dict) -> tuple[list[str], dict]:
    """The statements of one request, once the caller's credentials are cached (a first
    request warms them); not the auth-epoch poll, which runs on a clock."""
    epoch.clear_local()
    await caller.gql(document, variables)
    counter = hooks.count_statements()
    try:
        data = await caller.gql(document, variables)
    finally:
        hooks.stop_counting(counter)
    return [s for s in counter.statements if "auth_epoch" not in s], data


def key_lookups(sql: list[str]) -> list[str]:
    """Statements that map public ids to keys (chrgraph/db/keys.py) before a read."""
    return [s for s in sql if ' AS t, "id", "public_id" FROM ' in s]


def reads_by_public_id(sql: list[str], table: str) -> list[str]:
    return [s for s in sql if s.startswith("SELECT") and f'FROM "{table}"' in s and '"public_id"=' in s]


async def test_deactivation_preview_and_feature_access_read_the_user_in_one_statement(client):
    clinic = await make_clinic(client)
    dr = await practitioner(clinic.organization.id)

    sql, data = await statements(clinic.owner, PREVIEW, {"u": dr})
    assert data["deactivationPreview"]["user"]["id"] == dr
    assert key_lookups(sql) == [], "no key lookup before the read"
    assert len(reads_by_public_id(sql, "user")) == 1
    # The user, then its appointments, questionnaires, messages, lab integrations, MDBilling.
    assert len(sql) == 6, sql

    sql, data = await statements(clinic.owner, FEATURE, {"u": dr})
    assert data["featureAccess"]["included"] is True
    assert key_lookups(sql) == []
    assert len(reads_by_public_id(sql, "user")) == 1
    # The user, the organization, and the user's roles, their permissions and its own.
    assert len(sql) == 5, sql

    # Another clinic's user is null, as one that does not exist (still one statement).
    theirs = await practitioner((await make_clinic(client)).organization.id)
    sql, data = await statements(clinic.owner, PREVIEW, {"u": theirs})
    assert data == {"deactivationPreview": None} and len(sql) == 1


async def test_a_consumer_mutation_reads_the_consumer_in_one_statement(client):
    clinic = await make_clinic(client)
    consumer = gid(clinic.vendor.consumer)
    await clinic.support.gql(BUDGET, {"i": {"consumerId": consumer, "costPerMinute": 100}})  # warm
    counter = hooks.count_statements()
    try:  # a change (so a write), which revokes cached credentials as the first one did
        data = await clinic.support.gql(BUDGET, {"i": {"consumerId": consumer, "costPerMinute": 101}})
    finally:
        hooks.stop_counting(counter)
    sql = [s for s in counter.statements if "auth_epoch" not in s]
    assert data["setApiConsumerCostBudget"] == {"apiConsumer": {"id": consumer}, "errors": []}
    assert key_lookups(sql) == [], "no key lookup before the read"
    consumer_reads = [s for s in sql if s.startswith("SELECT") and 'FROM "api_consumer"' in s]
    assert consumer_reads == reads_by_public_id(sql, "api_consumer") and len(consumer_reads) == 1
    # Credentials renewed (the previous change revoked them): the session and its
    # organization; then the consumer, its update and the audit event.
    mutation = [s for s in sql if '"session"' not in s and 'FROM "organization"' not in s]
    assert [s.split(" ")[0] for s in mutation] == ["SELECT", "UPDATE", "UPDATE", "INSERT"], sql

    other = await make_clinic(client)
    refused = await clinic.support.gql(BUDGET, {"i": {"consumerId": gid(other.vendor.consumer), "costPerMinute": 1}})
    assert refused["setApiConsumerCostBudget"] == {
        "apiConsumer": None,
        "errors": [{"code": "NOT_FOUND", "field": ["consumerId"]}],
    }
