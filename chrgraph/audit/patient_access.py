"""The patient access log: the patients a request read, recorded in the same group
commit as the API log (chrgraph/audit/api_log.py), one multi-row insert per request
however many patients it read. Which patients were read is collected where a `Patient`
object is completed (its GraphQL type's `is_type_of`, into the request's context)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from chrgraph.auth.principals import Principal, PrincipalKind
from chrgraph.db.models import ActorKind
from chrgraph.db.public_ids import new_public_id

_ACTOR_KINDS = {
    PrincipalKind.CONSUMER: ActorKind.CONSUMER,
    PrincipalKind.USER: ActorKind.USER,
    PrincipalKind.SUPPORT: ActorKind.SUPPORT,
    PrincipalKind.SYSTEM: ActorKind.SYSTEM,
}


class PatientAccessRow:
    """A `PatientAccess` row to insert, as a plain object (like `ApiLogRow`)."""

    __slots__ = _COLUMNS = (
        "public_id",
        "organization_id",
        "patient_id",
        "accessed_at",
        "actor_kind",
        "actor_id",
        "consumer_id",
        "request_id",
        "operation_name",
    )

    def __init__(self, **values: Any) -> None:
        values.setdefault("public_id", new_public_id())
        for name in self._COLUMNS:
            setattr(self, name, values[name])


def access_rows(
    principal: Principal, patient_ids: Iterable[int], *, request_id: str, operation_name: str | None
) -> list[PatientAccessRow]:
    now = datetime.now(UTC)
    kind = _ACTOR_KINDS[principal.kind]
    actor_id = principal.actor_id
    operation = operation_name[:255] if isinstance(operation_name, str) else None
    return [
        PatientAccessRow(
            organization_id=principal.organization_id,
            patient_id=patient_id,
            accessed_at=now,
            actor_kind=kind,
            actor_id=actor_id,
            consumer_id=principal.consumer_id,
            request_id=request_id,
            operation_name=operation,
        )
        for patient_id in sorted(patient_ids)
    ]
