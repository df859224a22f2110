"""DataLoaders, one named class per thing loaded, fresh for each request (statements
per request do not grow with a list's length). A field reads them from its context:
`info.context.loaders.user_by_id.load(pk)`; the batch reads themselves are in
`chrgraph/resolvers/loaders.py` (no ORM query under `schema/`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Generic, TypeVar

from strawberry.dataloader import DataLoader

from chrgraph.resolvers import loaders as batches

if TYPE_CHECKING:  # the values' types, named in the classes' bases: the reads are the resolvers'
    from chrgraph.db.models import (  # noqa: F401
        ApiConsumer,
        ApiConsumerKey,
        IdentifierType,
        LicenseChange,
        Organization,
        Patient,
        Questionnaire,
        Role,
        User,
    )

K = TypeVar("K")
V = TypeVar("V")


class _Loader(DataLoader[K, V], Generic[K, V]):
    """A DataLoader whose batch function is the class's `read`."""

    read: Callable[[Iterable[K]], Awaitable[list[V]]]

    def __init__(self) -> None:
        super().__init__(load_fn=type(self).read)


class ApiConsumerKeysByConsumerIdLoader(_Loader[int, "list[ApiConsumerKey]"]):
    read = staticmethod(batches.keys_by_consumer)


class OrganizationByIdLoader(_Loader[int, "Organization | None"]):
    read = staticmethod(batches.organizations)


class ApiConsumerByIdLoader(_Loader[int, "ApiConsumer | None"]):
    read = staticmethod(batches.consumers)


class UserByIdLoader(_Loader[int, "User | None"]):
    read = staticmethod(batches.users)


class RolesByUserIdLoader(_Loader[int, "list[Role]"]):
    read = staticmethod(batches.roles_by_user)


class PermissionsByRoleIdLoader(_Loader[int, "list[str]"]):
    read = staticmethod(batches.role_permissions)


class ExtraPermissionsByUserIdLoader(_Loader[int, "list[str]"]):
    """The permissions granted to a user individually (beyond their roles)."""

    read = staticmethod(batches.extra_permissions)


class MembersByRoleIdLoader(_Loader[int, "list[User]"]):
    """Deactivated users disappear from member lists."""

    read = staticmethod(batches.role_members)


class PatientByIdLoader(_Loader[int, "Patient | None"]):
    read = staticmethod(batches.patients)


class IdentifiersByPatientIdLoader(_Loader[int, "list[tuple[IdentifierType, str]]"]):
    read = staticmethod(batches.identifiers_by_patient)


class QuestionnairesByAppointmentIdLoader(_Loader[int, "list[Questionnaire]"]):
    read = staticmethod(batches.questionnaires_by_appointment)


class LicenseChangesByUserIdLoader(_Loader[int, "list[LicenseChange]"]):
    """Newest first."""

    read = staticmethod(batches.license_changes)


class SecondFactorEnabledByUserIdLoader(_Loader[int, bool]):
    read = staticmethod(batches.second_factor_enabled)


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
    def second_factor_enabled_by_user_id(self) -> SecondFactorEnabledByUserIdLoader:
        return SecondFactorEnabledByUserIdLoader()

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
