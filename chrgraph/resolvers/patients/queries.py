"""Reads of patients and identifier types for the GraphQL queries (the list with its
filters is `patients_query` beside the operations)."""

from __future__ import annotations

from chrgraph.db.models import IdentifierType, Patient
from chrgraph.db.tenant import OrganizationData


async def patient(data: OrganizationData, public_id: str) -> Patient | None:
    return await data.find(Patient, public_id)


async def identifier_types(data: OrganizationData) -> list[IdentifierType]:
    return await data.identifier_types.order_by("id")


# The change feed's order: the audit sequence number of each row's latest change (then
# the database key, for the rows that existed before the feed and all carry 0).
CHANGE_ORDER = ("change_seq",)


def patient_changes_query(data: OrganizationData):
    """The organization's patients for `patientChanges`, read in `CHANGE_ORDER` from a
    cursor (chrgraph/audit/feeds.py says why resuming after a cursor skips nothing)."""
    return data.patients.all()
