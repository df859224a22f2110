"""Reads of appointments, questionnaires, inbox messages, lab integrations and
MDBilling connections for the GraphQL queries and types (the appointment list with
its filters is `appointments_query` beside the operations)."""

from __future__ import annotations

from typing import Any

from chrgraph.db.models import (
    Appointment,
    InboxMessage,
    LabIntegration,
    MdBillingConnection,
    Patient,
    Questionnaire,
    QuestionnaireKind,
    QuestionnaireStatus,
    User,
)
from chrgraph.db.raw import ByIds
from chrgraph.db.tenant import OrganizationData

# The models `node` reads by id, by GraphQL type name.
SCHEDULING_MODELS: dict[str, type[Any]] = {
    "Appointment": Appointment,
    "Questionnaire": Questionnaire,
    "InboxMessage": InboxMessage,
    "LabIntegration": LabIntegration,
    "MdBillingConnection": MdBillingConnection,
}


async def scheduling_item(data: OrganizationData, type_name: str, public_id: str) -> Any:
    return await data.find(SCHEDULING_MODELS[type_name], public_id)


async def appointment(data: OrganizationData, public_id: str) -> Appointment | None:
    return await data.find(Appointment, public_id)


# The order of `questionnaires` and `inboxMessages` (and of their cursors).
NEWEST_FIRST = ("-id",)


# The change feed's order: the audit sequence number of each row's latest change (then
# the database key, for the rows that existed before the feed and all carry 0).
CHANGE_ORDER = ("change_seq",)


def appointment_changes_query(data: OrganizationData):
    """The organization's appointments for `appointmentChanges`, read in `CHANGE_ORDER`
    from a cursor (chrgraph/audit/feeds.py says why resuming after a cursor skips nothing)."""
    return data.appointments.all()


def questionnaires_query(
    data: OrganizationData,
    *,
    practitioner: str | None = None,
    patient: str | None = None,
    kind: QuestionnaireKind | None = None,
    status: QuestionnaireStatus | None = None,
):
    """Newest first; `practitioner` and `patient` are public ids (joined in the statement)."""
    query = data.questionnaires
    if practitioner is not None:
        query = query.filter(practitioner__public_id=practitioner)
    if patient is not None:
        query = query.filter(patient__public_id=patient)
    if kind is not None:
        query = query.filter(kind=kind)
    if status is not None:
        query = query.filter(status=status)
    return query.order_by(*NEWEST_FIRST)


def inbox_messages_query(data: OrganizationData, *, owner: str | None = None, include_hidden: bool = False):
    """Newest first; hidden messages only when asked for; `owner` is a public id."""
    query = data.inbox_messages
    if owner is not None:
        query = query.filter(owner__public_id=owner)
    if not include_hidden:
        query = query.filter(hidden=False)
    return query.order_by(*NEWEST_FIRST)


async def lab_integrations(data: OrganizationData) -> list[LabIntegration]:
    return await data.lab_integrations.order_by("id")


async def md_billing_connections(data: OrganizationData) -> list[MdBillingConnection]:
    return await data.md_billing_connections.order_by("id")


_users = ByIds(User)  # SQL built once per page length (chrgraph/db/raw.py)
_patients = ByIds(Patient)


async def people(user_ids: list[int], patient_ids: list[int], user_columns: tuple[str, ...]):
    """A page's practitioners and patients, named by rows already read within the
    organization: users as `values()` rows (no model instances: a user has many columns
    the type does not read), patients as models (measured: `values()` did not pay for them)."""
    users = await _users.dicts(user_ids, *user_columns)
    patients = await _patients.fetch(patient_ids)
    return users, patients
