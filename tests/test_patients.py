"""Patients as a vendor integration registers and finds them."""

from __future__ import annotations

import asyncio

import pytest

from chrgraph.db.models import AuditEvent, Patient
from tests.accounts import make_clinic
from tests.helpers import unique

REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) {
  patient { id firstName lastName dateOfBirth email phone healthCardNumber portalAccess
            identifiers { type { name } value } }
  errors { code field relatedId } } }"""
UPDATE = """mutation($i: UpdatePatientInput!) { updatePatient(input: $i) {
  patient { id lastName phone email } errors { code field relatedId } } }"""
TYPE = """mutation($i: CreateIdentifierTypeInput!) { createIdentifierType(input: $i) {
  identifierType { id name } errors { code } } }"""
PATIENTS = """query($f: PatientFilter) { patients(filter: $f) { totalCount edges { node { id lastName } } } }"""
PATIENT = "query($id: ID!) { patient(id: $id) { id lastName } }"


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def person(**extra) -> dict:
    return {"firstName": "Zoë", "lastName": unique("Tremblay"), "dateOfBirth": "1979-02-03", **extra}


async def register(vendor, **fields) -> dict:
    return (await vendor.gql(REGISTER, {"i": fields}))["registerPatient"]


async def test_a_vendor_registers_a_patient_with_normalised_contact_details(clinic):
    card = unique("hc").replace("-", "")[:12].upper()
    result = await register(
        clinic.vendor,
        **person(email=" Zoe@Example.COM ", phone="(416) 555-0199", healthCardNumber=card.lower()),
    )
    assert result["errors"] == []
    patient = result["patient"]
    assert (patient["email"], patient["phone"], patient["healthCardNumber"]) == (
        "zoe@example.com",
        "+14165550199",
        card,
    )
    assert patient["portalAccess"] is False
    assert await AuditEvent.filter(action="PATIENT_REGISTERED", actor_kind="CONSUMER").exists()


async def test_names_in_any_script_are_kept(clinic):
    result = await register(clinic.vendor, firstName="王", lastName="小明", dateOfBirth="2001-01-01")
    assert (result["patient"]["firstName"], result["patient"]["lastName"]) == ("王", "小明")


async def test_a_duplicate_health_card_names_the_existing_patient(clinic):
    card = "ON" + unique("x")[-8:].upper().replace("-", "0")
    first = await register(clinic.vendor, **person(healthCardNumber=card))
    second = await register(clinic.vendor, **person(healthCardNumber=card.lower()))
    assert second["patient"] is None
    assert second["errors"] == [
        {"code": "PATIENT_ALREADY_EXISTS", "field": ["healthCardNumber"], "relatedId": first["patient"]["id"]}
    ]


async def test_writes_racing_for_one_health_card_leave_one_holder_and_name_it_to_the_others(clinic):
    # Five updates and a registration ask for the same card at once: the unique index
    # lets one through; every other gets PATIENT_ALREADY_EXISTS naming that one, whether
    # our check or the index refused it.
    card = "ON" + unique("r")[-8:].upper().replace("-", "0")
    patients = [(await register(clinic.vendor, **person()))["patient"]["id"] for _ in range(5)]
    answers = await asyncio.gather(
        *(clinic.vendor.gql(UPDATE, {"i": {"patientId": p, "healthCardNumber": card}}) for p in patients),
        clinic.vendor.gql(REGISTER, {"i": person(healthCardNumber=card)}),
    )
    results = [a["updatePatient"] for a in answers[:5]] + [answers[5]["registerPatient"]]
    [winner] = [r["patient"]["id"] for r in results if not r["errors"]]
    for result in results:
        if result["errors"]:
            assert result["errors"] == [
                {"code": "PATIENT_ALREADY_EXISTS", "field": ["healthCardNumber"], "relatedId": winner}
            ]
    assert await Patient.filter(health_card_number=card).count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"dateOfBirth": "2999-01-01"}, ["dateOfBirth"]),
        ({"phone": "12"}, ["phone"]),
        ({"email": "nope"}, ["email"]),
        ({"firstName": "\x00"}, ["firstName"]),
        ({"healthCardNumber": "!!"}, ["healthCardNumber"]),
    ],
)
async def test_bad_patient_input_is_refused_and_nothing_is_written(clinic, fields, field):
    before = await Patient.all().count()
    result = await register(clinic.vendor, **person(**fields))
    assert result["patient"] is None and result["errors"][0]["field"] == field
    assert await Patient.all().count() == before


async def test_search_by_name_ignores_case_and_accents_and_by_dob_card_and_identifier(clinic):
    chart = (await clinic.vendor.gql(TYPE, {"i": {"name": unique("Chart")}}))["createIdentifierType"]
    type_id = chart["identifierType"]["id"]
    last = unique("Bélanger")
    made = await register(
        clinic.vendor,
        firstName="Élodie",
        lastName=last,
        dateOfBirth="1990-12-24",
        healthCardNumber="QC" + unique("c")[-6:].upper().replace("-", "1"),
        identifiers=[{"typeId": type_id, "value": "A-77"}],
    )
    assert made["patient"]["identifiers"] == [{"type": {"name": chart["identifierType"]["name"]}, "value": "A-77"}]
    pid = made["patient"]["id"]
    for f in (
        {"search": "elodie " + last.replace("é", "E").upper()},
        {"healthCardNumber": made["patient"]["healthCardNumber"].lower()},
        {"identifier": {"typeId": type_id, "value": "A-77"}},
    ):
        found = (await clinic.vendor.gql(PATIENTS, {"f": f}))["patients"]
        assert [e["node"]["id"] for e in found["edges"]] == [pid], f
    by_dob = (await clinic.vendor.gql(PATIENTS, {"f": {"dateOfBirth": "1990-12-24"}}))["patients"]["edges"]
    assert pid in [e["node"]["id"] for e in by_dob]


async def test_update_patient_changes_only_what_is_given(clinic):
    made = (await register(clinic.vendor, **person(phone="416-555-0100", email="a@b.test")))["patient"]
    result = await clinic.vendor.gql(UPDATE, {"i": {"patientId": made["id"], "phone": "+33 1 23 45 67 89"}})
    patient = result["updatePatient"]["patient"]
    assert (patient["phone"], patient["email"], patient["lastName"]) == (
        "+33123456789",
        "a@b.test",
        made["lastName"],
    )


async def test_support_and_users_without_manage_patients_are_forbidden(clinic):
    for caller in (clinic.support, await clinic.member()):
        body = (await caller.post(PATIENTS, {"f": None})).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_another_organizations_patient_is_null(client, clinic):
    other = await make_clinic(client)
    theirs = (await register(other.vendor, **person()))["patient"]["id"]
    assert (await clinic.vendor.gql(PATIENT, {"id": theirs}))["patient"] is None
    update = await clinic.vendor.gql(UPDATE, {"i": {"patientId": theirs, "phone": "4165550100"}})
    assert update["updatePatient"]["errors"] == [{"code": "NOT_FOUND", "field": ["patientId"], "relatedId": None}]
