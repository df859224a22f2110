"""The patient access log: every `Patient` a session or a consumer is answered (any root,
relation or payload) is recorded with who, when, the request id and the operation name,
in the API log's group commit (one multi-row insert per request), kept when API logs are
purged, and listed by `patientAccessLog(patientId)` (VIEW_AUDIT_LOG; not support)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chrgraph.audit.api_log import purge_api_logs
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.hooks import count_statements, stop_counting
from chrgraph.db.models import PatientAccess
from chrgraph.resolvers.patients.patients import register_patient
from tests.accounts import make_clinic
from tests.helpers import gid, unique

PATIENTS = """
query ListPatients($search: String) {
  patients(first: 100, filter: {search: $search}) { edges { node { id firstName } } }
}"""
NODE = "query ByNode($id: ID!) { node(id: $id) { ... on Patient { lastName } } }"
ACCESS_LOG = """
query AccessLog($patientId: ID!) {
  patientAccessLog(patientId: $patientId, first: 50) {
    totalCount
    edges { node { accessedAt actorKind actorId requestId operationName } }
  }
}"""


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def new_patients(clinic, count: int, surname: str | None = None) -> list:
    surname = surname or unique("Fam").replace("-", "")
    actor = support_cli_actor(clinic.organization.id)
    made = []
    for n in range(count):
        fields = {"first_name": f"P{n}", "last_name": surname, "date_of_birth": datetime(1980, 1, 1).date()}
        made.append(await register_patient(actor, fields, []))
    return made


async def test_a_consumer_listing_patients_is_recorded_once_per_patient_with_its_request(clinic):
    patients = await new_patients(clinic, 3)

    answer = await clinic.vendor.post(PATIENTS, {"search": patients[0].last_name})

    assert answer.status_code == 200 and len(answer.json()["data"]["patients"]["edges"]) == 3
    rows = await PatientAccess.filter(request_id=answer.headers["x-request-id"]).order_by("patient_id")
    assert [r.patient_id for r in rows] == [p.id for p in patients]
    assert {(r.actor_kind.value, r.consumer_id, r.operation_name) for r in rows} == {
        ("CONSUMER", clinic.vendor.consumer.id, "ListPatients")
    }
    assert {r.actor_id for r in rows} == {gid(clinic.vendor.consumer)}


async def test_a_session_reading_one_patient_by_node_is_recorded_and_listed(clinic):
    [patient] = await new_patients(clinic, 1)

    read = await clinic.owner.post(NODE, {"id": gid(patient)})
    listed = await clinic.vendor.gql(ACCESS_LOG, {"patientId": gid(patient)})

    assert read.json()["data"]["node"]["lastName"] == patient.last_name
    log = listed["patientAccessLog"]
    assert log["totalCount"] == 1
    [entry] = [e["node"] for e in log["edges"]]
    assert entry["actorKind"] == "USER" and entry["actorId"] == clinic.owner.user_id
    assert entry["requestId"] == read.headers["x-request-id"] and entry["operationName"] == "ByNode"


async def test_a_refused_read_records_nothing(clinic):
    [patient] = await new_patients(clinic, 1)
    member = await clinic.member()  # no MANAGE_PATIENTS

    answer = await member.post(NODE, {"id": gid(patient)})

    assert answer.json()["data"]["node"] is None
    assert not await PatientAccess.filter(patient_id=patient.id).exists()


async def test_a_hundred_patients_are_one_insert_in_one_group_commit(clinic):
    patients = await new_patients(clinic, 100)
    counter = count_statements()
    try:
        answer = await clinic.vendor.post(PATIENTS, {"search": patients[0].last_name})
    finally:
        stop_counting(counter)

    assert len(answer.json()["data"]["patients"]["edges"]) == 100
    inserts = [s for s in counter.statements if "patient_access" in s and s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1, inserts
    assert await PatientAccess.filter(request_id=answer.headers["x-request-id"]).count() == 100


async def test_the_access_log_is_kept_when_api_logs_are_purged(clinic):
    [patient] = await new_patients(clinic, 1)
    await clinic.vendor.post(NODE, {"id": gid(patient)})

    await purge_api_logs(90, now=datetime.now(UTC) + timedelta(days=365))

    assert await PatientAccess.filter(patient_id=patient.id).count() == 1


async def test_support_and_sessions_without_view_audit_log_may_not_list_it(clinic):
    [patient] = await new_patients(clinic, 1)
    front_desk = await clinic.member(permissions_of=["Front desk"])

    for caller in (clinic.support, front_desk):
        body = (await caller.post(ACCESS_LOG, {"patientId": gid(patient)})).json()
        assert body["data"]["patientAccessLog"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    owner = (await clinic.owner.post(ACCESS_LOG, {"patientId": gid(patient)})).json()
    assert owner["data"]["patientAccessLog"]["totalCount"] == 0


async def test_another_organizations_patient_is_null(clinic, client):
    other = await make_clinic(client)
    [patient] = await new_patients(other, 1)

    body = (await clinic.vendor.post(ACCESS_LOG, {"patientId": gid(patient)})).json()

    assert body["data"]["patientAccessLog"] is None and "errors" not in body
