"""Reads of patients and identifier types for the GraphQL queries (the list with its
filters is `patients_query` beside the operations)."""

from __future__ import annotations

from chrgraph.db.models import IdentifierType, Patient
from chrgraph.db.tenant import OrganizationData


async def patient(data: OrganizationData, public_id: str) -> Patient | None:
    return await data.find(Patient, public_id)


async def identifier_types(data: OrganizationData) -> list[IdentifierType]:
    return await data.identifier_types.order_by("id")
