"""`patientAccessLog`: who read one patient's data, newest first."""

from __future__ import annotations

from typing import Any

from chrgraph.auth.principals import Actor
from chrgraph.db.models import Patient

# Newest first (and the order of the connection's cursors).
ACCESS_ORDER = ("-id",)


async def patient_access_query(actor: Actor, patient_public_id: str) -> Any | None:
    """The reads of the organization's patient with this public id, newest first; None
    when there is no such patient (another organization's is none)."""
    patient = await actor.data.find(Patient, patient_public_id)
    if patient is None:
        return None
    return actor.data.patient_accesses.filter(patient_id=patient.id).order_by(*ACCESS_ORDER)
