"""DataLoaders, one named class per thing loaded, fresh for each request (statements
per request do not grow with a list's length). A field reads them from its context:
`info.context.loaders.user_by_id.load(pk)`."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import Generic, TypeVar

from strawberry.dataloader import DataLoader

from chrgraph.db.compiled import ByIds
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
    User,
    UserPermission,
    UserRole,
    UserStatus,
)

K = TypeVar("K")
V = TypeVar("V")


class _Loader(DataLoader[K, V], Generic[K, V]):
    """A DataLoader whose batch function is its own `batch_load`."""

    def __init__(self) -> None:
        super().__init__(load_fn=self.batch_load)

    async def batch_load(self, ids: list[K]) -> list[V]:
        raise NotImplementedError


class ApiConsumerKeysByConsumerIdLoader(_Loader[int, list[ApiConsumerKey]]):
    async def batch_load(self, ids: list[int]) -> list[list[ApiConsumerKey]]:
        grouped: dict[int, list[ApiConsumerKey]] = defaultdict(list)
        for row in await ApiConsumerKey.filter(consumer_id__in=ids).order_by("id"):
            grouped[row.consumer_id].append(row)
        return [grouped[i] for i in ids]


_organizations_by_id = ByIds(Organization)


class OrganizationByIdLoader(_Loader[int, Organization | None]):
    async def batch_load(self, ids: list[int]) -> list[Organization | None]:
        found = {o.id: o for o in await _organizations_by_id.fetch(ids)}
        return [found.get(i) for i in ids]


class ApiConsumerByIdLoader(_Loader[int, ApiConsumer | None]):
    async def batch_load(self, ids: list[int]) -> list[ApiConsumer | None]:
        found = {c.id: c for c in await ApiConsumer.filter(id__in=ids)}
        return [found.get(i) for i in ids]


class UserByIdLoader(_Loader[int, User | None]):
    async def batch_load(self, ids: list[int]) -> list[User | None]:
        found = {u.id: u for u in await User.filter(id__in=ids)}
        return [found.get(i) for i in ids]


class RolesByUserIdLoader(_Loader[int, list[Role]]):
    async def batch_load(self, ids: list[int]) -> list[list[Role]]:
        links = await UserRole.filter(user_id__in=ids).order_by("role_id")
        roles = {r.id: r for r in await Role.filter(id__in=list({link.role_id for link in links}))}
        grouped: dict[int, list[Role]] = defaultdict(list)
        for link in links:
            grouped[link.user_id].append(roles[link.role_id])
        return [grouped[i] for i in ids]


class PermissionsByRoleIdLoader(_Loader[int, list[str]]):
    async def batch_load(self, ids: list[int]) -> list[list[str]]:
        grouped: dict[int, list[str]] = defaultdict(list)
        for row in await RolePermission.filter(role_id__in=ids):
            grouped[row.role_id].append(row.permission)
        return [grouped[i] for i in ids]


class ExtraPermissionsByUserIdLoader(_Loader[int, list[str]]):
    """The permissions granted to a user individually (beyond their roles)."""

    async def batch_load(self, ids: list[int]) -> list[list[str]]:
        grouped: dict[int, list[str]] = defaultdict(list)
        for row in await UserPermission.filter(user_id__in=ids):
            grouped[row.user_id].append(row.permission)
        return [grouped[i] for i in ids]


class MembersByRoleIdLoader(_Loader[int, list[User]]):
    """Deactivated users disappear from member lists."""

    async def batch_load(self, ids: list[int]) -> list[list[User]]:
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


class PatientByIdLoader(_Loader[int, Patient | None]):
    async def batch_load(self, ids: list[int]) -> list[Patient | None]:
        found = {p.id: p for p in await Patient.filter(id__in=ids)}
        return [found.get(i) for i in ids]


class IdentifiersByPatientIdLoader(_Loader[int, list[tuple[IdentifierType, str]]]):
    async def batch_load(self, ids: list[int]) -> list[list[tuple[IdentifierType, str]]]:
        rows = await PatientIdentifier.filter(patient_id__in=ids).select_related("identifier_type").order_by("id")
        grouped: dict[int, list[tuple[IdentifierType, str]]] = defaultdict(list)
        for row in rows:
            grouped[row.patient_id].append((row.identifier_type, row.value))
        return [grouped[i] for i in ids]


class QuestionnairesByAppointmentIdLoader(_Loader[int, list[Questionnaire]]):
    async def batch_load(self, ids: list[int]) -> list[list[Questionnaire]]:
        grouped: dict[int, list[Questionnaire]] = defaultdict(list)
        for row in await Questionnaire.filter(appointment_id__in=ids).order_by("id"):
            grouped[row.appointment_id].append(row)
        return [grouped[i] for i in ids]


class LicenseChangesByUserIdLoader(_Loader[int, list[LicenseChange]]):
    """Newest first."""

    async def batch_load(self, ids: list[int]) -> list[list[LicenseChange]]:
        grouped: dict[int, list[LicenseChange]] = defaultdict(list)
        for row in await LicenseChange.filter(user_id__in=ids).order_by("-changed_at", "-id"):
            grouped[row.user_id].append(row)
        return [grouped[i] for i in ids]


class Loaders:
    """The request's DataLoaders, each made on first use: most requests need one or two,
    and making all of them for every request was measurable (docs/performance.md)."""

    @cached_property
    def api_consumer_by_id(self) -> ApiConsumerByIdLoader:
        return ApiConsumerByIdLoader()

    @cached_property
    def api_consumer_keys_by_consumer_id(self) -> ApiConsumerKeysByConsumerIdLoader:
        return ApiConsumerKeysByConsumerIdLoader()

    @cached_property
    def extra_permissions_by_user_id(self) -> ExtraPermissionsByUserIdLoader:
        return ExtraPermissionsByUserIdLoader()

    @cached_property
    def identifiers_by_patient_id(self) -> IdentifiersByPatientIdLoader:
        return IdentifiersByPatientIdLoader()

    @cached_property
    def license_changes_by_user_id(self) -> LicenseChangesByUserIdLoader:
        return LicenseChangesByUserIdLoader()

    @cached_property
    def members_by_role_id(self) -> MembersByRoleIdLoader:
        return MembersByRoleIdLoader()

    @cached_property
    def organization_by_id(self) -> OrganizationByIdLoader:
        return OrganizationByIdLoader()

    @cached_property
    def patient_by_id(self) -> PatientByIdLoader:
        return PatientByIdLoader()

    @cached_property
    def permissions_by_role_id(self) -> PermissionsByRoleIdLoader:
        return PermissionsByRoleIdLoader()

    @cached_property
    def questionnaires_by_appointment_id(self) -> QuestionnairesByAppointmentIdLoader:
        return QuestionnairesByAppointmentIdLoader()

    @cached_property
    def roles_by_user_id(self) -> RolesByUserIdLoader:
        return RolesByUserIdLoader()

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader()


def make_loaders() -> Loaders:
    return Loaders()
