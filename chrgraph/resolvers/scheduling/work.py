"""Questionnaires, inbox messages, lab integrations and MDBilling connections:
what deactivation hands over. Create and list."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    InboxMessage,
    LabIntegration,
    MdBillingConnection,
    Questionnaire,
    QuestionnaireKind,
    User,
    UserStatus,
    UserType,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.patients.patients import get_patient
from chrgraph.resolvers.validation import Errors


async def _member(actor: Actor, user_id: int | None, field: str, conn=None, *, practitioner: bool = False) -> User:
    query = actor.data.users.filter(id=user_id).exclude(
        type__in=[UserType.SUPPORT, UserType.SERVICE_ACCOUNT] if practitioner else [UserType.SUPPORT]
    )
    if practitioner:
        query = query.filter(type=UserType.PRACTITIONER)
    user = await (query.using_db(conn) if conn else query).first() if user_id is not None else None
    if user is None or user.status is UserStatus.DEACTIVATED:
        raise fail(ErrorCode.NOT_FOUND, "No such active user.", field)
    return user


async def create_questionnaire(
    actor: Actor,
    *,
    kind: QuestionnaireKind,
    title: str,
    practitioner_id: int | None,
    patient_id: int | None,
    appointment_id: int | None = None,
) -> Questionnaire:
    errors = Errors()
    title = errors.text(title, "title", max_length=200, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        practitioner = await _member(actor, practitioner_id, "practitionerId", conn, practitioner=True)
        patient = await get_patient(actor, patient_id, conn)
        appointment = None  # its public id, read by the check that it is the patient's
        if appointment_id is not None:
            appointment = await (
                actor.data.appointments.filter(id=appointment_id, patient_id=patient.id)
                .using_db(conn)
                .first()
                .values_list("public_id", flat=True)
            )
            if appointment is None:
                raise fail(ErrorCode.NOT_FOUND, "No such appointment of this patient.", "appointmentId")
        row = await actor.data.create(
            Questionnaire,
            kind=kind,
            title=title,
            practitioner_id=practitioner.id,
            patient_id=patient.id,
            appointment_id=appointment_id,
            using_db=conn,
        )
        await events.record(
            conn,
            actor,
            AuditAction.QUESTIONNAIRE_CREATED,
            "Questionnaire",
            row.public_id,
            {
                "kind": kind,
                "title": title,
                "practitioner": events.ref("User", practitioner.public_id),
                "patient": events.ref("Patient", patient.public_id),
                "appointment": events.ref("Appointment", cast(str | None, appointment)),
            },
        )
    return row


async def create_inbox_message(
    actor: Actor,
    *,
    owner_id: int | None,
    subject: str,
    body: str,
    patient_id: int | None = None,
    sender_id: int | None = None,
    snoozed_until: datetime | None = None,
) -> InboxMessage:
    errors = Errors()
    subject = errors.text(subject, "subject", max_length=200, required=True)
    body = errors.text(body, "body", max_length=20_000, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        owner = await _member(actor, owner_id, "ownerId", conn)
        sender = await _member(actor, sender_id, "senderId", conn) if sender_id is not None else None
        patient = await get_patient(actor, patient_id, conn) if patient_id is not None else None
        row = await actor.data.create(
            InboxMessage,
            owner_id=owner.id,
            sender_id=sender.id if sender else None,
            patient_id=patient.id if patient else None,
            subject=subject,
            body=body,
            snoozed_until=snoozed_until,
            using_db=conn,
        )
        await events.record(
            conn,
            actor,
            AuditAction.INBOX_MESSAGE_CREATED,
            "InboxMessage",
            row.public_id,
            {
                "owner": events.ref("User", owner.public_id),
                "subject": subject,
                "patient": events.ref("Patient", patient.public_id if patient else None),
                "snoozedUntil": snoozed_until,
            },
        )
    return row


async def create_lab_integration(
    actor: Actor, *, name: str, backed_by_id: int | None, is_main: bool = False
) -> LabIntegration:
    errors = Errors()
    name = errors.text(name, "name", max_length=200, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        backer = await _member(actor, backed_by_id, "backedById", conn)
        if is_main:  # one main per organization: the new main replaces the old
            await actor.data.lab_integrations.filter(is_main=True).using_db(conn).update(is_main=False)
        row = await actor.data.create(
            LabIntegration,
            name=name,
            backed_by_id=backer.id,
            is_main=is_main,
            using_db=conn,
        )
        await events.record(
            conn,
            actor,
            AuditAction.LAB_INTEGRATION_CREATED,
            "LabIntegration",
            row.public_id,
            {"name": name, "backedBy": events.ref("User", backer.public_id), "isMain": is_main},
        )
    return row


async def create_mdbilling_connection(actor: Actor, *, user_id: int | None, account_number: str) -> MdBillingConnection:
    errors = Errors()
    account_number = errors.text(account_number, "accountNumber", max_length=50, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        user = await _member(actor, user_id, "userId", conn, practitioner=True)
        if await actor.data.md_billing_connections.filter(user_id=user.id, connected=True).using_db(conn).exists():
            raise fail(ErrorCode.INVALID_STATE, "That practitioner already has an MDBilling connection.", "userId")
        row = await actor.data.create(
            MdBillingConnection,
            user_id=user.id,
            account_number=account_number,
            using_db=conn,
        )
        await events.record(
            conn,
            actor,
            AuditAction.MDBILLING_CONNECTED,
            "MdBillingConnection",
            row.public_id,
            {"user": events.ref("User", user.public_id), "accountNumber": account_number},
        )
    return row
