"""GraphQL only: thin types that call operations in `chrgraph.resolvers`."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.tools import merge_types

from chrgraph.schema import execution, reads
from chrgraph.schema.audit.types import AuditEvent
from chrgraph.schema.consumers.operations import ConsumersMutation, ConsumersQuery
from chrgraph.schema.consumers.types import ApiConsumer
from chrgraph.schema.deactivation.operations import DeactivationMutation, DeactivationQuery
from chrgraph.schema.licensing.operations import LicensingMutation, LicensingQuery
from chrgraph.schema.organizations.mutations import OrganizationMutation
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.patients.operations import PatientsMutation, PatientsQuery
from chrgraph.schema.patients.types import IdentifierType, Patient
from chrgraph.schema.portal.operations import PortalMutation, PortalQuery
from chrgraph.schema.query import Query as CoreQuery
from chrgraph.schema.scalars import SCALAR_OVERRIDES, guard_dates
from chrgraph.schema.scheduling import types as scheduling_types
from chrgraph.schema.scheduling.operations import SchedulingMutation, SchedulingQuery
from chrgraph.schema.users.mutations import UsersMutation
from chrgraph.schema.users.queries import UsersQuery
from chrgraph.schema.users.types import Role, User

Query = merge_types(
    "Query",
    (
        CoreQuery,
        UsersQuery,
        ConsumersQuery,
        PatientsQuery,
        SchedulingQuery,
        DeactivationQuery,
        PortalQuery,
        LicensingQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        UsersMutation,
        ConsumersMutation,
        OrganizationMutation,
        PatientsMutation,
        SchedulingMutation,
        DeactivationMutation,
        PortalMutation,
        LicensingMutation,
    ),
)

config = StrawberryConfig()
guard_dates(Query, Mutation, config.name_converter)  # before the schema reads the fields' extensions
schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    config=config,
    scalar_overrides=SCALAR_OVERRIDES,
    types=[
        Organization,
        ApiConsumer,
        AuditEvent,
        User,
        Role,
        Patient,
        IdentifierType,
        scheduling_types.Appointment,
        scheduling_types.Questionnaire,
        scheduling_types.InboxMessage,
        scheduling_types.LabIntegration,
        scheduling_types.MdBillingConnection,
    ],
)


def _fast_enum_output(enum_type: CustomGraphQLEnumType) -> None:
    """strawberry serializes an enum member by scanning every value and reading the
    `Enum.value` property each time; a list of 100 users' permissions spends ~20 % of its
    time there. Same answers from a map built once (docs/decisions.md)."""
    names = {value.value: name for name, value in enum_type.values.items()}
    slow = enum_type.coerce_output_value
    wrapped = enum_type.wrapped_cls

    def coerce_output_value(output_value):
        if isinstance(output_value, wrapped):
            name = names.get(output_value._value_)
            if name is not None:
                return name
        return slow(output_value)

    enum_type.coerce_output_value = coerce_output_value  # type: ignore[method-assign]  # the patch itself


for _type in schema._schema.type_map.values():
    if isinstance(_type, CustomGraphQLEnumType):
        _fast_enum_output(_type)

execution.install(schema)  # after the enum map: the fast paths keep each type's serializer
reads.install(schema)  # after the fast paths: it guards the resolvers they chose
