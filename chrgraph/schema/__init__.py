"""GraphQL only: thin types that call operations in `chrgraph.resolvers`."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from chrgraph.schema import reads
from chrgraph.schema.audit.types import AuditEvent
from chrgraph.schema.consumers.operations import ConsumersMutation, ConsumersQuery
from chrgraph.schema.consumers.types import ApiConsumer
from chrgraph.schema.deactivation.handover import HandoverMutation
from chrgraph.schema.deactivation.operations import DeactivationMutation, DeactivationQuery
from chrgraph.schema.deactivation.report import HandoverReportQuery
from chrgraph.schema.licensing.operations import LicensingMutation, LicensingQuery
from chrgraph.schema.organizations.mutations import OrganizationMutation
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.patients.operations import PatientsMutation, PatientsQuery
from chrgraph.schema.patients.types import IdentifierType, Patient
from chrgraph.schema.payloads import describe_inputs
from chrgraph.schema.portal.operations import PortalMutation, PortalQuery
from chrgraph.schema.query import Query as CoreQuery
from chrgraph.schema.scalars import SCALAR_OVERRIDES, guard_dates
from chrgraph.schema.scheduling import types as scheduling_types
from chrgraph.schema.scheduling.hours import HoursMutation, HoursQuery
from chrgraph.schema.scheduling.operations import SchedulingMutation, SchedulingQuery
from chrgraph.schema.users.account import AccountMutation, AccountQuery
from chrgraph.schema.users.mutations import UsersMutation
from chrgraph.schema.users.queries import UsersQuery
from chrgraph.schema.users.two_factor import TwoFactorMutation
from chrgraph.schema.users.types import Role, User
from chrgraph.schema.webhooks.operations import WebhooksMutation, WebhooksQuery
from chrgraph.schema.webhooks.types import WebhookDelivery, WebhookSubscription

Query = merge_types(
    "Query",
    (
        CoreQuery,
        UsersQuery,
        AccountQuery,
        ConsumersQuery,
        PatientsQuery,
        SchedulingQuery,
        HoursQuery,
        DeactivationQuery,
        HandoverReportQuery,
        PortalQuery,
        LicensingQuery,
        WebhooksQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        UsersMutation,
        AccountMutation,
        TwoFactorMutation,
        ConsumersMutation,
        OrganizationMutation,
        PatientsMutation,
        SchedulingMutation,
        HoursMutation,
        DeactivationMutation,
        HandoverMutation,
        PortalMutation,
        LicensingMutation,
        WebhooksMutation,
    ),
)

Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "What can be read. Each field says who may read it; a field the caller may not read is null with a "
    "FORBIDDEN error at its path, the rest of the answer intact."
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "What can be changed. Each mutation takes one `input` and returns a payload with the changed objects "
    "and `errors`: a business rule that refuses the input is an `errors` entry, and then nothing was written."
)
describe_inputs(Mutation)

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
        WebhookSubscription,
        WebhookDelivery,
    ],
)

reads.install(schema)  # every relation guarded by its target type's read rule
