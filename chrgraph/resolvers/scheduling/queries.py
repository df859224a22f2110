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


async def scheduling_item(data: OrganizationData, type_name: str, pk: int) -> Any:
    return await data.get(SCHEDULING_MODELS[type_name], pk)


async def appointment(data: OrganizationData, appointment_id: int) -> Appointment | None:
    return await data.get(Appointment, appointment_id)


def questionnaires_query(
    data: OrganizationData,
    *,
    practitioner_id: int | None = None,
    patient_id: int | None = None,
    kind: QuestionnaireKind | None = None,
    status: QuestionnaireStatus | None = None,
):
    """Newest first."""
    query = data.questionnaires
    if practitioner_id is not None:
        query = query.filter(practitioner_id=practitioner_id)
    if patient_id is not None:
        query = query.filter(patient_id=patient_id)
    if kind is not None:
        query = query.filter(kind=kind)
    if status is not None:
        query = query.filter(status=status)
    return query.order_by("-id")


def inbox_messages_query(data: OrganizationData, *, owner_id: int | None = None, include_hidden: bool = False):
    """Newest first; hidden messages only when asked for."""
    query = data.inbox_messages
    if owner_id is not None:
        query = query.filter(owner_id=owner_id)
    if not include_hidden:
        query = query.filter(hidden=False)
    return query.order_by("-id")


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
