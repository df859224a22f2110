"""Patients: registerPatient, updatePatient, search, identifier types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from tortoise.exceptions import IntegrityError

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import IdentifierType, Patient, PatientIdentifier, Sex
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError, fail
from chrgraph.resolvers.patients import address
from chrgraph.resolvers.users.profile import check_email
from chrgraph.resolvers.users.text import fold, search_key
from chrgraph.resolvers.validation import Errors

# What registerPatient and updatePatient take (`address` is an object, stored as columns).
PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "address",
    "health_card_number",
    "health_card_province",
    "health_card_version",
)
# The columns they write.
PATIENT_COLUMNS = (
    *(name for name in PATIENT_FIELDS if name != "address"),
    "address_lines",
    "address_city",
    "address_province",
    "address_postal_code",
)
_PHONE_CHARS = re.compile(r"[\s().\-]")


def normalize_phone(errors: Errors, value: str | None) -> str | None:
    """E.164: +1 for ten North American digits; otherwise an explicit +country code."""
    value = errors.text(value, "phone", max_length=30)
    if not value:
        return None
    digits = _PHONE_CHARS.sub("", value)
    if re.fullmatch(r"\d{10}", digits):
        return "+1" + digits
    if re.fullmatch(r"1\d{10}", digits):
        return "+" + digits
    if re.fullmatch(r"\+[1-9]\d{6,14}", digits):
        return digits
    errors.add(ErrorCode.INVALID_INPUT, "Not a phone number (10 digits, or +country code).", "phone")
    return None


def normalize_health_card(errors: Errors, value: str | None) -> str | None:
    value = errors.text(value, "healthCardNumber", max_length=30)
    if not value:
        return None
    compact = re.sub(r"[\s\-]", "", value).upper()
    if not re.fullmatch(r"[A-Z0-9]{4,20}", compact):
        errors.add(
            ErrorCode.INVALID_INPUT,
            "A health card number has 4 to 20 letters and digits.",
            "healthCardNumber",
        )
        return None
    return compact


def check_birth_date(errors: Errors, value: date | None, today: date | None = None) -> None:
    if value is None:
        errors.add(ErrorCode.INVALID_INPUT, "A date of birth is required.", "dateOfBirth")
    elif value > (today or date.today()) or value.year < 1900:
        errors.add(ErrorCode.INVALID_INPUT, "The date of birth is not plausible.", "dateOfBirth")


@dataclass(frozen=True)
class Identifier:
    type_id: int
    value: str
    # The type's public id, read with the check that the type exists (what events record).
    type_public_id: str | None = None


def _clean(errors: Errors, fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    for name, key in (("first_name", "firstName"), ("last_name", "lastName")):
        if name in fields:
            cleaned[name] = errors.text(fields[name], key, max_length=100, required=True)
    if "date_of_birth" in fields:
        check_birth_date(errors, fields["date_of_birth"])
    if "email" in fields:
        cleaned["email"] = check_email(errors, fields["email"], "email") if fields["email"] else None
    if "phone" in fields:
        cleaned["phone"] = normalize_phone(errors, fields["phone"])
    if "health_card_number" in fields:
        cleaned["health_card_number"] = normalize_health_card(errors, fields["health_card_number"])
    if "health_card_province" in fields:
        cleaned["health_card_province"] = address.province(errors, fields["health_card_province"], "healthCardProvince")
    if "health_card_version" in fields:
        cleaned["health_card_version"] = address.health_card_version(errors, fields["health_card_version"])
    if "sex" in fields:
        cleaned["sex"] = Sex(fields["sex"]) if fields["sex"] is not None else Sex.UNKNOWN
    if "address" in fields:
        cleaned.update(address.address_columns(errors, cleaned.pop("address")))
    return cleaned


async def _identifiers(errors: Errors, data: OrganizationData, identifiers: list[Identifier]) -> list[Identifier]:
    known = dict(
        cast(
            list[tuple[int, str]],
            await data.identifier_types.filter(id__in=[i.type_id for i in identifiers]).values_list("id", "public_id"),
        )
    )
    result = []
    for index, item in enumerate(identifiers):
        value = errors.text(item.value, "identifiers", str(index), "value", max_length=100, required=True)
        if item.type_id not in known:
            errors.add(ErrorCode.NOT_FOUND, "No such identifier type.", "identifiers", str(index), "typeId")
        elif value:
            result.append(Identifier(item.type_id, value, known[item.type_id]))
    return result


async def _taken(data: OrganizationData, health_card: str | None, exclude: int | None = None) -> OperationFailed:
    """A concurrent write took the health card number after our check (the unique index
    refused ours): the same answer as the check's, naming the patient that holds it."""
    duplicate = await _duplicate(data, health_card, exclude)
    return OperationFailed(
        duplicate
        or UserError(
            ErrorCode.PATIENT_ALREADY_EXISTS, "A patient with that health card number exists.", ("healthCardNumber",)
        )
    )


async def _duplicate(data: OrganizationData, health_card: str | None, exclude: int | None = None) -> UserError | None:
    if not health_card:
        return None
    query = data.patients.filter(health_card_number=health_card)
    if exclude is not None:
        query = query.exclude(id=exclude)
    existing = await query.first()
    if existing is None:
        return None
    return UserError(
        ErrorCode.PATIENT_ALREADY_EXISTS,
        "A patient with that health card number exists.",
        ("healthCardNumber",),
        ("Patient", existing.public_id),
    )


def _audited(identifiers: list[Identifier]) -> dict[str, str]:
    """Identifiers as events record them: value by the global id of their type."""
    return {str(events.ref("IdentifierType", i.type_public_id)): i.value for i in identifiers}


def snapshot(patient: Patient) -> dict[str, Any]:
    """The patient's fields as events record them (the address as one field)."""
    fields = {name: getattr(patient, name) for name in (*PATIENT_FIELDS, "portal_access") if name != "address"}
    parts = address.address_of(patient)
    fields["address"] = None if parts is None else {events.camel(k): v for k, v in parts.items()}
    return fields


async def register_patient(actor: Actor, fields: dict[str, Any], identifiers: list[Identifier]) -> Patient:
    """A new patient gets portal access when `accessibleForNewPatients` is on, whether or
    not the portal is enabled yet."""
    errors = Errors()
    fields = _clean(errors, {name: fields.get(name) for name in PATIENT_FIELDS})
    identifiers = await _identifiers(errors, actor.data, identifiers)
    if errors:
        raise OperationFailed(*errors.items)
    if duplicate := await _duplicate(actor.data, fields["health_card_number"]):
        raise OperationFailed(duplicate)
    try:
        async with atomic() as conn:
            portal = await actor.data.portal_settings.using_db(conn).first()
            portal_access = bool(portal and portal.accessible_for_new_patients)
            patient = actor.data.new(
                Patient,
                portal_access=portal_access,
                search_key=search_key(fields["first_name"], fields["last_name"]),
                **fields,
            )
            await patient.save(using_db=conn)
            for item in identifiers:
                await PatientIdentifier.create(
                    patient_id=patient.id, identifier_type_id=item.type_id, value=item.value, using_db=conn
                )
            await events.record(
                conn,
                actor,
                AuditAction.PATIENT_REGISTERED,
                "Patient",
                patient.public_id,
                {**snapshot(patient), "identifiers": _audited(identifiers)},
                row=patient,
            )
    except IntegrityError as exc:  # a concurrent write took the health card number
        raise await _taken(actor.data, fields["health_card_number"]) from exc
    return patient


async def get_patient(actor: Actor, patient_id: int | None, conn=None, field: str = "patientId") -> Patient:
    query = actor.data.patients.filter(id=patient_id)
    patient = await (query.using_db(conn) if conn else query).first() if patient_id is not None else None
    if patient is None:
        raise fail(ErrorCode.NOT_FOUND, "No such patient.", field)
    return patient


async def update_patient(
    actor: Actor, patient_id: int, changes: dict[str, Any], identifiers: list[Identifier] | None = None
) -> Patient:
    errors = Errors()
    changes = _clean(errors, {k: v for k, v in changes.items() if k in PATIENT_FIELDS})
    if identifiers is not None:
        identifiers = await _identifiers(errors, actor.data, identifiers)
    if errors:
        raise OperationFailed(*errors.items)
    patient = await get_patient(actor, patient_id)
    if duplicate := await _duplicate(actor.data, changes.get("health_card_number"), patient.id):
        raise OperationFailed(duplicate)
    try:
        async with atomic() as conn:
            patient = await get_patient(actor, patient_id, conn)
            before = snapshot(patient)
            for name, value in changes.items():
                setattr(patient, name, value)
            patient.search_key = search_key(patient.first_name, patient.last_name)
            delta = events.diff(before, snapshot(patient))
            if delta:  # only what changed: the feed's stamp (and others' writes) stay
                await patient.save(using_db=conn, update_fields=[*changes, "search_key"])
            if identifiers is not None:
                await PatientIdentifier.filter(patient_id=patient.id).using_db(conn).delete()
                for item in identifiers:
                    await PatientIdentifier.create(
                        patient_id=patient.id,
                        identifier_type_id=item.type_id,
                        value=item.value,
                        using_db=conn,
                    )
                delta["identifiers"] = {"after": _audited(identifiers)}
            if delta:
                await events.record(
                    conn, actor, AuditAction.PATIENT_UPDATED, "Patient", patient.public_id, delta, row=patient
                )
    except IntegrityError as exc:  # a concurrent write took the health card number
        raise await _taken(actor.data, changes.get("health_card_number"), patient.id) from exc
    return patient


async def create_identifier_type(actor: Actor, name: str) -> IdentifierType:
    errors = Errors()
    name = errors.text(name, "name", max_length=100, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        if await actor.data.identifier_types.filter(name=name).using_db(conn).exists():
            raise fail(ErrorCode.INVALID_INPUT, "An identifier type with that name exists.", "name")
        row = await actor.data.create(IdentifierType, name=name, using_db=conn)
        await events.record(
            conn, actor, AuditAction.IDENTIFIER_TYPE_CREATED, "IdentifierType", row.public_id, {"name": name}
        )
    return row


# The order of `patients` (and of its cursors).
PATIENT_ORDER = ("last_name", "first_name", "id")


def patients_query(
    actor: Actor,
    *,
    search: str | None = None,
    date_of_birth: date | None = None,
    health_card_number: str | None = None,
    identifier_type: str | None = None,
    identifier_value: str | None = None,
    postal_code: str | None = None,
):
    query = actor.data.patients
    if search:
        for word in fold(search).split():
            query = query.filter(search_key__contains=word)
    if date_of_birth is not None:
        query = query.filter(date_of_birth=date_of_birth)
    if health_card_number:
        query = query.filter(health_card_number=re.sub(r"[\s\-]", "", health_card_number).upper())
    if postal_code:
        compact = re.sub(r"[\s\-]", "", postal_code).upper()
        query = query.filter(address_postal_code=f"{compact[:3]} {compact[3:]}")
    if identifier_type is not None and identifier_value is not None:  # the type's public id
        query = query.filter(
            identifiers__identifier_type__public_id=identifier_type, identifiers__value=identifier_value.strip()
        )
    return query.order_by(*PATIENT_ORDER)
