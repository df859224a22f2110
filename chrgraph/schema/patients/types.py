from __future__ import annotations

import datetime
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry import relay

from chrgraph.db.models import IdentifierType as IdentifierTypeModel
from chrgraph.db.models import Patient as PatientModel
from chrgraph.db.models import Sex as DomainSex
from chrgraph.resolvers.patients.address import address_of

# strawberry.enum registers the domain enum in place; the alias is what type checkers read.
strawberry.enum(
    DomainSex,
    description="A patient's sex as the clinic records it: FEMALE, MALE, OTHER, or UNKNOWN (not recorded).",
)
Sex = DomainSex
_SEX_DESCRIPTIONS = {
    DomainSex.FEMALE: "Female.",
    DomainSex.MALE: "Male.",
    DomainSex.OTHER: "Neither female nor male, as the patient states it.",
    DomainSex.UNKNOWN: "Not recorded (every patient registered without one).",
}
for _value in DomainSex.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = _SEX_DESCRIPTIONS[DomainSex(_value.value)]


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


@strawberry.type(description="A Canadian postal address.")
class PostalAddress:
    lines: list[str] = strawberry.field(description="One to three street lines (number, street, unit).")
    city: str = strawberry.field(description="City or town.")
    province: str = strawberry.field(
        description="Province or territory, its two-letter code: AB, BC, MB, NB, NL, NS, NT, NU, ON, PE, QC, SK, YT."
    )
    postal_code: str = strawberry.field(description="Postal code as `A1A 1A1` (upper case, one space).")


@strawberry.type(description="A patient of the clinic.")
class Patient(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    first_name: str = strawberry.field(description="Given name (any script).")
    last_name: str = strawberry.field(description="Family name (any script).")
    date_of_birth: datetime.date = strawberry.field(description="Date of birth.")
    email: str | None = strawberry.field(description="Email, lowercased.")
    phone: str | None = strawberry.field(description="Phone in E.164.")
    sex: Sex = strawberry.field(description="Sex as recorded (UNKNOWN when never given).")
    address: PostalAddress | None = strawberry.field(description="Postal address, or null when none is recorded.")
    health_card_number: str | None = strawberry.field(description="Unique within the organization.")
    health_card_province: str | None = strawberry.field(
        description="The province or territory that issued the health card (two-letter code), or null."
    )
    health_card_version: str | None = strawberry.field(
        description="The health card's version code (one or two letters, as Ontario prints them), or null."
    )
    portal_access: bool = strawberry.field(description="Whether the patient may use the portal.")
    created_at: datetime.datetime = strawberry.field(description="When registered (UTC).")
    updated_at: datetime.datetime = strawberry.field(
        description="When the patient last changed (UTC): the time of the audit event of that change."
    )

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
            sex=row.sex,
            address=None if (parts := address_of(row)) is None else PostalAddress(**parts),
            health_card_number=row.health_card_number,
            health_card_province=row.health_card_province,
            health_card_version=row.health_card_version,
            portal_access=row.portal_access,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
