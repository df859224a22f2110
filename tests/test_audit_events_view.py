"""Audit events a reader can follow: changed fields named as the schema names them
(camelCase), the action as an `AuditAction` enum, the fingerprint of the key that signed
a consumer's request, and the values of `changes` withheld from a caller who may not
read the event's target type (the field names stay, each value reads `[HIDDEN]`)."""

from __future__ import annotations

import pytest

from chrgraph.db.models import ApiConsumerKey, AuditEvent
from chrgraph.schema import schema
from tests.accounts import make_clinic
from tests.helpers import key_of, unique

REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) {
  patient { id } errors { code field } } }"""
UPDATE = """mutation($i: UpdatePatientInput!) { updatePatient(input: $i) {
  patient { id } errors { code field } } }"""
EVENTS = """query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { node {
  id action targetType targetId actorKeyFingerprint changes { field before after } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { ... on AuditEvent { action changes { field before after } } } }"""
CREATE_ROLE = """mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } errors { code } } }"""
PATIENT_FIELDS = {
    "firstName",
    "lastName",
    "dateOfBirth",
    "sex",
    "email",
    "phone",
    "address",
    "healthCardNumber",
    "healthCardProvince",
    "healthCardVersion",
    "portalAccess",
}


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


async def registered(clinic) -> str:
    fields = {
        "firstName": "Ada",
        "lastName": unique("Lovelace"),
        "dateOfBirth": "1980-01-02",
        "healthCardNumber": unique("HC"),
    }
    result = (await clinic.vendor.gql(REGISTER, {"i": fields}))["registerPatient"]
    assert result["errors"] == [], result
    return result["patient"]["id"]


async def events(caller, **f) -> list[dict]:
    return [edge["node"] for edge in (await caller.gql(EVENTS, {"f": f}))["auditEvents"]["edges"]]


async def test_changed_fields_are_named_as_the_schema_names_them(clinic):
    patient = await registered(clinic)
    updated = await clinic.owner.gql(UPDATE, {"i": {"patientId": patient, "dateOfBirth": "1981-03-04"}})
    assert updated["updatePatient"]["errors"] == []

    [registration] = await events(clinic.owner, action="PATIENT_REGISTERED", targetId=patient)
    assert {c["field"] for c in registration["changes"]} == PATIENT_FIELDS | {"identifiers"}
    [update] = await events(clinic.owner, action="PATIENT_UPDATED", targetId=patient)
    assert update["changes"] == [{"field": "dateOfBirth", "before": "1980-01-02", "after": "1981-03-04"}]
    # Stored so, and so covered by the event's hash.
    stored = await AuditEvent.filter(target_id=patient, action="PATIENT_UPDATED").get()
    assert list(stored.changes) == ["dateOfBirth"]


async def test_the_action_is_an_enum_of_the_schema(clinic):
    sdl = schema.as_str()
    assert "enum AuditAction {" in sdl
    assert '"""A patient was registered."""\n  PATIENT_REGISTERED' in sdl
    assert "action: AuditAction!" in sdl
    patient = await registered(clinic)
    [event] = await events(clinic.owner, action="PATIENT_REGISTERED", targetId=patient)
    assert event["action"] == "PATIENT_REGISTERED"
    # The filter takes the enum: a word that is no action is refused, not matched.
    response = await clinic.owner.post(EVENTS, {"f": {"action": "NOT_AN_ACTION"}})
    assert response.json()["errors"]


async def test_a_consumers_event_names_the_key_that_signed_its_request(clinic):
    patient = await registered(clinic)
    [event] = await events(clinic.owner, action="PATIENT_REGISTERED", targetId=patient)
    key = await ApiConsumerKey.get(consumer_id=clinic.vendor.consumer.id, kid="k1")
    assert event["actorKeyFingerprint"] == key.fingerprint
    # A session's change has none.
    await clinic.owner.gql(UPDATE, {"i": {"patientId": patient, "lastName": unique("Byron")}})
    [update] = await events(clinic.owner, action="PATIENT_UPDATED", targetId=patient)
    assert update["actorKeyFingerprint"] is None


async def test_a_reader_who_may_not_read_patients_sees_no_patient_values(clinic):
    role = (await clinic.owner.gql(CREATE_ROLE, {"i": {"name": unique("Auditor"), "permissions": ["VIEW_AUDIT_LOG"]}}))[
        "createRole"
    ]
    assert role["errors"] == []
    clinic.roles["auditor"] = await key_of(role["role"]["id"])
    auditor = await clinic.member(permissions_of=["auditor"])
    patient = await registered(clinic)

    [seen_by_owner] = await events(clinic.owner, action="PATIENT_REGISTERED", targetId=patient)
    [seen_by_auditor] = await events(auditor, action="PATIENT_REGISTERED", targetId=patient)
    names = {c["field"]: c["after"] for c in seen_by_owner["changes"]}
    assert names["firstName"] == "Ada" and names["healthCardNumber"].startswith("HC")
    hidden = {c["field"]: c for c in seen_by_auditor["changes"]}
    assert set(hidden) == set(names), "the field names stay"
    assert hidden["firstName"] == {"field": "firstName", "before": None, "after": "[HIDDEN]"}
    assert all(c["after"] in ("[HIDDEN]", None) for c in hidden.values())
    assert "Ada" not in str(seen_by_auditor)
    # The same through `node`, and without an error.
    response = await auditor.post(NODE, {"id": seen_by_auditor["id"]})
    assert "errors" not in response.json()
    assert {c["after"] for c in response.json()["data"]["node"]["changes"]} <= {"[HIDDEN]", None}
    # Events of types the auditor may read keep their values (the organization's own).
    [created] = await events(auditor, action="ORGANIZATION_CREATED")
    assert any(c["after"] not in ("[HIDDEN]", None) for c in created["changes"])


# --- the caller's own request id -------------------------------------------------------------

EVENT_IDS = """query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { node {
  requestId clientRequestId } } } }"""


async def _create_role_with(clinic, headers: dict[str, str]):
    response = await clinic.client.post(
        "/graphql",
        json={"query": CREATE_ROLE, "variables": {"i": {"name": unique("Desk"), "permissions": []}}},
        headers={"Authorization": f"Bearer {clinic.owner.token}", **headers},
    )
    assert response.status_code == 200 and response.json()["data"]["createRole"]["errors"] == []
    return response


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("vendor-trace-42", "vendor-trace-42"),
        (None, None),
        ("has a space", None),  # not a clean token: ours only, as on API-log rows
        ("x" * 129, None),
    ],
)
async def test_an_event_keeps_the_caller_s_request_id_beside_ours(clinic, sent, kept):
    from chrgraph.audit.chain import hashed_fields
    from chrgraph.audit.checkpoint import load_signing_key
    from chrgraph.audit.verify import verify_chain
    from chrgraph.settings import get_settings

    response = await _create_role_with(clinic, {} if sent is None else {"X-Request-Id": sent})
    ours = response.headers["x-request-id"]

    row = await AuditEvent.get(organization_id=clinic.organization.id, request_id=ours)
    assert (row.action, row.client_request_id) == ("ROLE_CREATED", kept)
    # The chain covers it where it is set, and older events (without it) keep their hashes.
    assert ("client_request_id" in hashed_fields(row)) is (kept is not None)
    key = load_signing_key(get_settings().audit_signing_key, create=True)
    assert (await verify_chain(clinic.organization.id, key.public_key())).ok
    seen = await clinic.owner.gql(EVENT_IDS, {"f": {"action": "ROLE_CREATED"}})
    assert {"requestId": ours, "clientRequestId": kept} in [e["node"] for e in seen["auditEvents"]["edges"]]


async def test_an_anonymous_operation_s_event_keeps_the_caller_s_request_id(clinic, client):
    # No session, so no actor from one: the id travels with the request.
    response = await client.post(
        "/graphql",
        json={
            "query": "mutation($i: RequestPasswordResetInput!) { requestPasswordReset(input: $i) { errors { code } } }",
            "variables": {"i": {"email": clinic.owner.email}},
        },
        headers={"X-Request-Id": "kiosk-7"},
    )
    assert response.status_code == 200 and response.json()["data"]["requestPasswordReset"]["errors"] == []
    row = await AuditEvent.get(request_id=response.headers["x-request-id"])
    assert (row.action, row.client_request_id) == ("PASSWORD_RESET_REQUESTED", "kiosk-7")


async def test_a_cli_event_has_no_request_ids(clinic):
    from chrgraph.auth.principals import support_cli_actor
    from chrgraph.resolvers.organizations.update_organization import update_organization

    await update_organization(support_cli_actor(clinic.organization.id), name=unique("Renamed"))
    row = await AuditEvent.filter(organization_id=clinic.organization.id).order_by("-seq").first()
    assert row is not None and (row.action, row.request_id, row.client_request_id) == (
        "ORGANIZATION_UPDATED",
        None,
        None,
    )
