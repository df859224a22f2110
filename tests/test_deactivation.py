"""Deactivation and reactivation with handover."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import (
    Appointment,
    AuditEvent,
    InboxMessage,
    LabIntegration,
    MdBillingConnection,
    Questionnaire,
    QuestionnaireKind,
    User,
)
from chrgraph.resolvers.scheduling.hours import Weekday, set_working_hours
from chrgraph.resolvers.scheduling.work import (
    create_inbox_message,
    create_lab_integration,
    create_mdbilling_connection,
    create_questionnaire,
)
from tests.accounts import PASSWORD, login, make_clinic, session_for
from tests.helpers import gid, key_of
from tests.scheduling_helpers import at, patient, practitioner

PREVIEW = """query($id: ID!) { deactivationPreview(userId: $id) {
  futureAppointments { totalCount } recurringQuestionnaires { totalCount } sentQuestionnaires { totalCount }
  inboxMessages { totalCount } labIntegrations { totalCount edges { node { isMain } } }
  mdBillingConnection { connected } } }"""
DEACTIVATE = """mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) {
  user { id status deactivatedAt }
  report { movedAppointmentIds cancelledAppointmentIds movedQuestionnaireIds removedQuestionnaireIds
           forwardedMessageIds hiddenMessageIds transferredLabIntegrationIds disconnectedMdBillingIds }
  errors { code field relatedId } } }"""
REACTIVATE = """mutation($i: ReactivateUserInput!) { reactivateUser(input: $i) { user { status } errors { code } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id } errors { code field relatedId } } }"""
ROLES = "{ roles { name members { id } } }"


async def pk(global_id: str) -> int:
    return await key_of(global_id)


async def book(clinic, dr: str, start: str, pat: str | None = None) -> str:
    pat = pat or await patient(clinic.organization.id)
    result = (
        await clinic.vendor.gql(
            BOOK, {"i": {"practitionerId": dr, "patientId": pat, "start": start, "durationMinutes": 30}}
        )
    )["bookAppointment"]
    assert result["errors"] == [], result
    return result["appointment"]["id"]


async def busy_practitioner(clinic) -> dict:
    """A practitioner with one of each kind of work."""
    org = clinic.organization.id
    actor = support_cli_actor(org)
    dr = await practitioner(org)
    pat = await patient(org)
    appointment = await book(clinic, dr, at(3, 10, 0), pat)
    await create_questionnaire(
        actor,
        kind=QuestionnaireKind.SENT,
        title="Intake",
        practitioner_id=await pk(dr),
        patient_id=await pk(pat),
        appointment_id=await pk(appointment),
    )
    await create_questionnaire(
        actor,
        kind=QuestionnaireKind.RECURRING,
        title="BP diary",
        practitioner_id=await pk(dr),
        patient_id=await pk(pat),
    )
    await create_questionnaire(
        actor, kind=QuestionnaireKind.SENT, title="PHQ-9", practitioner_id=await pk(dr), patient_id=await pk(pat)
    )
    await create_inbox_message(actor, owner_id=await pk(dr), subject="Result", body="ok")
    await create_inbox_message(
        actor, owner_id=await pk(dr), subject="Later", body="zzz", snoozed_until=datetime(2031, 1, 1, tzinfo=UTC)
    )
    # Not the main one: only support transfers that (tests/test_handover_ahead.py).
    lab = await create_lab_integration(actor, name="LifeLabs", backed_by_id=await pk(dr))
    await create_mdbilling_connection(actor, user_id=await pk(dr), account_number="ON-1")
    return {"dr": dr, "patient": pat, "appointment": appointment, "lab": gid(lab)}


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def test_the_preview_lists_every_kind_of_work(clinic):
    work = await busy_practitioner(clinic)
    preview = (await clinic.vendor.gql(PREVIEW, {"id": work["dr"]}))["deactivationPreview"]
    assert preview["futureAppointments"]["totalCount"] == 1
    assert preview["recurringQuestionnaires"]["totalCount"] == 1
    assert preview["sentQuestionnaires"]["totalCount"] == 2
    assert preview["inboxMessages"]["totalCount"] == 2  # the snoozed one included
    assert preview["labIntegrations"]["edges"] == [{"node": {"isMain": False}}]
    assert preview["mdBillingConnection"] == {"connected": True}


async def test_cancel_is_the_default_and_everything_is_reported_and_audited(clinic):
    work = await busy_practitioner(clinic)
    successor = await practitioner(clinic.organization.id)
    result = (
        await clinic.vendor.gql(
            DEACTIVATE,
            {
                "i": {
                    "userId": work["dr"],
                    "labIntegrationSuccessors": [{"labIntegrationId": work["lab"], "userId": successor}],
                }
            },
        )
    )["deactivateUser"]
    assert result["errors"] == [] and result["user"]["status"] == "DEACTIVATED"
    report = result["report"]
    assert report["cancelledAppointmentIds"] == [work["appointment"]]
    assert len(report["removedQuestionnaireIds"]) == 3  # the appointment's, the recurring and the other sent
    assert len(report["hiddenMessageIds"]) == 2 and report["forwardedMessageIds"] == []
    assert report["transferredLabIntegrationIds"] == [work["lab"]]
    assert len(report["disconnectedMdBillingIds"]) == 1
    appointment = await Appointment.get(id=await pk(work["appointment"]))
    assert appointment.status.value == "CANCELLED"
    assert await Questionnaire.filter(practitioner_id=await pk(work["dr"]), status="ACTIVE").count() == 0
    assert await InboxMessage.filter(owner_id=await pk(work["dr"]), hidden=True).count() == 2
    assert (await LabIntegration.get(id=await pk(work["lab"]))).backed_by_id == await pk(successor)
    assert (await MdBillingConnection.get(user_id=await pk(work["dr"]))).connected is False
    actions = set(await AuditEvent.filter(organization_id=clinic.organization.id).values_list("action", flat=True))
    assert {
        "USER_DEACTIVATED",
        "APPOINTMENT_CANCELLED",
        "QUESTIONNAIRE_REMOVED",
        "LAB_INTEGRATION_TRANSFERRED",
        "MDBILLING_DISCONNECTED",
    } <= actions


async def test_move_hands_work_to_another_practitioner_and_audit_says_where(clinic):
    work = await busy_practitioner(clinic)
    other = await practitioner(clinic.organization.id)
    inbox_to = clinic.owner.user_id
    result = (
        await clinic.vendor.gql(
            DEACTIVATE,
            {
                "i": {
                    "userId": work["dr"],
                    "appointments": {"action": "MOVE", "toPractitionerId": other},
                    "recurringQuestionnaires": {"action": "MOVE", "toPractitionerId": other},
                    "sentQuestionnaires": {"action": "MOVE", "toPractitionerId": other},
                    "forwardInboxToUserId": inbox_to,
                    "labIntegrationSuccessors": [{"labIntegrationId": work["lab"], "userId": other}],
                }
            },
        )
    )["deactivateUser"]
    assert result["errors"] == []
    assert result["report"]["movedAppointmentIds"] == [work["appointment"]]
    assert len(result["report"]["movedQuestionnaireIds"]) == 3
    assert len(result["report"]["forwardedMessageIds"]) == 2
    assert (await Appointment.get(id=await pk(work["appointment"]))).practitioner_id == await pk(other)
    assert await InboxMessage.filter(owner_id=await pk(inbox_to)).count() == 2
    moved = await AuditEvent.get(action="APPOINTMENT_MOVED", target_id=work["appointment"])
    assert moved.changes["practitioner"] == {"before": work["dr"], "after": other}  # global ids, as clients see them


async def test_a_move_may_step_outside_the_receiver_s_working_hours_and_its_event_says_so(clinic):
    # The receiver works 08:00-12:00 local every day; the deactivated practitioner had one
    # appointment inside that and one in the evening. A deactivation may step outside
    # working hours (a booking may not): the evening move's event records it.
    org = clinic.organization
    other = await practitioner(org.id)
    week = [{"weekday": day, "start": time(8), "end": time(12)} for day in Weekday]
    await set_working_hours(support_cli_actor(org.id), await pk(other), week)
    dr = await practitioner(org.id)
    day = datetime.now(ZoneInfo(org.time_zone)).date() + timedelta(days=3)

    def local(hour: int) -> str:
        return datetime.combine(day, time(hour), ZoneInfo(org.time_zone)).astimezone(UTC).isoformat()

    morning, evening = await book(clinic, dr, local(9)), await book(clinic, dr, local(19))
    result = (
        await clinic.vendor.gql(
            DEACTIVATE, {"i": {"userId": dr, "appointments": {"action": "MOVE", "toPractitionerId": other}}}
        )
    )["deactivateUser"]

    assert result["errors"] == [] and sorted(result["report"]["movedAppointmentIds"]) == sorted([morning, evening])
    kept_inside = await AuditEvent.get(action="APPOINTMENT_MOVED", target_id=morning)
    stepped_outside = await AuditEvent.get(action="APPOINTMENT_MOVED", target_id=evening)
    assert "outsideWorkingHours" not in kept_inside.changes
    assert stepped_outside.changes["outsideWorkingHours"] is True
    assert stepped_outside.changes["practitioner"] == {"before": dr, "after": other}


async def test_a_move_that_would_double_book_refuses_everything(clinic):
    work = await busy_practitioner(clinic)
    other = await practitioner(clinic.organization.id)
    clash = await book(clinic, other, at(3, 10, 15))
    result = (
        await clinic.vendor.gql(
            DEACTIVATE,
            {
                "i": {
                    "userId": work["dr"],
                    "appointments": {"action": "MOVE", "toPractitionerId": other},
                    "labIntegrationSuccessors": [{"labIntegrationId": work["lab"], "userId": other}],
                }
            },
        )
    )["deactivateUser"]
    assert result["user"] is None
    assert result["errors"] == [{"code": "SLOT_CONFLICT", "field": ["appointments"], "relatedId": clash}]
    assert (await User.get(id=await pk(work["dr"]))).status.value == "ACTIVE"
    assert (await Appointment.get(id=await pk(work["appointment"]))).status.value == "BOOKED"


async def test_lab_integrations_need_a_successor(clinic):
    work = await busy_practitioner(clinic)
    result = (await clinic.vendor.gql(DEACTIVATE, {"i": {"userId": work["dr"]}}))["deactivateUser"]
    assert result["errors"] == [
        {
            "code": "LAB_INTEGRATION_TRANSFER_REQUIRED",
            "field": ["labIntegrationSuccessors"],
            "relatedId": work["lab"],
        }
    ]
    assert (await User.get(id=await pk(work["dr"]))).status.value == "ACTIVE"


async def test_never_oneself_never_the_owner_and_sessions_re_enter_the_password(clinic):
    admin = await clinic.member(permissions_of=["Administrator"])
    me = (await admin.gql(DEACTIVATE, {"i": {"userId": admin.user_id, "password": PASSWORD}}))["deactivateUser"]
    assert me["errors"][0]["code"] == "CANNOT_DEACTIVATE_SELF"
    owner = await admin.gql(DEACTIVATE, {"i": {"userId": clinic.owner.user_id, "password": PASSWORD}})
    assert owner["deactivateUser"]["errors"][0]["code"] == "CANNOT_DEACTIVATE_OWNER"
    target = await clinic.member()
    missing = (await admin.gql(DEACTIVATE, {"i": {"userId": target.user_id}}))["deactivateUser"]
    assert missing["errors"][0]["code"] == "PASSWORD_REQUIRED"
    wrong = await admin.gql(DEACTIVATE, {"i": {"userId": target.user_id, "password": "nope nope nope"}})
    assert wrong["deactivateUser"]["errors"][0]["code"] == "PASSWORD_INVALID"


async def test_after_deactivation_no_access_no_booking_no_membership_and_history_kept(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    email = (await User.get(id=await pk(dr))).email
    session = await session_for(clinic.client, email)
    await clinic.owner.gql(
        """mutation($i: AssignRolesInput!) { assignRoles(input: $i) { errors { code } } }""",
        {
            "i": {
                "userId": dr,
                "roleIds": [clinic.role_ids["Practitioner"]],
                "password": PASSWORD,
            }
        },
    )
    await create_inbox_message(
        support_cli_actor(org),
        owner_id=await pk(clinic.owner.user_id),
        subject="From the doctor",
        body="hi",
        sender_id=await pk(dr),
    )
    assert (await clinic.vendor.gql(DEACTIVATE, {"i": {"userId": dr}}))["deactivateUser"]["errors"] == []
    refused = await session.post("{ viewer { kind } }")
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["reason"] == "INVALID_SESSION"
    assert (await login(clinic.client, email))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    booked = await clinic.vendor.gql(
        BOOK,
        {
            "i": {
                "practitionerId": dr,
                "patientId": await patient(org),
                "start": at(2, 9, 0),
                "durationMinutes": 30,
            }
        },
    )
    assert booked["bookAppointment"]["errors"][0]["code"] == "PRACTITIONER_NOT_BOOKABLE"
    members = {r["name"]: [m["id"] for m in r["members"]] for r in (await clinic.owner.gql(ROLES))["roles"]}
    assert dr not in members["Practitioner"]
    sender = (
        await clinic.vendor.gql("""{ inboxMessages(first: 100) { edges { node { subject
      sender { status } } } } }""")
    )["inboxMessages"]["edges"]
    assert {"subject": "From the doctor", "sender": {"status": "DEACTIVATED"}} in [e["node"] for e in sender]
    assert await User.filter(id=await pk(dr)).exists()


async def test_the_database_refuses_to_delete_a_user(clinic):
    # SQLite's RAISE(ABORT) arrives as Tortoise's IntegrityError, PostgreSQL's as the driver's RaiseError.
    with pytest.raises(Exception, match="never deleted"):
        await User.filter(id=await pk(clinic.owner.user_id)).delete()
    assert await User.filter(id=await pk(clinic.owner.user_id)).exists()


async def test_reactivation_restores_status_and_roles(client, clinic):
    active = await clinic.member(permissions_of=["Billing"])
    assert (await clinic.vendor.gql(DEACTIVATE, {"i": {"userId": active.user_id}}))["deactivateUser"]["errors"] == []
    back = (await clinic.vendor.gql(REACTIVATE, {"i": {"userId": active.user_id}}))["reactivateUser"]
    assert back == {"user": {"status": "ACTIVE"}, "errors": []}
    assert (await login(client, active.email))["errors"] == []
    members = {r["name"]: [m["id"] for m in r["members"]] for r in (await clinic.owner.gql(ROLES))["roles"]}
    assert active.user_id in members["Billing"]
    invited = (
        await clinic.owner.gql(
            """mutation($i: InviteUserInput!) { inviteUser(input: $i) { user { id } } }""",
            {
                "i": {
                    "email": "inv@react.test",
                    "type": "STAFF",
                    "license": "STAFF",
                    "firstName": "I",
                    "lastName": "V",
                }
            },
        )
    )["inviteUser"]["user"]["id"]
    await clinic.vendor.gql(DEACTIVATE, {"i": {"userId": invited}})
    again = (await clinic.vendor.gql(REACTIVATE, {"i": {"userId": invited}}))["reactivateUser"]
    assert again["user"]["status"] == "INVITED"
    assert await AuditEvent.filter(action="USER_REACTIVATED", target_id=invited).exists()


async def test_a_failing_late_step_leaves_nothing_changed(clinic):
    work = await busy_practitioner(clinic)
    successor = await practitioner(clinic.organization.id)
    events_before = await AuditEvent.filter(organization_id=clinic.organization.id).count()
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="mdbilling_connection"))
    try:
        response = await clinic.vendor.post(
            DEACTIVATE,
            {
                "i": {
                    "userId": work["dr"],
                    "labIntegrationSuccessors": [{"labIntegrationId": work["lab"], "userId": successor}],
                }
            },
        )
    finally:
        hooks.disarm_fault()
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert (await User.get(id=await pk(work["dr"]))).status.value == "ACTIVE"
    assert (await Appointment.get(id=await pk(work["appointment"]))).status.value == "BOOKED"
    assert await Questionnaire.filter(practitioner_id=await pk(work["dr"]), status="ACTIVE").count() == 3
    assert await InboxMessage.filter(owner_id=await pk(work["dr"]), hidden=False).count() == 2
    assert (await LabIntegration.get(id=await pk(work["lab"]))).backed_by_id == await pk(work["dr"])
    assert await AuditEvent.filter(organization_id=clinic.organization.id).count() == events_before
