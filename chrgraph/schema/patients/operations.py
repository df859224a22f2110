"""Patients through GraphQL (MANAGE_PATIENTS; consumers yes, support no)."""

from __future__ import annotations

import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.resolvers.patients import patients as ops
from chrgraph.resolvers.patients import queries
from chrgraph.schema.errors import UserError, checked_text
from chrgraph.schema.nodes import register_node
from chrgraph.schema.patients.types import IdentifierType, Patient, Sex
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanManagePatients
from chrgraph.schema.relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    paginate,
    parse_global_id,
    selects,
)


@strawberry.input(description="A value of one of the organization's identifier types.")
class IdentifierInput:
    type_id: relay.GlobalID = strawberry.field(description="The identifier type.", metadata=refers_to("IdentifierType"))
    value: str = strawberry.field(description="The identifier.")


@strawberry.input(
    description="A Canadian postal address; all of it is given: INVALID_INPUT names the part that is missing or wrong."
)
class PostalAddressInput:
    lines: list[str] = strawberry.field(
        description="One to three street lines of up to 100 characters each, no line breaks; empty lines are dropped."
    )
    city: str = strawberry.field(description="City or town, up to 100 characters.")
    province: str = strawberry.field(
        description="Province or territory, its two-letter code in any case: AB, BC, MB, NB, NL, NS, NT, NU, ON, PE, "
        "QC, SK, YT."
    )
    postal_code: str = strawberry.field(
        description="Postal code, `A1A 1A1` with or without the space, any case; its first letter must belong to "
        "the province (K, L, M, N, P: Ontario; G, H, J: Quebec; X: Northwest Territories or Nunavut; …)."
    )


def _identifiers(values: list[dict] | None) -> list[ops.Identifier] | None:
    if values is None:
        return None
    return [ops.Identifier(v["type_id"], v["value"]) for v in values]


def _register_patient(actor, identifiers=None, **fields):
    return ops.register_patient(actor, fields, _identifiers(identifiers) or [])


def _update_patient(actor, patient_id, identifiers=None, **changes):
    return ops.update_patient(actor, patient_id, changes, _identifiers(identifiers))


@strawberry.input(description="Register a patient.")
class RegisterPatientInput:
    first_name: str = strawberry.field(description="Given name (any script).")
    last_name: str = strawberry.field(description="Family name (any script).")
    date_of_birth: datetime.date = strawberry.field(description="Date of birth.")
    sex: Sex | None = strawberry.field(default=None, description="Sex; omitted or null records UNKNOWN.")
    email: str | None = strawberry.field(default=None, description="Email.")
    phone: str | None = strawberry.field(default=None, description="Phone (10 digits or +country code).")
    address: PostalAddressInput | None = strawberry.field(default=None, description="Postal address, if known.")
    health_card_number: str | None = strawberry.field(default=None, description="Unique in the organization.")
    health_card_province: str | None = strawberry.field(
        default=None, description="The province or territory that issued the health card, its two-letter code."
    )
    health_card_version: str | None = strawberry.field(
        default=None, description="The health card's version code: one or two letters (Ontario cards)."
    )
    identifiers: list[IdentifierInput] | None = strawberry.field(default=None, description="Other identifiers.")


@strawberry.type(description="The result of registerPatient.")
class RegisterPatientPayload:
    patient: Patient | None = strawberry.field(description="The patient.")
    errors: list[UserError] = strawberry.field(description="PATIENT_ALREADY_EXISTS names the existing one.")


@strawberry.input(description="Change a patient; omitted fields stay.")
class UpdatePatientInput:
    patient_id: relay.GlobalID = strawberry.field(description="The patient.", metadata=refers_to("Patient"))
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    date_of_birth: datetime.date | None = strawberry.field(default=strawberry.UNSET, description="Birth date.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email (null clears).")
    phone: str | None = strawberry.field(default=strawberry.UNSET, description="Phone (null clears).")
    sex: Sex | None = strawberry.field(default=strawberry.UNSET, description="Sex (null records UNKNOWN).")
    address: PostalAddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Postal address, replaced whole (null clears)."
    )
    health_card_number: str | None = strawberry.field(default=strawberry.UNSET, description="Health card.")
    health_card_province: str | None = strawberry.field(
        default=strawberry.UNSET, description="Issuing province or territory, two-letter code (null clears)."
    )
    health_card_version: str | None = strawberry.field(
        default=strawberry.UNSET, description="Health card version code, one or two letters (null clears)."
    )
    identifiers: list[IdentifierInput] | None = strawberry.field(default=None, description="Replaces all.")


@strawberry.type(description="The result of updatePatient.")
class UpdatePatientPayload:
    patient: Patient | None = strawberry.field(description="The patient.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Define an identifier type.")
class CreateIdentifierTypeInput:
    name: str = strawberry.field(description="E.g. chart number.")


@strawberry.type(description="The result of createIdentifierType.")
class CreateIdentifierTypePayload:
    identifier_type: IdentifierType | None = strawberry.field(description="The type.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Find patients; every filter is optional.")
class PatientFilter:
    search: str | None = strawberry.field(default=None, description="Name words, ignoring case and accents.")
    date_of_birth: datetime.date | None = strawberry.field(default=None, description="Exact date of birth.")
    health_card_number: str | None = strawberry.field(default=None, description="Exact health card number.")
    identifier: IdentifierInput | None = strawberry.field(default=None, description="An identifier value.")
    postal_code: str | None = strawberry.field(
        default=None, description="Exact postal code of the address (spaces and case do not matter)."
    )


@strawberry.type
class PatientsQuery:
    @strawberry.field(description="One patient by id.", permission_classes=[CanManagePatients])
    async def patient(
        self,
        info: strawberry.Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The patient's global id.")],
    ) -> Patient | None:
        parsed = parse_global_id(id, "Patient")
        row = await queries.patient(info.context.data, parsed[1]) if parsed else None
        return Patient.from_model(row) if row else None

    @strawberry.field(description="Patients, by name.", permission_classes=[CanManagePatients])
    async def patients(
        self,
        info: strawberry.Info,
        filter: Annotated[
            PatientFilter | None, strawberry.argument(description="Narrow the list; every filter is optional.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Patient] | None:
        f = filter or PatientFilter()
        checked_text(f.search, "search", 200)
        checked_text(f.health_card_number, "healthCardNumber", 30)
        checked_text(f.postal_code, "postalCode", 20)
        type_id = value = None
        if f.identifier is not None:
            parsed = parse_global_id(f.identifier.type_id, "IdentifierType")
            type_id, value = (
                (parsed[1] if parsed else ""),  # another type's id matches nothing
                checked_text(f.identifier.value, "identifier.value", 100),
            )
        query = ops.patients_query(
            info.context.actor,
            search=f.search,
            date_of_birth=f.date_of_birth,
            health_card_number=f.health_card_number,
            identifier_type=type_id,
            identifier_value=value,
            postal_code=f.postal_code,
        )
        s = info.context.settings
        return await paginate(
            query,
            Patient.from_model,
            order=ops.PATIENT_ORDER,
            first=first,
            after=after,
            last=last,
            before=before,
            default=s.default_page_size,
            maximum=s.max_page_size,
        )

    @strawberry.field(
        description="Patients in the order of their latest change, to keep a copy in step: each patient comes "
        "after every patient whose latest change committed before its own. Pass the `endCursor` of the last page "
        "as `after` to get what changed since; a patient changed again comes again, later, and none is ever "
        "skipped, even one written by a transaction that committed late. Patients that existed before this "
        "feed come first, by registration. Forward only.",
        permission_classes=[CanManagePatients],
    )
    async def patient_changes(
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
    ) -> Connection[Patient] | None:
        s = info.context.settings
        return await paginate(
            queries.patient_changes_query(info.context.data),
            Patient.from_model,
            order=queries.CHANGE_ORDER,
            first=first,
            after=after,
            last=None,
            before=None,
            default=s.default_page_size,
            maximum=s.max_page_size,
            counted=selects(info, "totalCount"),
        )

    @strawberry.field(description="The organization's identifier types.", permission_classes=[CanManagePatients])
    async def identifier_types(self, info: strawberry.Info) -> list[IdentifierType] | None:
        rows = await queries.identifier_types(info.context.data)
        return [IdentifierType.from_model(r) for r in rows]


@strawberry.type
class PatientsMutation:
    @strawberry.mutation(description="Register a patient.", permission_classes=[CanManagePatients])
    async def register_patient(
        self, info: strawberry.Info, input: RegisterPatientInput
    ) -> RegisterPatientPayload | None:
        operation = partial(_register_patient, info.context.actor)
        return await perform(RegisterPatientPayload, operation, input, patient=Patient.from_model)

    @strawberry.mutation(description="Change a patient.", permission_classes=[CanManagePatients])
    async def update_patient(self, info: strawberry.Info, input: UpdatePatientInput) -> UpdatePatientPayload | None:
        operation = partial(_update_patient, info.context.actor)
        return await perform(UpdatePatientPayload, operation, input, patient=Patient.from_model)

    @strawberry.mutation(description="Define an identifier type.", permission_classes=[CanManagePatients])
    async def create_identifier_type(
        self, info: strawberry.Info, input: CreateIdentifierTypeInput
    ) -> CreateIdentifierTypePayload | None:
        operation = partial(ops.create_identifier_type, info.context.actor)
        return await perform(CreateIdentifierTypePayload, operation, input, identifier_type=IdentifierType.from_model)


async def _patient_node(ctx, public_id: str) -> Patient | None:
    row = await queries.patient(ctx.data, public_id)
    return Patient.from_model(row) if row else None


register_node("Patient", _patient_node, CanManagePatients)
