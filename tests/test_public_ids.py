"""Ids reveal nothing: a global id carries a random public id, never the sequential
database key, so a clinic cannot count what other clinics create between two of its
own records. Old ids (which held the key) name nothing, and another clinic's id is
exactly like one that does not exist. Audit events and API-log rows show the same
public ids."""

from __future__ import annotations

import orjson
import pytest
from strawberry.relay import from_base64, to_base64

from chrgraph.db.models import ApiLog, AuditEvent, Patient
from chrgraph.db.public_ids import is_public_id
from tests.accounts import make_clinic
from tests.helpers import gid, unique

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
