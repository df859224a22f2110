from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import strawberry
from strawberry import relay

from chrgraph.db.models import Appointment as AppointmentModel
from chrgraph.db.models import AppointmentKind as DomainAppointmentKind
from chrgraph.db.models import AppointmentStatus as DomainAppointmentStatus
from chrgraph.db.models import InboxMessage as InboxMessageModel
from chrgraph.db.models import LabIntegration as LabIntegrationModel
from chrgraph.db.models import MdBillingConnection as MdBillingModel
from chrgraph.db.models import Questionnaire as QuestionnaireModel
from chrgraph.db.models import QuestionnaireKind as DomainQuestionnaireKind
from chrgraph.db.models import QuestionnaireStatus as DomainQuestionnaireStatus
from chrgraph.resolvers.scheduling.queries import people
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.patients.types import Patient
from chrgraph.schema.relay import as_row
from chrgraph.schema.users.types import USER_COLUMNS, User

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainAppointmentStatus, description="Where an appointment stands.")
AppointmentStatus = DomainAppointmentStatus
strawberry.enum(
    DomainAppointmentKind,
    description="In person, or virtual (needs a practitioner whose license includes virtual care).",
)
AppointmentKind = DomainAppointmentKind
strawberry.enum(DomainQuestionnaireKind, description="Recurring scheduled or sent.")
QuestionnaireKind = DomainQuestionnaireKind
strawberry.enum(DomainQuestionnaireStatus, description="Active, completed or removed.")
QuestionnaireStatus = DomainQuestionnaireStatus

describe_values(
    AppointmentStatus,
    {
        AppointmentStatus.BOOKED: "Booked; may become CONFIRMED, CANCELLED or NO_SHOW. Holds its slot.",
        AppointmentStatus.CONFIRMED: "Confirmed; may become ARRIVED, CANCELLED or NO_SHOW. Holds its slot.",
        AppointmentStatus.ARRIVED: "The patient is at the clinic; may become COMPLETED. Holds its slot.",
        AppointmentStatus.COMPLETED: "Seen; final.",
        AppointmentStatus.CANCELLED: "Cancelled; final, and its slot is free again.",
        AppointmentStatus.NO_SHOW: "The patient did not come; final, and its slot is free again.",
    },
)
describe_values(
    AppointmentKind,
    {
        AppointmentKind.IN_PERSON: "At the clinic (the default).",
        AppointmentKind.VIRTUAL: "A virtual visit: the practitioner's license must include VIRTUAL_CARE.",
    },
)
describe_values(
    QuestionnaireKind,
    {
        QuestionnaireKind.RECURRING: "Sent on a schedule until removed.",
        QuestionnaireKind.SENT: "Sent once, waiting for the patient's answers.",
    },
)
describe_values(
    QuestionnaireStatus,
    {
        QuestionnaireStatus.ACTIVE: "Still running or awaiting answers.",
        QuestionnaireStatus.COMPLETED: "Answered or finished.",
        QuestionnaireStatus.REMOVED: "Removed (for example when its practitioner was deactivated).",
    },
)


async def _user(info: strawberry.Info, pk: int | None) -> User | None:
    if pk is None:
        return None
    row = await info.context.loaders.user_by_id.load(pk)
    return User.from_model(row) if row else None


async def _patient(info: strawberry.Info, pk: int | None) -> Patient | None:
    if pk is None:
        return None
    row = await info.context.loaders.patient_by_id.load(pk)
    return Patient.from_model(row) if row else None


@strawberry.type(description="A questionnaire for a patient.")
class Questionnaire(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    practitioner_id: strawberry.Private[int]
    patient_id: strawberry.Private[int]
    kind: QuestionnaireKind = strawberry.field(description="Recurring scheduled or sent.")
    title: str = strawberry.field(description="Its title.")
    status: QuestionnaireStatus = strawberry.field(description="Active, completed or removed.")
    created_at: datetime.datetime = strawberry.field(description="When created.")

    @strawberry.field(description="The practitioner responsible.")
    async def practitioner(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.practitioner_id)

    @strawberry.field(description="The patient.")
    async def patient(self, info: strawberry.Info) -> Patient | None:
        return await _patient(info, self.patient_id)

    @classmethod
    def from_model(cls, row: QuestionnaireModel) -> Questionnaire:
        return cls(
            id=row.id,
            public_id=row.public_id,
            practitioner_id=row.practitioner_id,
            patient_id=row.patient_id,
            kind=row.kind,
            title=row.title,
            status=row.status,
            created_at=row.created_at,
        )


@dataclass
class Preloaded:
    """Relations a list resolver fetched for its whole page (one query each), so each
    item's fields answer synchronously instead of one coroutine per item and field."""

    users: dict[int, User] = field(default_factory=dict)
    patients: dict[int, Patient] = field(default_factory=dict)


async def preload_people(items: list, user_attrs: tuple[str, ...], patient_attrs: tuple[str, ...]) -> None:
    user_ids = {getattr(i, a) for i in items for a in user_attrs} - {None}
    patient_ids = {getattr(i, a) for i in items for a in patient_attrs} - {None}
    users, patients = await people(sorted(user_ids), sorted(patient_ids), USER_COLUMNS)
    preloaded = Preloaded(
        users={u["id"]: User.from_model(as_row(u)) for u in users},
        patients={p.id: Patient.from_model(p) for p in patients},
    )
    for item in items:
        item.preloaded = preloaded


# What `Appointment.from_model` reads: list pages fetch these as `values()` rows.
APPOINTMENT_COLUMNS = (
    "id",
    "public_id",
    "practitioner_id",
    "patient_id",
    "start",
    "duration_minutes",
    "end",
    "status",
    "kind",
    "cancel_reason",
    "reason",
    "created_at",
    "updated_at",
)


@strawberry.type(description="An appointment: `[start, start + durationMinutes)`.")
class Appointment(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    practitioner_id: strawberry.Private[int]
    patient_id: strawberry.Private[int]
    start: datetime.datetime = strawberry.field(description="Start (UTC).")
    duration_minutes: int = strawberry.field(description="Length in minutes.")
    end: datetime.datetime = strawberry.field(description="End (UTC, exclusive).")
    status: AppointmentStatus = strawberry.field(description="Where it stands.")
    kind: AppointmentKind = strawberry.field(description="In person or virtual.")
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled.")
    reason: str | None = strawberry.field(description="Why the patient comes, as given at booking (optional text).")
    created_at: datetime.datetime = strawberry.field(description="When it was booked (UTC).")
    updated_at: datetime.datetime = strawberry.field(
        description="When it last changed (UTC): the time of the audit event of that change."
    )

    preloaded: strawberry.Private[Preloaded | None] = None

    @strawberry.field(description="The practitioner.")
    def practitioner(self, info: strawberry.Info) -> User | None:
        if self.preloaded is not None:
            return self.preloaded.users.get(self.practitioner_id)
        return _user(info, self.practitioner_id)  # type: ignore[return-value]  # an awaitable: graphql-core awaits it

    @strawberry.field(description="The patient.")
    def patient(self, info: strawberry.Info) -> Patient | None:
        if self.preloaded is not None:
            return self.preloaded.patients.get(self.patient_id)
        return _patient(info, self.patient_id)  # type: ignore[return-value]  # an awaitable, awaited

    @strawberry.field(description="Questionnaires attached to it (null without MANAGE_SCHEDULE).")
    async def questionnaires(self, info: strawberry.Info) -> list[Questionnaire] | None:
        rows = await info.context.loaders.questionnaires_by_appointment_id.load(self.id)
        return [Questionnaire.from_model(r) for r in rows]

    @classmethod
    def from_model(cls, row: AppointmentModel) -> Appointment:
        return cls(
            id=row.id,
            public_id=row.public_id,
            practitioner_id=row.practitioner_id,
            patient_id=row.patient_id,
            start=row.start,
            duration_minutes=row.duration_minutes,
            end=row.end,
            status=row.status,
            kind=row.kind,
            cancel_reason=row.cancel_reason,
            reason=row.reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A message in a user's inbox.")
class InboxMessage(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    owner_id: strawberry.Private[int]
    sender_id: strawberry.Private[int | None]
    patient_id: strawberry.Private[int | None]
    subject: str = strawberry.field(description="Subject.")
    body: str = strawberry.field(description="Body.")
    snoozed_until: datetime.datetime | None = strawberry.field(description="Snoozed until then.")
    hidden: bool = strawberry.field(description="Hidden (never deleted).")
    created_at: datetime.datetime = strawberry.field(description="When received.")

    @strawberry.field(description="Whose inbox it is in.")
    async def owner(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.owner_id)

    @strawberry.field(description="Who sent it (shows deactivated senders as such).")
    async def sender(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.sender_id)

    @strawberry.field(description="The patient it is about.")
    async def patient(self, info: strawberry.Info) -> Patient | None:
        return await _patient(info, self.patient_id)

    @classmethod
    def from_model(cls, row: InboxMessageModel) -> InboxMessage:
        return cls(
            id=row.id,
            public_id=row.public_id,
            owner_id=row.owner_id,
            sender_id=row.sender_id,
            patient_id=row.patient_id,
            subject=row.subject,
            body=row.body,
            snoozed_until=row.snoozed_until,
            hidden=row.hidden,
            created_at=row.created_at,
        )


@strawberry.type(description="A lab connection backed by a user.")
class LabIntegration(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    backed_by_id: strawberry.Private[int]
    name: str = strawberry.field(description="Lab name.")
    is_main: bool = strawberry.field(description="The organization's main lab integration.")

    @strawberry.field(description="The user backing it.")
    async def backed_by(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.backed_by_id)

    @classmethod
    def from_model(cls, row: LabIntegrationModel) -> LabIntegration:
        return cls(
            id=row.id, public_id=row.public_id, backed_by_id=row.backed_by_id, name=row.name, is_main=row.is_main
        )


@strawberry.type(description="A practitioner's MDBilling (Ontario) connection.")
class MdBillingConnection(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    user_id: strawberry.Private[int]
    account_number: str = strawberry.field(description="MDBilling account.")
    connected: bool = strawberry.field(description="Still connected.")
    disconnected_at: datetime.datetime | None = strawberry.field(description="When disconnected.")

    @strawberry.field(description="The practitioner.")
    async def user(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.user_id)

    @classmethod
    def from_model(cls, row: MdBillingModel) -> MdBillingConnection:
        return cls(
            id=row.id,
            public_id=row.public_id,
            user_id=row.user_id,
            account_number=row.account_number,
            connected=row.connected,
            disconnected_at=row.disconnected_at,
        )
