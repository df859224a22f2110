"""DataLoaders' batch reads: each answers a list of keys with one statement.

The keys are foreign keys of rows already read within the caller's organization
(a user's roles, an appointment's patient…), never an id a client sent: a client's
id goes through `OrganizationData` first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import cast

from chrgraph.db.models import (
    ApiConsumer,
    ApiConsumerKey,
    IdentifierType,
    LicenseChange,
    Organization,
    Patient,
    PatientIdentifier,
    Questionnaire,
    Role,
    RolePermission,
    TwoFactor,
    User,
    UserPermission,
    UserRole,
    UserStatus,
)
from chrgraph.db.raw import ByIds


async def keys_by_consumer(ids: Iterable[int]) -> list[list[ApiConsumerKey]]:
    ids = list(ids)
    grouped: dict[int, list[ApiConsumerKey]] = defaultdict(list)
    for row in await ApiConsumerKey.filter(consumer_id__in=ids).order_by("id"):
        grouped[row.consumer_id].append(row)
    return [grouped[i] for i in ids]


_organizations_by_id = ByIds(Organization)


async def organizations(ids: Iterable[int]) -> list[Organization | None]:
    ids = list(ids)
    found = {o.id: o for o in await _organizations_by_id.fetch(ids)}
    return [found.get(i) for i in ids]


async def users(ids: Iterable[int]) -> list[User | None]:
    ids = list(ids)
    found = {u.id: u for u in await User.filter(id__in=ids)}
    return [found.get(i) for i in ids]


async def second_factor_enabled(ids: Iterable[int]) -> list[bool]:
    """Whether each user has a second factor turned on."""
    ids = list(ids)
    # Tortoise types a flat values_list as a list of tuples: the cast names the element type.
    enabled = set(
        cast(
            list[int],
            await TwoFactor.filter(user_id__in=ids, enabled_at__isnull=False).values_list("user_id", flat=True),
        )
    )
    return [i in enabled for i in ids]


async def roles_by_user(ids: Iterable[int]) -> list[list[Role]]:
    ids = list(ids)
    links = await UserRole.filter(user_id__in=ids).order_by("role_id")
    roles = {r.id: r for r in await Role.filter(id__in=list({link.role_id for link in links}))}
    grouped: dict[int, list[Role]] = defaultdict(list)
    for link in links:
        grouped[link.user_id].append(roles[link.role_id])
    return [grouped[i] for i in ids]


async def role_permissions(ids: Iterable[int]) -> list[list[str]]:
    ids = list(ids)
    grouped: dict[int, list[str]] = defaultdict(list)
    for row in await RolePermission.filter(role_id__in=ids):
        grouped[row.role_id].append(row.permission)
    return [grouped[i] for i in ids]


async def extra_permissions(ids: Iterable[int]) -> list[list[str]]:
    ids = list(ids)
    grouped: dict[int, list[str]] = defaultdict(list)
    for row in await UserPermission.filter(user_id__in=ids):
        grouped[row.user_id].append(row.permission)
    return [grouped[i] for i in ids]


async def role_members(ids: Iterable[int]) -> list[list[User]]:
    """Deactivated users disappear from member lists."""
    ids = list(ids)
    links = await UserRole.filter(role_id__in=ids)
    users = {
        u.id: u
        for u in await User.filter(
            id__in=list({link.user_id for link in links}), status__in=[UserStatus.INVITED, UserStatus.ACTIVE]
        )
    }
    grouped: dict[int, list[User]] = defaultdict(list)
    for link in sorted(links, key=lambda link: link.user_id):
        if link.user_id in users:
            grouped[link.role_id].append(users[link.user_id])
    return [grouped[i] for i in ids]


async def patients(ids: Iterable[int]) -> list[Patient | None]:
    ids = list(ids)
    found = {p.id: p for p in await Patient.filter(id__in=ids)}
    return [found.get(i) for i in ids]


async def identifiers_by_patient(ids: Iterable[int]) -> list[list[tuple[IdentifierType, str]]]:
    ids = list(ids)
    rows = await PatientIdentifier.filter(patient_id__in=ids).select_related("identifier_type").order_by("id")
    grouped: dict[int, list[tuple[IdentifierType, str]]] = defaultdict(list)
    for row in rows:
        grouped[row.patient_id].append((row.identifier_type, row.value))
    return [grouped[i] for i in ids]


async def questionnaires_by_appointment(ids: Iterable[int]) -> list[list[Questionnaire]]:
    ids = list(ids)
    grouped: dict[int, list[Questionnaire]] = defaultdict(list)
    for row in await Questionnaire.filter(appointment_id__in=ids).order_by("id"):
        if row.appointment_id is not None:
            grouped[row.appointment_id].append(row)
    return [grouped[i] for i in ids]


async def license_changes(ids: Iterable[int]) -> list[list[LicenseChange]]:
    ids = list(ids)
    grouped: dict[int, list[LicenseChange]] = defaultdict(list)
    for row in await LicenseChange.filter(user_id__in=ids).order_by("-changed_at", "-id"):
        grouped[row.user_id].append(row)
    return [grouped[i] for i in ids]


async def consumers(ids: Iterable[int]) -> list[ApiConsumer | None]:
    ids = list(ids)
    found = {c.id: c for c in await ApiConsumer.filter(id__in=ids)}
    return [found.get(i) for i in ids]
