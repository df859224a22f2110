"""Appointments: half-open slots `[start, start + duration)`; BOOKED, CONFIRMED
and ARRIVED block the time. Two bookings that race serialize on the practitioner's
row (PostgreSQL `FOR UPDATE`; SQLite write transactions are `IMMEDIATE`), so the
second sees the first and gets SLOT_TAKEN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Organization,
    QuestionnaireStatus,
    User,
    UserType,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.patients.patients import get_patient
from chrgraph.resolvers.scheduling.bookable import BLOCKING, MAX_MINUTES, MIN_MINUTES
from chrgraph.resolvers.scheduling.hours import check_booking
from chrgraph.resolvers.validation import Errors

TRANSITIONS = {
    AppointmentStatus.BOOKED: {
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    },
    AppointmentStatus.CONFIRMED: {
        AppointmentStatus.ARRIVED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    },
    AppointmentStatus.ARRIVED: {AppointmentStatus.COMPLETED},
}
REASON_LENGTH = 500


def check_slot(errors: Errors, start: datetime | None, duration: int | None, now: datetime) -> None:
    if start is None or start.tzinfo is None:
        errors.add(ErrorCode.INVALID_INPUT, "`start` is an instant with a UTC offset.", "start")
    elif start <= now:
        errors.add(ErrorCode.INVALID_INPUT, "Appointments start in the future.", "start")
    if duration is None or not MIN_MINUTES <= duration <= MAX_MINUTES:
        errors.add(ErrorCode.INVALID_INPUT, f"Between {MIN_MINUTES} and {MAX_MINUTES} minutes.", "durationMinutes")


async def lock_practitioner(conn, actor: Actor, practitioner_id: int | None, field: str = "practitionerId") -> User:
    query = actor.data.users.filter(id=practitioner_id).exclude(type=UserType.SUPPORT)
    practitioner = await query.using_db(conn).select_for_update().first() if practitioner_id else None
    if practitioner is None:
        raise fail(ErrorCode.NOT_FOUND, "No such practitioner.", field)
    return practitioner


async def clashes(
    conn,
    data: OrganizationData,
    practitioner_id: int,
    start: datetime,
    end: datetime,
    exclude: list[int] | None = None,
) -> list[Appointment]:
    """The practitioner's appointments that block the slot (the practitioner is locked)."""
    query = data.appointments.filter(practitioner_id=practitioner_id, status__in=BLOCKING, start__lt=end, end__gt=start)
    if exclude:
        query = query.exclude(id__in=exclude)
    return await query.using_db(conn).order_by("start")


def snapshot(a: Appointment) -> dict:
    """The appointment's own fields; who it is with is named apart (`booked`), by global
    id: a move changes the practitioner by its own event."""
    return {
        "start": a.start,
        "durationMinutes": a.duration_minutes,
        "status": a.status,
        "kind": a.kind,
        "cancelReason": a.cancel_reason,
        "reason": a.reason,
    }


async def book_appointment(
    actor: Actor,
    practitioner_id: int | None,
    patient_id: int | None,
    start: datetime | None,
    duration_minutes: int | None,
    kind: AppointmentKind | None = None,
    reason: str | None = None,
    allow_outside_working_hours: bool = False,
) -> Appointment:
    """Book the patient with the practitioner (or shared schedule): bookable for that
    start and kind, inside its working hours once it has some (unless a session that may
    override says otherwise), and the time free. `reason`, why the patient comes, is
    optional free text of up to 500 characters."""
    kind = kind or AppointmentKind.IN_PERSON
    now = datetime.now(UTC)
    errors = Errors()
    check_slot(errors, start, duration_minutes, now)
    reason = errors.text(reason, "reason", max_length=REASON_LENGTH) or None
    if errors:
        raise OperationFailed(*errors.items)
    assert start is not None and duration_minutes is not None  # check_slot refused None
    end = start + timedelta(minutes=duration_minutes)
    org = await Organization.get(id=actor.organization_id)
    async with atomic() as conn:
        practitioner = await lock_practitioner(conn, actor, practitioner_id)
        patient = await get_patient(actor, patient_id, conn)
        await check_booking(conn, actor, org, practitioner, start, end, kind, now, allow_outside_working_hours)
        if taken := await clashes(conn, actor.data, practitioner.id, start, end):
            raise fail(
                ErrorCode.SLOT_TAKEN,
                "The practitioner is booked at that time.",
                "start",
                related=("Appointment", taken[0].public_id),
            )
        appointment = await actor.data.create(
            Appointment,
            practitioner_id=practitioner.id,
            patient_id=patient.id,
            start=start,
            end=end,
            duration_minutes=duration_minutes,
            kind=kind,
            reason=reason,
            using_db=conn,
        )
        booked = {
            "practitioner": events.ref("User", practitioner.public_id),
            "patient": events.ref("Patient", patient.public_id),
            **snapshot(appointment),
        }
        if allow_outside_working_hours:
            booked["allowOutsideWorkingHours"] = True
        await events.record(
            conn, actor, AuditAction.APPOINTMENT_BOOKED, "Appointment", appointment.public_id, booked, row=appointment
        )
    return appointment


async def _get(conn, actor: Actor, appointment_id: int | None) -> Appointment:
    query = actor.data.appointments.filter(id=appointment_id)
    row = await query.using_db(conn).first() if appointment_id is not None else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such appointment.", "appointmentId")
    return row


async def reschedule_appointment(
    actor: Actor,
    appointment_id: int | None,
    start: datetime | None,
    duration_minutes: int | None = None,
    allow_outside_working_hours: bool = False,
) -> Appointment:
    """Move an appointment: the same rule as a booking (the practitioner still bookable
    for the new start, inside its working hours) and the new time free."""
    now = datetime.now(UTC)
    org = await Organization.get(id=actor.organization_id)
    async with atomic() as conn:
        appointment = await _get(conn, actor, appointment_id)
        duration = duration_minutes or appointment.duration_minutes
        errors = Errors()
        check_slot(errors, start, duration, now)
        if errors:
            raise OperationFailed(*errors.items)
        assert start is not None  # check_slot refused None
        if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED):
            raise fail(
                ErrorCode.INVALID_STATUS_TRANSITION,
                "Only booked or confirmed appointments move.",
                "appointmentId",
            )
        practitioner = await lock_practitioner(conn, actor, appointment.practitioner_id)
        end = start + timedelta(minutes=duration)
        await check_booking(
            conn, actor, org, practitioner, start, end, appointment.kind, now, allow_outside_working_hours
        )
        if taken := await clashes(conn, actor.data, appointment.practitioner_id, start, end, [appointment.id]):
            raise fail(
                ErrorCode.SLOT_TAKEN,
                "The practitioner is booked at that time.",
                "start",
                related=("Appointment", taken[0].public_id),
            )
        before = snapshot(appointment)
        appointment.start, appointment.end, appointment.duration_minutes = start, end, duration
        await appointment.save(using_db=conn, update_fields=["start", "end", "duration_minutes"])
        changes = events.diff(before, snapshot(appointment))
        if allow_outside_working_hours:
            changes["allowOutsideWorkingHours"] = True
        await events.record(
            conn,
            actor,
            AuditAction.APPOINTMENT_RESCHEDULED,
            "Appointment",
            appointment.public_id,
            changes,
            row=appointment,
        )
    return appointment


async def set_appointment_status(
    actor: Actor, appointment_id: int | None, status: AppointmentStatus, reason: str | None = None
) -> Appointment:
    errors = Errors()
    reason = errors.text(reason, "reason", max_length=500, required=status is AppointmentStatus.CANCELLED)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        appointment = await _get(conn, actor, appointment_id)
        if status not in TRANSITIONS.get(appointment.status, set()):
            raise fail(
                ErrorCode.INVALID_STATUS_TRANSITION,
                f"{appointment.status.value} cannot become {status.value}.",
                "status",
            )
        before = snapshot(appointment)
        appointment.status = status
        if status is AppointmentStatus.CANCELLED:
            appointment.cancel_reason = reason
            # Its questionnaires are removed, never deleted.
            await (
                actor.data.questionnaires.filter(appointment_id=appointment.id)
                .using_db(conn)
                .update(status=QuestionnaireStatus.REMOVED)
            )
        await appointment.save(using_db=conn, update_fields=["status", "cancel_reason"])
        await events.record(
            conn,
            actor,
            AuditAction.appointment_became(status),
            "Appointment",
            appointment.public_id,
            events.diff(before, snapshot(appointment)),
            row=appointment,
        )
    return appointment


# The order of `appointments` (and of its cursors).
APPOINTMENT_ORDER = ("start", "id")


def appointments_query(
    actor: Actor,
    *,
    practitioner: str | None = None,
    patient: str | None = None,
    start_from: datetime | None = None,
    start_before: datetime | None = None,
    statuses: list[AppointmentStatus] | None = None,
):
    query = actor.data.appointments
    if practitioner is not None:  # by public id, joined in the same statement
        query = query.filter(practitioner__public_id=practitioner)
    if patient is not None:
        query = query.filter(patient__public_id=patient)
    if start_from is not None:
        query = query.filter(start__gte=start_from)
    if start_before is not None:
        query = query.filter(start__lt=start_before)
    if statuses:
        query = query.filter(status__in=statuses)
    return query.order_by(*APPOINTMENT_ORDER)
