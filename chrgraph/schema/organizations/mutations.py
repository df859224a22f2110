"""updateOrganization: the support account only."""

from __future__ import annotations

import datetime
from functools import partial

import strawberry

from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.schema.errors import UserError
from chrgraph.schema.organizations.types import Contract, Organization
from chrgraph.schema.payloads import perform
from chrgraph.schema.permissions import CanManageApiConsumers


@strawberry.input(description="Change organization settings; omitted fields stay.")
class UpdateOrganizationInput:
    name: str | None = strawberry.field(default=None, description="Display name.")
    domain: str | None = strawberry.field(
        default=None,
        description="The clinic's unique slug (a-z, 0-9, -), as the command line names it. Errors: INVALID_INPUT, "
        "DOMAIN_TAKEN.",
    )
    contract: Contract | None = strawberry.field(default=None, description="STANDARD or CUSTOM.")
    province: str | None = strawberry.field(default=None, description="Two-letter code.")
    time_zone: str | None = strawberry.field(default=None, description="IANA time zone.")
    enterprise_api_enabled: bool | None = strawberry.field(default=None, description="Accept API consumers.")
    stripe_connected: bool | None = strawberry.field(
        default=None, description="Stripe is connected; false also turns the portal's billing off."
    )
    license_enforcement_date: datetime.date | None = strawberry.field(
        default=None, description="From this date, users still without a license get the highest one that fits."
    )


@strawberry.type(description="The result of updateOrganization.")
class UpdateOrganizationPayload:
    organization: Organization | None = strawberry.field(description="The organization.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.type
class OrganizationMutation:
    @strawberry.mutation(description="Change the organization's settings.", permission_classes=[CanManageApiConsumers])
    async def update_organization(
        self, info: strawberry.Info, input: UpdateOrganizationInput
    ) -> UpdateOrganizationPayload | None:
        operation = partial(update_organization, info.context.actor)
        return await perform(UpdateOrganizationPayload, operation, input, organization=Organization.from_model)
