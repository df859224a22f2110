"""Appointments, questionnaires, inbox, lab integrations and MDBilling connections
through GraphQL (MANAGE_SCHEDULE; consumers yes, support no)."""

from __future__ import annotations

import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.db.models import AppointmentStatus as DomainStatus
from chrgraph.resolvers.scheduling import appointments as ops
from chrgraph.resolvers.scheduling import queries, work
from chrgraph.schema.errors import UserError
from chrgraph.schema.nodes import register_node
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanManageSchedule
from chrgraph.schema.relay import After, Before, Connection, First, Last, paginate, parse_global_id, selects
from chrgraph.schema.scheduling.types import (
    APPOINTMENT_COLUMNS,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    InboxMessage,
    LabIntegration,
    MdBillingConnection,
    Questionnaire,
    QuestionnaireKind,
    QuestionnaireStatus,
    preload_people,
)


@strawberry.input(description="Book an appointment.")
class BookAppointmentInput:
    practitioner_id: relay.GlobalID = strawberry.field(
        description="An active, bookable practitioner, or a service account with working hours (a shared "
        "schedule). Once the owner has working hours the appointment must lie inside them (OUTSIDE_WORKING_HOURS).",
        metadata=refers_to("User"),
    )
    patient_id: relay.GlobalID = strawberry.field(description="The patient.", metadata=refers_to("Patient"))
    start: datetime.datetime = strawberry.field(description="Start, with a UTC offset, in the future.")
    duration_minutes: int = strawberry.field(description="5 to 480 minutes.")
    kind: AppointmentKind = strawberry.field(
        default=AppointmentKind.IN_PERSON,
        description="In person (the default) or virtual; a VIRTUAL appointment needs a practitioner whose "
        "license includes virtual care (PRACTITIONER_NOT_BOOKABLE otherwise).",
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why the patient comes: optional free text of up to 500 characters (INVALID_INPUT beyond).",
    )
    allow_outside_working_hours: bool = strawberry.field(
        default=False,
        description="Book even outside the owner's working hours: only a user session holding MANAGE_SCHEDULE "
        "(OVERRIDE_NOT_ALLOWED otherwise, and always for a consumer); recorded in the audit event.",
    )


@strawberry.type(description="The result of bookAppointment.")
class BookAppointmentPayload:
    appointment: Appointment | None = strawberry.field(description="The appointment.")
    errors: list[UserError] = strawberry.field(description="SLOT_TAKEN names the clashing appointment.")


@strawberry.input(description="Move an appointment.")
class RescheduleAppointmentInput:
    appointment_id: relay.GlobalID = strawberry.field(description="The appointment.", metadata=refers_to("Appointment"))
    start: datetime.datetime = strawberry.field(description="New start.")
    duration_minutes: int | None = strawberry.field(default=None, description="New length (default: same).")
    allow_outside_working_hours: bool = strawberry.field(
        default=False,
        description="Move even outside the owner's working hours: only a user session holding MANAGE_SCHEDULE "
        "(OVERRIDE_NOT_ALLOWED otherwise, and always for a consumer); recorded in the audit event.",
    )


@strawberry.type(description="The result of rescheduleAppointment.")
class RescheduleAppointmentPayload:
    appointment: Appointment | None = strawberry.field(description="The appointment.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Cancel an appointment.")
class CancelAppointmentInput:
    appointment_id: relay.GlobalID = strawberry.field(description="The appointment.", metadata=refers_to("Appointment"))
    reason: str = strawberry.field(description="Why.")


@strawberry.type(description="The result of cancelAppointment.")
class CancelAppointmentPayload:
    appointment: Appointment | None = strawberry.field(description="The appointment.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Move an appointment along BOOKED → CONFIRMED → ARRIVED → COMPLETED.")
class SetAppointmentStatusInput:
    appointment_id: relay.GlobalID = strawberry.field(description="The appointment.", metadata=refers_to("Appointment"))
    status: AppointmentStatus = strawberry.field(description="The next status.")
    reason: str | None = strawberry.field(default=None, description="Required for CANCELLED.")


@strawberry.type(description="The result of setAppointmentStatus.")
class SetAppointmentStatusPayload:
    appointment: Appointment | None = strawberry.field(description="The appointment.")
    errors: list[UserError] = strawberry.field(description="INVALID_STATUS_TRANSITION and others.")


@strawberry.input(description="Narrow `appointments`; every filter is optional.")
class AppointmentFilter:
    practitioner_id: relay.GlobalID | None = strawberry.field(default=None, description="Only this practitioner.")
    patient_id: relay.GlobalID | None = strawberry.field(default=None, description="Only this patient.")
    start_from: datetime.datetime | None = strawberry.field(default=None, description="Starting at or after.")
    start_before: datetime.datetime | None = strawberry.field(default=None, description="Starting before.")
    statuses: list[AppointmentStatus] | None = strawberry.field(default=None, description="Only these.")


@strawberry.input(description="Create a questionnaire.")
class CreateQuestionnaireInput:
    kind: QuestionnaireKind = strawberry.field(description="Recurring scheduled or sent.")
    title: str = strawberry.field(description="Title.")
    practitioner_id: relay.GlobalID = strawberry.field(
        description="Responsible practitioner.", metadata=refers_to("User")
    )
    patient_id: relay.GlobalID = strawberry.field(description="The patient.", metadata=refers_to("Patient"))
    appointment_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Attached appointment.", metadata=refers_to("Appointment")
    )


@strawberry.type(description="The result of createQuestionnaire.")
class CreateQuestionnairePayload:
    questionnaire: Questionnaire | None = strawberry.field(description="The questionnaire.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Put a message in a user's inbox.")
class CreateInboxMessageInput:
    owner_id: relay.GlobalID = strawberry.field(description="Whose inbox.", metadata=refers_to("User"))
    subject: str = strawberry.field(description="Subject.")
    body: str = strawberry.field(description="Body.")
    sender_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Sending user.", metadata=refers_to("User")
    )
    patient_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Patient concerned.", metadata=refers_to("Patient")
    )
    snoozed_until: datetime.datetime | None = strawberry.field(default=None, description="Snooze until.")


@strawberry.type(description="The result of createInboxMessage.")
class CreateInboxMessagePayload:
    inbox_message: InboxMessage | None = strawberry.field(description="The message.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Add a lab integration.")
class CreateLabIntegrationInput:
    name: str = strawberry.field(description="Lab name.")
    backed_by_id: relay.GlobalID = strawberry.field(description="The user backing it.", metadata=refers_to("User"))
    is_main: bool = strawberry.field(default=False, description="Make it the main one (replaces the old main).")


@strawberry.type(description="The result of createLabIntegration.")
class CreateLabIntegrationPayload:
    lab_integration: LabIntegration | None = strawberry.field(description="The integration.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Connect a practitioner to MDBilling.")
class CreateMdBillingConnectionInput:
    user_id: relay.GlobalID = strawberry.field(description="The practitioner.", metadata=refers_to("User"))
    account_number: str = strawberry.field(description="MDBilling account.")


@strawberry.type(description="The result of createMdBillingConnection.")
class CreateMdBillingConnectionPayload:
    connection: MdBillingConnection | None = strawberry.field(description="The connection.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


def _filter_id(value: relay.GlobalID | None, type_name: str) -> str | None:
    """The public id a filter argument carries."""
    if value is None:
        return None
    parsed = parse_global_id(value, type_name)
    return parsed[1] if parsed else ""  # an id of another type matches nothing


@strawberry.type
class SchedulingQuery:
    @strawberry.field(description="One appointment by id.", permission_classes=[CanManageSchedule])
    async def appointment(
        self,
        info: strawberry.Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The appointment's global id.")],
    ) -> Appointment | None:
        parsed = parse_global_id(id, "Appointment")
        row = await queries.appointment(info.context.data, parsed[1]) if parsed else None
        return Appointment.from_model(row) if row else None

    @strawberry.field(description="Appointments ordered by start.", permission_classes=[CanManageSchedule])
    async def appointments(
        self,
        info: strawberry.Info,
        filter: Annotated[
            AppointmentFilter | None, strawberry.argument(description="Narrow the list; every filter is optional.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Appointment] | None:
        f = filter or AppointmentFilter()
        query = ops.appointments_query(
            info.context.actor,
            practitioner=_filter_id(f.practitioner_id, "User"),
            patient=_filter_id(f.patient_id, "Patient"),
            start_from=f.start_from,
            start_before=f.start_before,
            statuses=[DomainStatus(s.value) for s in f.statuses] if f.statuses else None,
        )
        s = info.context.settings
        page = await paginate(
            query,
            Appointment.from_model,
            order=ops.APPOINTMENT_ORDER,
            first=first,
            after=after,
            last=last,
            before=before,
            default=s.default_page_size,
            maximum=s.max_page_size,
            columns=APPOINTMENT_COLUMNS,
            counted=selects(info, "totalCount", "pageInfo"),
        )
        if selects(info, "patient", "practitioner"):
            await preload_people([e.node for e in page.edges], ("practitioner_id",), ("patient_id",))
        return page

    @strawberry.field(
        description="Appointments in the order of their latest change, to keep a copy in step: each appointment "
        "comes after every appointment whose latest change committed before its own. Pass the `endCursor` of the "
        "last page as `after` to get what changed since; an appointment changed again comes again, later, and "
        "none is ever skipped, even one written by a transaction that committed late. Appointments that existed "
        "before this feed come first, by booking. Forward only.",
        permission_classes=[CanManageSchedule],
    )
    async def appointment_changes(
        self,
        info: strawberry.Info,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Resume after this cursor (an `endCursor` of this feed); omit to start from the beginning."
            ),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (the server's default and maximum apply).")
        ] = None,
    ) -> Connection[Appointment] | None:
        s = info.context.settings
        page = await paginate(
            queries.appointment_changes_query(info.context.data),
            Appointment.from_model,
            order=queries.CHANGE_ORDER,
            first=first,
            after=after,
            last=None,
            before=None,
            default=s.default_page_size,
            maximum=s.max_page_size,
            columns=APPOINTMENT_COLUMNS,
            counted=selects(info, "totalCount"),
        )
        if selects(info, "patient", "practitioner"):
            await preload_people([e.node for e in page.edges], ("practitioner_id",), ("patient_id",))
        return page

    @strawberry.field(description="Questionnaires, newest first.", permission_classes=[CanManageSchedule])
    async def questionnaires(
        self,
        info: strawberry.Info,
        practitioner_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this practitioner's questionnaires.")
        ] = None,
        patient_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this patient's questionnaires.")
        ] = None,
        kind: Annotated[QuestionnaireKind | None, strawberry.argument(description="Only this kind.")] = None,
        status: Annotated[QuestionnaireStatus | None, strawberry.argument(description="Only this status.")] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Questionnaire] | None:
        query = queries.questionnaires_query(
            info.context.data,
            practitioner=_filter_id(practitioner_id, "User"),
            patient=_filter_id(patient_id, "Patient"),
            kind=kind,
            status=status,
        )
        s = info.context.settings
        return await paginate(
            query,
            Questionnaire.from_model,
            order=queries.NEWEST_FIRST,
            first=first,
            after=after,
            last=None,
            before=None,
            default=s.default_page_size,
            maximum=s.max_page_size,
        )

    @strawberry.field(description="Inbox messages, newest first.", permission_classes=[CanManageSchedule])
    async def inbox_messages(
        self,
        info: strawberry.Info,
        owner_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only the inbox of this user.")
        ] = None,
        include_hidden: Annotated[
            bool,
            strawberry.argument(
                description="Also messages hidden from their owner's inbox (for example at deactivation)."
            ),
        ] = False,
        first: First = None,
        after: After = None,
    ) -> Connection[InboxMessage] | None:
        query = queries.inbox_messages_query(
            info.context.data, owner=_filter_id(owner_id, "User"), include_hidden=include_hidden
        )
        s = info.context.settings
        return await paginate(
            query,
            InboxMessage.from_model,
            order=queries.NEWEST_FIRST,
            first=first,
            after=after,
            last=None,
            before=None,
            default=s.default_page_size,
            maximum=s.max_page_size,
        )

    @strawberry.field(description="Lab integrations.", permission_classes=[CanManageSchedule])
    async def lab_integrations(self, info: strawberry.Info) -> list[LabIntegration] | None:
        rows = await queries.lab_integrations(info.context.data)
        return [LabIntegration.from_model(r) for r in rows]

    @strawberry.field(description="MDBilling connections.", permission_classes=[CanManageSchedule])
    async def md_billing_connections(self, info: strawberry.Info) -> list[MdBillingConnection] | None:
        rows = await queries.md_billing_connections(info.context.data)
        return [MdBillingConnection.from_model(r) for r in rows]


@strawberry.type
class SchedulingMutation:
    @strawberry.mutation(description="Book an appointment.", permission_classes=[CanManageSchedule])
    async def book_appointment(
        self, info: strawberry.Info, input: BookAppointmentInput
    ) -> BookAppointmentPayload | None:
        operation = partial(ops.book_appointment, info.context.actor)
        return await perform(BookAppointmentPayload, operation, input, appointment=Appointment.from_model)

    @strawberry.mutation(description="Move an appointment.", permission_classes=[CanManageSchedule])
    async def reschedule_appointment(
        self, info: strawberry.Info, input: RescheduleAppointmentInput
    ) -> RescheduleAppointmentPayload | None:
        operation = partial(ops.reschedule_appointment, info.context.actor)
        return await perform(RescheduleAppointmentPayload, operation, input, appointment=Appointment.from_model)

    @strawberry.mutation(description="Cancel an appointment.", permission_classes=[CanManageSchedule])
    async def cancel_appointment(
        self, info: strawberry.Info, input: CancelAppointmentInput
    ) -> CancelAppointmentPayload | None:
        operation = partial(ops.set_appointment_status, info.context.actor, status=DomainStatus.CANCELLED)
        return await perform(CancelAppointmentPayload, operation, input, appointment=Appointment.from_model)

    @strawberry.mutation(description="Change an appointment's status.", permission_classes=[CanManageSchedule])
    async def set_appointment_status(
        self, info: strawberry.Info, input: SetAppointmentStatusInput
    ) -> SetAppointmentStatusPayload | None:
        operation = partial(ops.set_appointment_status, info.context.actor)
        return await perform(SetAppointmentStatusPayload, operation, input, appointment=Appointment.from_model)

    @strawberry.mutation(description="Create a questionnaire.", permission_classes=[CanManageSchedule])
    async def create_questionnaire(
        self, info: strawberry.Info, input: CreateQuestionnaireInput
    ) -> CreateQuestionnairePayload | None:
        operation = partial(work.create_questionnaire, info.context.actor)
        return await perform(CreateQuestionnairePayload, operation, input, questionnaire=Questionnaire.from_model)

    @strawberry.mutation(description="Put a message in a user's inbox.", permission_classes=[CanManageSchedule])
    async def create_inbox_message(
        self, info: strawberry.Info, input: CreateInboxMessageInput
    ) -> CreateInboxMessagePayload | None:
        operation = partial(work.create_inbox_message, info.context.actor)
        return await perform(CreateInboxMessagePayload, operation, input, inbox_message=InboxMessage.from_model)

    @strawberry.mutation(description="Add a lab integration.", permission_classes=[CanManageSchedule])
    async def create_lab_integration(
        self, info: strawberry.Info, input: CreateLabIntegrationInput
    ) -> CreateLabIntegrationPayload | None:
        operation = partial(work.create_lab_integration, info.context.actor)
        return await perform(CreateLabIntegrationPayload, operation, input, lab_integration=LabIntegration.from_model)

    @strawberry.mutation(description="Connect a practitioner to MDBilling.", permission_classes=[CanManageSchedule])
    async def create_md_billing_connection(
        self, info: strawberry.Info, input: CreateMdBillingConnectionInput
    ) -> CreateMdBillingConnectionPayload | None:
        operation = partial(work.create_mdbilling_connection, info.context.actor)
        return await perform(
            CreateMdBillingConnectionPayload, operation, input, connection=MdBillingConnection.from_model
        )


def _scoped(type_name: str, convert):
    async def resolve(ctx, public_id: str):
        row = await queries.scheduling_item(ctx.data, type_name, public_id)
        return convert(row) if row else None

    return resolve


for _type in (Appointment, Questionnaire, InboxMessage, LabIntegration, MdBillingConnection):
    register_node(_type.__name__, _scoped(_type.__name__, _type.from_model), CanManageSchedule)
