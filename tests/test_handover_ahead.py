"""The handover done ahead of a deactivation: transferLabIntegration (the main lab
integration by the support account only) and forwardInboxMessages; deactivateUser
refuses while the user backs the main lab integration; every appointment a deactivation
moves passes the receiver's booking rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import AuditEvent, Classification, InboxMessage, LabIntegration, License, User, UserStatus
from chrgraph.resolvers.scheduling.work import create_inbox_message, create_lab_integration
from tests.accounts import make_clinic
from tests.helpers import gid, key_of
from tests.scheduling_helpers import at, patient, practitioner

TRANSFER = """mutation($i: TransferLabIntegrationInput!) { transferLabIntegration(input: $i) {
  labIntegration { id isMain } errors { code field relatedId message } } }"""
FORWARD = """mutation($i: ForwardInboxMessagesInput!) { forwardInboxMessages(input: $i) {
  forwardedMessageIds toUser { id } errors { code field } } }"""
DEACTIVATE = """mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) {
  user { status } report { movedAppointmentIds transferredLabIntegrationIds }
  errors { code field relatedId message } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id } errors { code field relatedId } } }"""


async def pk(global_id: str) -> int:
    return await key_of(global_id)


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def lab(clinic, backer: str, *, main: bool = False) -> str:
    row = await create_lab_integration(
        support_cli_actor(clinic.organization.id), name="LifeLabs", backed_by_id=await pk(backer), is_main=main
    )
    return gid(row)


async def transfer(caller, lab_id: str, user_id: str) -> dict:
    return (await caller.gql(TRANSFER, {"i": {"labIntegrationId": lab_id, "userId": user_id}}))[
        "transferLabIntegration"
    ]


async def book(clinic, dr: str, start: str) -> str:
    pat = await patient(clinic.organization.id)
    result = (
        await clinic.vendor.gql(
            BOOK, {"i": {"practitionerId": dr, "patientId": pat, "start": start, "durationMinutes": 30}}
        )
    )["bookAppointment"]
    assert result["errors"] == [], result
    return result["appointment"]["id"]


# --- transferLabIntegration ----------------------------------------------------------


async def test_the_clinic_transfers_a_lab_integration_and_the_audit_says_where(clinic):
    dr, successor = await practitioner(clinic.organization.id), await practitioner(clinic.organization.id)
    lab_id = await lab(clinic, dr)
    result = await transfer(clinic.owner, lab_id, successor)
    assert result == {"labIntegration": {"id": lab_id, "isMain": False}, "errors": []}
    assert (await LabIntegration.get(id=await pk(lab_id))).backed_by_id == await pk(successor)
    event = await AuditEvent.get(action="LAB_INTEGRATION_TRANSFERRED", target_id=lab_id)
    assert event.changes["backedBy"] == {"before": dr, "after": successor}  # global ids
    assert event.changes["isMain"] is False
    by_consumer = await transfer(clinic.vendor, lab_id, dr)
    assert by_consumer["errors"] == [] and (await LabIntegration.get(id=await pk(lab_id))).backed_by_id == await pk(dr)


async def test_a_session_or_a_consumer_cannot_transfer_the_main_lab_integration(clinic):
    dr, successor = await practitioner(clinic.organization.id), await practitioner(clinic.organization.id)
    lab_id = await lab(clinic, dr, main=True)
    for caller in (clinic.owner, clinic.vendor):
        result = await transfer(caller, lab_id, successor)
        assert result["labIntegration"] is None
        [error] = result["errors"]
        assert (error["code"], error["field"], error["relatedId"]) == (
            "LAB_INTEGRATION_TRANSFER_REQUIRED",
            ["labIntegrationId"],
            lab_id,
        )
        assert "support" in error["message"]
    assert (await LabIntegration.get(id=await pk(lab_id))).backed_by_id == await pk(dr)


async def test_support_transfers_the_main_lab_integration_and_nothing_else(clinic):
    dr, successor = await practitioner(clinic.organization.id), await practitioner(clinic.organization.id)
    main_id, other_id = await lab(clinic, dr, main=True), await lab(clinic, dr)
    result = await transfer(clinic.support, main_id, successor)
    assert result["errors"] == []
    assert (await LabIntegration.get(id=await pk(main_id))).backed_by_id == await pk(successor)
    event = await AuditEvent.get(action="LAB_INTEGRATION_TRANSFERRED", target_id=main_id)
    assert event.changes["isMain"] is True and event.actor_kind.value == "SUPPORT"
    refused = await transfer(clinic.support, other_id, successor)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", ["labIntegrationId"])]
    assert (await LabIntegration.get(id=await pk(other_id))).backed_by_id == await pk(dr)


async def test_a_user_without_edit_other_users_is_forbidden(clinic):
    dr, successor = await practitioner(clinic.organization.id), await practitioner(clinic.organization.id)
    lab_id = await lab(clinic, dr)
    plain = await clinic.member(permissions_of=["Front desk"])  # schedules, but edits no other user
    response = await plain.post(TRANSFER, {"i": {"labIntegrationId": lab_id, "userId": successor}})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    response = await plain.post(FORWARD, {"i": {"fromUserId": dr, "toUserId": successor}})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await LabIntegration.get(id=await pk(lab_id))).backed_by_id == await pk(dr)


async def test_another_clinics_lab_integration_or_user_is_not_found(client, clinic):
    other = await make_clinic(client)
    dr, successor = await practitioner(clinic.organization.id), await practitioner(clinic.organization.id)
    theirs_dr = await practitioner(other.organization.id)
    their_lab = await lab(other, theirs_dr)
    ours = await lab(clinic, dr)
    refused = await transfer(clinic.owner, their_lab, successor)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["labIntegrationId"])]
    refused = await transfer(clinic.owner, ours, theirs_dr)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["userId"])]
    assert (await LabIntegration.get(id=await pk(their_lab))).backed_by_id == await pk(theirs_dr)
    assert (await LabIntegration.get(id=await pk(ours))).backed_by_id == await pk(dr)


async def test_the_successor_is_an_active_user_other_than_the_backer(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    invited = await practitioner(org, accept=False)
    deactivated = await practitioner(org)
    await User.filter(id=await pk(deactivated)).update(status=UserStatus.DEACTIVATED)
    lab_id = await lab(clinic, dr)
    for who in (invited, deactivated, dr):
        refused = await transfer(clinic.owner, lab_id, who)
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["userId"])], who
    assert not await AuditEvent.filter(action="LAB_INTEGRATION_TRANSFERRED", target_id=lab_id).exists()


# --- forwardInboxMessages ------------------------------------------------------------


async def test_visible_messages_are_forwarded_and_each_is_audited(clinic):
    org = clinic.organization.id
    actor = support_cli_actor(org)
    dr, receiver = await practitioner(org), await clinic.member()
    kept = await create_inbox_message(actor, owner_id=await pk(dr), subject="Result", body="ok")
    hidden = await create_inbox_message(actor, owner_id=await pk(dr), subject="Old", body="x")
    await InboxMessage.filter(id=hidden.id).update(hidden=True)
    result = (await clinic.owner.gql(FORWARD, {"i": {"fromUserId": dr, "toUserId": receiver.user_id}}))[
        "forwardInboxMessages"
    ]
    assert result == {
        "forwardedMessageIds": [gid(kept)],
        "toUser": {"id": receiver.user_id},
        "errors": [],
    }
    assert (await InboxMessage.get(id=kept.id)).owner_id == await pk(receiver.user_id)
    assert (await InboxMessage.get(id=hidden.id)).owner_id == await pk(dr)  # hidden ones stay
    event = await AuditEvent.get(action="INBOX_MESSAGE_FORWARDED", target_id=gid(kept))
    assert event.changes == {"owner": {"before": dr, "after": receiver.user_id}}  # global ids
    by_consumer = await clinic.vendor.gql(FORWARD, {"i": {"fromUserId": receiver.user_id, "toUserId": dr}})
    assert by_consumer["forwardInboxMessages"]["errors"] == []


async def test_forwarding_refuses_an_inactive_receiver_another_clinic_and_support(client, clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    message = await create_inbox_message(support_cli_actor(org), owner_id=await pk(dr), subject="S", body="B")
    invited = await practitioner(org, accept=False)
    other = await make_clinic(client)
    theirs = await practitioner(other.organization.id)
    for variables, field in (
        ({"fromUserId": dr, "toUserId": invited}, ["toUserId"]),
        ({"fromUserId": dr, "toUserId": dr}, ["toUserId"]),
        ({"fromUserId": dr, "toUserId": theirs}, ["toUserId"]),
        ({"fromUserId": theirs, "toUserId": dr}, ["fromUserId"]),
    ):
        result = (await clinic.owner.gql(FORWARD, {"i": variables}))["forwardInboxMessages"]
        assert result["forwardedMessageIds"] is None
        assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", field)], variables
    response = await clinic.support.post(FORWARD, {"i": {"fromUserId": dr, "toUserId": clinic.owner.user_id}})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await InboxMessage.get(id=message.id)).owner_id == await pk(dr)


# --- deactivateUser and the main lab integration -------------------------------------


async def test_deactivation_waits_until_support_has_transferred_the_main_lab_integration(clinic):
    org = clinic.organization.id
    dr, successor = await practitioner(org), await practitioner(org)
    main_id = await lab(clinic, dr, main=True)
    given = {"userId": dr, "labIntegrationSuccessors": [{"labIntegrationId": main_id, "userId": successor}]}
    for variables in ({"userId": dr}, given):
        result = (await clinic.vendor.gql(DEACTIVATE, {"i": variables}))["deactivateUser"]
        assert result["user"] is None
        [error] = result["errors"]
        assert (error["code"], error["field"], error["relatedId"]) == (
            "LAB_INTEGRATION_TRANSFER_REQUIRED",
            ["labIntegrationSuccessors"],
            main_id,
        )
        assert "support" in error["message"]
    assert (await User.get(id=await pk(dr))).status is UserStatus.ACTIVE
    assert (await transfer(clinic.support, main_id, successor))["errors"] == []
    done = (await clinic.vendor.gql(DEACTIVATE, {"i": {"userId": dr}}))["deactivateUser"]
    assert done["errors"] == [] and done["user"] == {"status": "DEACTIVATED"}
    assert (await LabIntegration.get(id=await pk(main_id))).backed_by_id == await pk(successor)


# --- a MOVE passes the receiver's booking rules --------------------------------------


async def _refused_move(clinic, receiver: str, days: int = 3) -> tuple[str, str, dict]:
    dr = await practitioner(clinic.organization.id)
    appointment = await book(clinic, dr, at(days, 10, 0))
    result = (
        await clinic.vendor.gql(
            DEACTIVATE,
            {"i": {"userId": dr, "appointments": {"action": "MOVE", "toPractitionerId": receiver}}},
        )
    )["deactivateUser"]
    assert (await User.get(id=await pk(dr))).status is UserStatus.ACTIVE
    return dr, appointment, result


async def test_a_move_to_an_unlicensed_practitioner_is_refused(clinic):
    receiver = await practitioner(clinic.organization.id)
    await User.filter(id=await pk(receiver)).update(license=None)
    _, appointment, result = await _refused_move(clinic, receiver)
    assert [(e["code"], e["field"], e["relatedId"]) for e in result["errors"]] == [
        ("PRACTITIONER_NOT_BOOKABLE", ["appointments"], appointment)
    ]


async def test_a_move_to_a_trainee_whose_access_ended_is_refused(clinic):
    receiver = await practitioner(
        clinic.organization.id,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=date.today() + timedelta(days=60),
    )
    await User.filter(id=await pk(receiver)).update(expected_end_of_training=date.today() - timedelta(days=20))
    _, appointment, result = await _refused_move(clinic, receiver)
    assert [(e["code"], e["relatedId"]) for e in result["errors"]] == [("PRACTITIONER_NOT_BOOKABLE", appointment)]


async def test_a_move_to_a_locum_outside_its_period_is_refused_as_a_booking_is(clinic):
    org = clinic.organization.id
    receiver = await practitioner(org)
    await User.filter(id=await pk(receiver)).update(
        classification=Classification.LOCUM,
        locum_start=date.today() - timedelta(days=5),
        locum_end=date.today() + timedelta(days=5),
    )
    _, appointment, result = await _refused_move(clinic, receiver, days=20)
    assert [(e["code"], e["relatedId"]) for e in result["errors"]] == [("PRACTITIONER_NOT_BOOKABLE", appointment)]
    booked = (
        await clinic.vendor.gql(
            BOOK,
            {
                "i": {
                    "practitionerId": receiver,
                    "patientId": await patient(org),
                    "start": at(20, 9),
                    "durationMinutes": 30,
                }
            },
        )
    )["bookAppointment"]
    assert booked["errors"][0]["code"] == "PRACTITIONER_NOT_BOOKABLE"
    inside = await book(clinic, receiver, at(3, 9))  # within the period: bookable
    dr = await practitioner(org)
    moved_id = await book(clinic, dr, at(4, 10, 0))
    moved = (
        await clinic.vendor.gql(
            DEACTIVATE, {"i": {"userId": dr, "appointments": {"action": "MOVE", "toPractitionerId": receiver}}}
        )
    )["deactivateUser"]
    assert moved["errors"] == [] and moved["report"]["movedAppointmentIds"] == [moved_id]
    assert inside


async def test_a_move_to_a_practitioner_not_active_or_not_a_practitioner_is_refused(clinic):
    org = clinic.organization.id
    invited = await practitioner(org, accept=False)
    for receiver in (invited, clinic.owner.user_id):
        _, _, result = await _refused_move(clinic, receiver)
        assert [(e["code"], e["field"]) for e in result["errors"]] == [
            ("NOT_FOUND", ["appointments", "toPractitionerId"])
        ], receiver


async def test_a_move_that_would_double_book_the_receiver_is_refused(clinic):
    receiver = await practitioner(clinic.organization.id)
    clash = await book(clinic, receiver, at(3, 10, 15))
    _, _, result = await _refused_move(clinic, receiver)
    assert [(e["code"], e["field"], e["relatedId"]) for e in result["errors"]] == [
        ("SLOT_CONFLICT", ["appointments"], clash)
    ]


async def test_a_move_of_a_virtual_appointment_to_a_receiver_without_virtual_care_is_refused(clinic):
    org = clinic.organization.id
    dr, receiver = await practitioner(org), await practitioner(org, license=License.CHR_LITE)
    values = {"practitionerId": dr, "patientId": await patient(org), "start": at(3, 11), "durationMinutes": 30}
    booked = (await clinic.vendor.gql(BOOK, {"i": {**values, "kind": "VIRTUAL"}}))["bookAppointment"]
    in_person = await book(clinic, dr, at(3, 9))
    result = (
        await clinic.vendor.gql(
            DEACTIVATE, {"i": {"userId": dr, "appointments": {"action": "MOVE", "toPractitionerId": receiver}}}
        )
    )["deactivateUser"]
    assert [(e["code"], e["field"], e["relatedId"]) for e in result["errors"]] == [
        ("PRACTITIONER_NOT_BOOKABLE", ["appointments"], booked["appointment"]["id"])
    ]
    assert "virtual care" in result["errors"][0]["message"] and in_person
    assert (await User.get(id=await pk(dr))).status is UserStatus.ACTIVE


# --- the support account's command ---------------------------------------------------


@pytest.mark.cli
async def test_support_transfers_the_main_lab_integration_from_the_command_line(clinic, database_url):
    import asyncio
    import os
    import sys
    from pathlib import Path

    org = clinic.organization.id
    dr, successor = await practitioner(org), await practitioner(org)
    main_id = await lab(clinic, dr, main=True)
    email = (await User.get(id=await pk(successor))).email
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}

    async def chrgraph(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "chrgraph"),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, (out + err).decode()

    common = ("users", "transfer-lab-integration", "--org", clinic.domain)
    code, output = await chrgraph(*common, "--to", "nobody@nowhere.test")
    assert code == 1 and "NOT_FOUND" in output
    code, output = await chrgraph(*common, "--to", email.upper(), "--json")
    assert code == 0, output
    assert (await LabIntegration.get(id=await pk(main_id))).backed_by_id == await pk(successor)
    event = await AuditEvent.get(action="LAB_INTEGRATION_TRANSFERRED", target_id=main_id)
    assert event.actor_kind.value == "SYSTEM"  # the operator, with support's rights
