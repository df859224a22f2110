from __future__ import annotations

import datetime
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry import relay

from chrgraph.db.models import IdentifierType as IdentifierTypeModel
from chrgraph.db.models import Patient as PatientModel


@strawberry.type(description="A kind of patient identifier the organization defines.")
class IdentifierType(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    name: str = strawberry.field(description="E.g. chart number.")

    @classmethod
    def from_model(cls, row: IdentifierTypeModel) -> IdentifierType:
        return cls(id=row.id, public_id=row.public_id, name=row.name)


@strawberry.type(description="A patient's identifier of one type.")
class PatientIdentifierValue:
    type: IdentifierType | None = strawberry.field(description="Its type (null without MANAGE_PATIENTS).")
    value: str = strawberry.field(description="The identifier.")


@strawberry.type(description="A patient of the clinic.")
class Patient(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    first_name: str = strawberry.field(description="Given name (any script).")
    last_name: str = strawberry.field(description="Family name (any script).")
    date_of_birth: datetime.date = strawberry.field(description="Date of birth.")
    email: str | None = strawberry.field(description="Email, lowercased.")
    phone: str | None = strawberry.field(description="Phone in E.164.")
    health_card_number: str | None = strawberry.field(description="Unique within the organization.")
    portal_access: bool = strawberry.field(description="Whether the patient may use the portal.")
    created_at: datetime.datetime = strawberry.field(description="When registered.")

    @strawberry.field(description="Identifiers of the organization's own types.")
    async def identifiers(self, info: strawberry.Info) -> list[PatientIdentifierValue]:
        rows = await info.context.loaders.identifiers_by_patient_id.load(self.id)
        return [PatientIdentifierValue(type=IdentifierType.from_model(t), value=v) for t, v in rows]

    @classmethod
    def is_type_of(cls, obj: Any, info: GraphQLResolveInfo) -> bool:
        """Where every `Patient` answered passes (any root, relation or payload): the
        read goes to the request's patient access log. Never awaitable."""
        if isinstance(obj, cls):
            operation = info.operation.name
            info.context.patients_read.setdefault(obj.id, operation.value if operation else None)
            return True
        return False

    is_type_of.__func__.plain_is_type_of = True  # type: ignore[attr-defined]  # graphql_engine keeps its fast path

    @classmethod
    def from_model(cls, row: PatientModel) -> Patient:
        return cls(
            id=row.id,
            public_id=row.public_id,
            first_name=row.first_name,
            last_name=row.last_name,
            date_of_birth=row.date_of_birth,
            email=row.email,
            phone=row.phone,
            health_card_number=row.health_card_number,
            portal_access=row.portal_access,
            created_at=row.created_at,
        )
