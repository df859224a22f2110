"""deactivationPreview, deactivateUser and reactivateUser. Users are never
deleted; their work is moved or cancelled, their messages forwarded or hidden, their
lab integrations handed to successors, their MDBilling connection disconnected, and
their sessions revoked, in one transaction with an audit event per step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import cast

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    Appointment,
    AppointmentStatus,
    InboxMessage,
    Invitation,
    LabIntegration,
    MdBillingConnection,
    Questionnaire,
    QuestionnaireKind,
    QuestionnaireStatus,
    User,
    UserStatus,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.deactivation.handover import (
    active_member,
    forward_messages,
    main_lab_refusal,
    may_transfer_main,
    move_refusals,
    transfer_lab,
)
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError, fail
from chrgraph.resolvers.licensing.changes import record_status
from chrgraph.resolvers.scheduling.bookable import BLOCKING
from chrgraph.resolvers.scheduling.hours import outside_working_hours
from chrgraph.resolvers.users.invitations import issue_invitation
from chrgraph.resolvers.users.login import revoke_sessions
from chrgraph.resolvers.users.lookup import find_user, get_user, require_password

CANCEL_REASON = "Practitioner deactivated"


class Handover(str, Enum):
    MOVE = "MOVE"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class Choice:
    action: Handover = Handover.CANCEL
    to_practitioner_id: int | None = None


@dataclass
class Preview:
    appointments: list[Appointment]
    recurring_questionnaires: list[Questionnaire]
    sent_questionnaires: list[Questionnaire]
    inbox_messages: list[InboxMessage]
    lab_integrations: list[LabIntegration]
    mdbilling: MdBillingConnection | None


@dataclass
class Outcome:
    user: User
    # Public ids of the rows handed over (what the report's global ids carry).
    moved: dict[str, list[str]] = field(default_factory=lambda: {"appointments": [], "recurring": [], "sent": []})
    cancelled: dict[str, list[str]] = field(default_factory=lambda: {"appointments": [], "recurring": [], "sent": []})
    removed_questionnaires: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    transferred: list[str] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)


async def _work(conn, data: OrganizationData, user: User, now: datetime) -> Preview:
    appointments = (
        await data.appointments.filter(practitioner_id=user.id, start__gt=now, status__in=BLOCKING)
        .using_db(conn)
        .order_by("start")
    )
    questionnaires = (
        await data.questionnaires.filter(practitioner_id=user.id, status=QuestionnaireStatus.ACTIVE)
        .using_db(conn)
        .order_by("id")
    )
    return Preview(
        appointments=appointments,
        recurring_questionnaires=[x for x in questionnaires if x.kind is QuestionnaireKind.RECURRING],
        sent_questionnaires=[x for x in questionnaires if x.kind is QuestionnaireKind.SENT],
        inbox_messages=await data.inbox_messages.filter(owner_id=user.id, hidden=False).using_db(conn).order_by("id"),
        lab_integrations=await data.lab_integrations.filter(backed_by_id=user.id)
        .using_db(conn)
        .order_by("-is_main", "id"),
        mdbilling=await data.md_billing_connections.filter(user_id=user.id, connected=True).using_db(conn).first(),
    )


async def deactivation_preview(actor: Actor, user_public_id: str) -> tuple[User, Preview]:
    """The user (by the public id of its global id) and its work."""
    async with atomic() as conn:
        user = await find_user(actor, user_public_id, conn)
        return user, await _work(conn, actor.data, user, datetime.now(UTC))


@dataclass
class DeactivationPlan:
    """Everything a deactivation will change, read and checked, nothing written yet."""

    user: User
    work: Preview
    appointments: Choice
    recurring_questionnaires: Choice
    sent_questionnaires: Choice
    # The receiving practitioner per handover that moves ("appointments",
    # "recurringQuestionnaires", "sentQuestionnaires").
    targets: dict[str, User]
    forward_to: User | None
    lab_targets: dict[int, User]  # lab integration id -> its successor
    now: datetime
    # Moved appointments (public ids) that lie outside the receiver's working hours: a
    # deactivation may step outside them, and each such move's event says so.
    outside_hours: frozenset[str] = frozenset()


async def deactivate_user(
    actor: Actor,
    user_id: int | None,
    *,
    appointments: Choice = Choice(),
    recurring_questionnaires: Choice = Choice(),
    sent_questionnaires: Choice = Choice(),
    forward_inbox_to_user_id: int | None = None,
    lab_integration_successors: dict[int, int] | None = None,
    password: str | None = None,
) -> Outcome:
    """Plan (every check, no write), then apply, in one transaction: what the plan read
    still holds when it is written."""
    principal = actor.principal
    if principal.user_id is not None and principal.user_id == user_id:
        raise fail(ErrorCode.CANNOT_DEACTIVATE_SELF, "You cannot deactivate yourself.", "userId")
    await require_password(actor, password)
    now = datetime.now(UTC)
    async with atomic(revokes_credentials=True) as conn:
        plan = await plan_deactivation(
            conn,
            actor,
            user_id,
            appointments=appointments,
            recurring_questionnaires=recurring_questionnaires,
            sent_questionnaires=sent_questionnaires,
            forward_inbox_to_user_id=forward_inbox_to_user_id,
            lab_integration_successors=lab_integration_successors or {},
            now=now,
        )
        outcome = await apply_deactivation(conn, actor, plan)
    return outcome


async def plan_deactivation(
    conn,
    actor: Actor,
    user_id: int | None,
    *,
    appointments: Choice,
    recurring_questionnaires: Choice,
    sent_questionnaires: Choice,
    forward_inbox_to_user_id: int | None,
    lab_integration_successors: dict[int, int],
    now: datetime,
) -> DeactivationPlan:
    """Read the user's work and check every choice: all refusals are raised here, as one
    `OperationFailed` with every error, and nothing is written."""
    successors = lab_integration_successors
    user = await get_user(actor, user_id, conn)
    org = await actor.data.organization.using_db(conn).get()
    if org.owner_user_id == user.id:
        raise fail(ErrorCode.CANNOT_DEACTIVATE_OWNER, "Transfer ownership first.", "userId")
    if user.status is UserStatus.DEACTIVATED:
        raise fail(ErrorCode.INVALID_STATE, "The user is already deactivated.", "userId")
    work = await _work(conn, actor.data, user, now)
    errors: list[UserError] = []
    targets: dict[str, User] = {}
    for name, choice in (
        ("appointments", appointments),
        ("recurringQuestionnaires", recurring_questionnaires),
        ("sentQuestionnaires", sent_questionnaires),
    ):
        if choice.action is Handover.MOVE:
            found = await active_member(
                conn,
                actor,
                choice.to_practitioner_id,
                user.id,
                (name, "toPractitionerId"),
                practitioner=True,
            )
            if isinstance(found, UserError):
                errors.append(found)
            else:
                targets[name] = found
    forward_to = None
    if forward_inbox_to_user_id is not None:
        found = await active_member(
            conn, actor, forward_inbox_to_user_id, user.id, ("forwardInboxToUserId",), practitioner=False
        )
        if isinstance(found, UserError):
            errors.append(found)
        else:
            forward_to = found
    lab_targets: dict[int, User] = {}
    for lab in work.lab_integrations:
        if lab.is_main and not may_transfer_main(actor):
            # Only support moves the main one, ahead (transferLabIntegration).
            errors.append(main_lab_refusal(lab, ("labIntegrationSuccessors",)))
            continue
        if lab.id not in successors:
            errors.append(
                UserError(
                    ErrorCode.LAB_INTEGRATION_TRANSFER_REQUIRED,
                    f"The lab integration {lab.name!r} needs a successor.",
                    ("labIntegrationSuccessors",),
                    ("LabIntegration", lab.public_id),
                )
            )
            continue
        found = await active_member(
            conn, actor, successors[lab.id], user.id, ("labIntegrationSuccessors",), practitioner=False
        )
        if isinstance(found, UserError):
            errors.append(found)
        else:
            lab_targets[lab.id] = found
    unknown = set(successors) - {lab.id for lab in work.lab_integrations}
    if unknown:
        errors.append(
            UserError(
                ErrorCode.NOT_FOUND,
                "Not a lab integration the user backs.",
                ("labIntegrationSuccessors",),
            )
        )
    outside_hours: frozenset[str] = frozenset()
    if "appointments" in targets:
        receiver = targets["appointments"]
        errors.extend(await move_refusals(conn, actor, org, receiver, work.appointments, now, ("appointments",)))
        spans = [(a.start, a.end) for a in work.appointments]
        outside = await outside_working_hours(conn, actor, org, receiver.id, spans)
        outside_hours = frozenset(work.appointments[i].public_id for i in outside)
    if errors:
        raise OperationFailed(*errors)
    return DeactivationPlan(
        user=user,
        work=work,
        appointments=appointments,
        recurring_questionnaires=recurring_questionnaires,
        sent_questionnaires=sent_questionnaires,
        targets=targets,
        forward_to=forward_to,
        lab_targets=lab_targets,
        now=now,
        outside_hours=outside_hours,
    )


async def apply_deactivation(conn, actor: Actor, plan: DeactivationPlan) -> Outcome:
    """Write a checked plan, with an audit event per step, in the caller's transaction
    (which revokes credentials: the user's sessions end)."""
    user, work, targets, forward_to, now = plan.user, plan.work, plan.targets, plan.forward_to, plan.now
    data = actor.data
    outcome = Outcome(user=user)
    await _hand_over_appointments(conn, actor, plan, targets.get("appointments"), outcome)
    for key, name, choice, items in (
        ("recurring", "recurringQuestionnaires", plan.recurring_questionnaires, work.recurring_questionnaires),
        ("sent", "sentQuestionnaires", plan.sent_questionnaires, work.sent_questionnaires),
    ):
        await _hand_over_questionnaires(conn, actor, key, items, choice, targets.get(name), outcome)
    if forward_to is not None:
        outcome.forwarded = await forward_messages(conn, actor, work.inbox_messages, user, forward_to)
    else:
        for message in work.inbox_messages:
            await data.inbox_messages.filter(id=message.id).using_db(conn).update(hidden=True)
            outcome.hidden.append(message.public_id)
    for lab in work.lab_integrations:
        await transfer_lab(conn, actor, lab, user, plan.lab_targets[lab.id])
        outcome.transferred.append(lab.public_id)
    if work.mdbilling is not None:
        await (
            data.md_billing_connections.filter(id=work.mdbilling.id)
            .using_db(conn)
            .update(connected=False, disconnected_at=now)
        )
        await events.record(
            conn,
            actor,
            AuditAction.MDBILLING_DISCONNECTED,
            "MdBillingConnection",
            work.mdbilling.public_id,
            {"connected": {"before": True, "after": False}},
        )
        outcome.disconnected.append(work.mdbilling.public_id)
    previous = user.status
    await (
        Invitation.filter(user_id=user.id, used_at__isnull=True, voided_at__isnull=True)
        .using_db(conn)
        .update(voided_at=now)
    )
    user.status_before_deactivation, user.status, user.deactivated_at = (
        previous,
        UserStatus.DEACTIVATED,
        now,
    )
    await user.save(using_db=conn, update_fields=["status", "status_before_deactivation", "deactivated_at"])
    await record_status(conn, user, UserStatus.DEACTIVATED, now)
    revoked = await revoke_sessions(conn, user.id)
    await events.record(
        conn,
        actor,
        AuditAction.USER_DEACTIVATED,
        "User",
        user.public_id,
        {
            "status": {"before": previous, "after": UserStatus.DEACTIVATED},
            "appointmentsMovedTo": events.ref("User", targets["appointments"].public_id)
            if "appointments" in targets
            else None,
            "movedAppointments": events.refs("Appointment", outcome.moved["appointments"]),
            "cancelledAppointments": events.refs("Appointment", outcome.cancelled["appointments"]),
            "movedQuestionnaires": events.refs("Questionnaire", outcome.moved["recurring"] + outcome.moved["sent"]),
            # Those removed with their cancelled appointment, and those cancelled themselves.
            "removedQuestionnaires": events.refs(
                "Questionnaire",
                outcome.removed_questionnaires + outcome.cancelled["recurring"] + outcome.cancelled["sent"],
            ),
            "inboxForwardedTo": events.ref("User", forward_to.public_id) if forward_to else None,
            "forwardedMessages": events.refs("InboxMessage", outcome.forwarded),
            "hiddenMessages": events.refs("InboxMessage", outcome.hidden),
            "transferredLabIntegrations": events.refs("LabIntegration", outcome.transferred),
            "disconnectedMdBilling": events.refs("MdBillingConnection", outcome.disconnected),
            "revokedSessions": revoked,
        },
    )
    return outcome


def _moved_to(user: User, target: User) -> dict:
    """The change of an appointment or questionnaire moved from the deactivated user (whose
    work `_work` read) to the target."""
    return {
        "practitioner": {"before": events.ref("User", user.public_id), "after": events.ref("User", target.public_id)}
    }


async def _hand_over_appointments(
    conn, actor: Actor, plan: DeactivationPlan, target: User | None, outcome: Outcome
) -> None:
    data = actor.data
    for appointment in plan.work.appointments:
        if plan.appointments.action is Handover.MOVE and target is not None:
            await data.appointments.filter(id=appointment.id).using_db(conn).update(practitioner_id=target.id)
            moved = _moved_to(outcome.user, target)
            if appointment.public_id in plan.outside_hours:
                moved["outsideWorkingHours"] = True
            await events.record(conn, actor, AuditAction.APPOINTMENT_MOVED, "Appointment", appointment.public_id, moved)
            outcome.moved["appointments"].append(appointment.public_id)
        else:
            await (
                data.appointments.filter(id=appointment.id)
                .using_db(conn)
                .update(status=AppointmentStatus.CANCELLED, cancel_reason=CANCEL_REASON)
            )
            removed = cast(
                list[tuple[int, str]],
                await data.questionnaires.filter(appointment_id=appointment.id)
                .exclude(status=QuestionnaireStatus.REMOVED)
                .using_db(conn)
                .values_list("id", "public_id"),
            )
            await (
                data.questionnaires.filter(id__in=[key for key, _ in removed])
                .using_db(conn)
                .update(status=QuestionnaireStatus.REMOVED)
            )
            outcome.removed_questionnaires.extend(public_id for _, public_id in removed)
            await events.record(
                conn,
                actor,
                AuditAction.APPOINTMENT_CANCELLED,
                "Appointment",
                appointment.public_id,
                {
                    "status": {"before": appointment.status, "after": AppointmentStatus.CANCELLED},
                    "cancelReason": CANCEL_REASON,
                    "removedQuestionnaires": events.refs("Questionnaire", [public_id for _, public_id in removed]),
                },
            )
            outcome.cancelled["appointments"].append(appointment.public_id)


async def _hand_over_questionnaires(
    conn,
    actor: Actor,
    key: str,
    items: list[Questionnaire],
    choice: Choice,
    target: User | None,
    outcome: Outcome,
) -> None:
    data = actor.data
    for item in items:
        if item.public_id in outcome.removed_questionnaires:
            continue  # already removed with its cancelled appointment
        if choice.action is Handover.MOVE and target is not None:
            await data.questionnaires.filter(id=item.id).using_db(conn).update(practitioner_id=target.id)
            await events.record(
                conn,
                actor,
                AuditAction.QUESTIONNAIRE_MOVED,
                "Questionnaire",
                item.public_id,
                _moved_to(outcome.user, target),
            )
            outcome.moved[key].append(item.public_id)
        else:
            await data.questionnaires.filter(id=item.id).using_db(conn).update(status=QuestionnaireStatus.REMOVED)
            await events.record(
                conn,
                actor,
                AuditAction.QUESTIONNAIRE_REMOVED,
                "Questionnaire",
                item.public_id,
                {"status": {"before": item.status, "after": QuestionnaireStatus.REMOVED}},
            )
            outcome.cancelled[key].append(item.public_id)


async def reactivate_user(actor: Actor, user_id: int | None) -> tuple[User, str | None]:
    """Back to the status before deactivation: ACTIVE, or INVITED with a fresh invitation;
    role memberships were kept and count again."""
    async with atomic() as conn:
        user = await get_user(actor, user_id, conn)
        if user.status is not UserStatus.DEACTIVATED:
            raise fail(ErrorCode.INVALID_STATE, "The user is not deactivated.", "userId")
        restored = user.status_before_deactivation or UserStatus.ACTIVE
        user.status, user.deactivated_at, user.status_before_deactivation = restored, None, None
        await user.save(using_db=conn, update_fields=["status", "deactivated_at", "status_before_deactivation"])
        await record_status(conn, user, restored)
        token = None
        if restored is UserStatus.INVITED:
            org = await actor.data.organization.using_db(conn).get()
            token = await issue_invitation(conn, user, org.name)
        await events.record(
            conn,
            actor,
            AuditAction.USER_REACTIVATED,
            "User",
            user.public_id,
            {
                "status": {"before": UserStatus.DEACTIVATED, "after": restored},
                "newInvitation": token is not None,
            },
        )
    return user, token
