"""Questionnaires, inbox messages, lab integrations, MDBilling connections."""

from __future__ import annotations

import pytest

from tests.accounts import make_clinic
from tests.scheduling_helpers import patient, practitioner

QUESTIONNAIRE = """mutation($i: CreateQuestionnaireInput!) { createQuestionnaire(input: $i) {
  questionnaire { id kind status practitioner { id } patient { id } } errors { code field } } }"""
QUESTIONNAIRES = """query($p: ID) { questionnaires(practitionerId: $p) { totalCount edges { node { kind } } } }"""
INBOX = """mutation($i: CreateInboxMessageInput!) { createInboxMessage(input: $i) {
  inboxMessage { id subject snoozedUntil owner { id } sender { id status } } errors { code field } } }"""
INBOXES = """query($o: ID) { inboxMessages(ownerId: $o) { totalCount edges { node { subject } } } }"""
LAB = """mutation($i: CreateLabIntegrationInput!) { createLabIntegration(input: $i) {
  labIntegration { id name isMain backedBy { id } } errors { code field } } }"""
LABS = "{ labIntegrations { name isMain } }"
MDB = """mutation($i: CreateMdBillingConnectionInput!) { createMdBillingConnection(input: $i) {
  connection { id connected user { id } } errors { code field } } }"""
MDBS = "{ mdBillingConnections { accountNumber connected } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def test_questionnaires_are_created_and_listed_per_practitioner(clinic):
    org = clinic.organization.id
    dr, pat = await practitioner(org), await patient(org)
    for kind in ("RECURRING", "SENT"):
        made = await clinic.vendor.gql(
            QUESTIONNAIRE, {"i": {"kind": kind, "title": "PHQ-9", "practitionerId": dr, "patientId": pat}}
        )
        assert made["createQuestionnaire"]["errors"] == []
    listed = (await clinic.vendor.gql(QUESTIONNAIRES, {"p": dr}))["questionnaires"]
    assert sorted(e["node"]["kind"] for e in listed["edges"]) == ["RECURRING", "SENT"]
    staff = await clinic.vendor.gql(
        QUESTIONNAIRE,
        {"i": {"kind": "SENT", "title": "x", "practitionerId": clinic.owner.user_id, "patientId": pat}},
    )
    assert staff["createQuestionnaire"]["errors"] == [{"code": "NOT_FOUND", "field": ["practitionerId"]}]


async def test_inbox_messages_snooze_and_list_per_owner(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    made = await clinic.vendor.gql(
        INBOX,
        {
            "i": {
                "ownerId": dr,
                "subject": "Lab result",
                "body": "Normal",
                "senderId": clinic.owner.user_id,
                "snoozedUntil": "2030-01-01T09:00:00+00:00",
            }
        },
    )
    message = made["createInboxMessage"]["inboxMessage"]
    assert message["snoozedUntil"].startswith("2030-01-01") and message["sender"]["status"] == "ACTIVE"
    assert (await clinic.vendor.gql(INBOXES, {"o": dr}))["inboxMessages"]["totalCount"] == 1


async def test_one_main_lab_integration_per_organization(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    for name in ("LifeLabs", "Dynacare"):
        made = await clinic.vendor.gql(LAB, {"i": {"name": name, "backedById": dr, "isMain": True}})
        assert made["createLabIntegration"]["errors"] == []
    labs = (await clinic.vendor.gql(LABS))["labIntegrations"]
    assert labs == [{"name": "LifeLabs", "isMain": False}, {"name": "Dynacare", "isMain": True}]


async def test_one_mdbilling_connection_per_practitioner(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    first = await clinic.vendor.gql(MDB, {"i": {"userId": dr, "accountNumber": "ON-1234"}})
    assert first["createMdBillingConnection"]["connection"]["connected"] is True
    second = await clinic.vendor.gql(MDB, {"i": {"userId": dr, "accountNumber": "ON-9999"}})
    assert second["createMdBillingConnection"]["errors"][0]["code"] == "INVALID_STATE"
    assert (await clinic.vendor.gql(MDBS))["mdBillingConnections"] == [{"accountNumber": "ON-1234", "connected": True}]


async def test_schedule_operations_need_manage_schedule(clinic):
    for caller in (clinic.support, await clinic.member()):
        body = (await caller.post(LABS)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    front_desk = await clinic.member(permissions_of=["Front desk"])
    assert (await front_desk.gql(LABS))["labIntegrations"] == []
