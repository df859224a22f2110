from __future__ import annotations

import datetime

import strawberry
from strawberry import relay

from chrgraph.db.models import Contract as DomainContract
from chrgraph.db.models import Organization as OrganizationModel
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.users.types import User

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainContract, description="How the clinic is billed.")
Contract = DomainContract
describe_values(
    Contract,
    {
        Contract.STANDARD: "Billed per user license: licenses are required, mapped and enforced.",
        Contract.CUSTOM: "A negotiated contract: no license management, and billing statements have no lines.",
    },
)


@strawberry.type(description="How the organization's users sign in and how long an unused session lasts.")
class SecurityPolicy:
    require_two_factor: bool = strawberry.field(
        description=(
            "Whether every user must have a second factor (an authenticator app); set by the owner or "
            "the support account with updateSecurityPolicy."
        )
    )
    session_idle_timeout_minutes: int | None = strawberry.field(
        description=(
            "Minutes after which a session that sent no request ends (5 to 1440; null: no idle timeout, a "
            "session lasts until it expires). Measured to the minute."
        )
    )


@strawberry.type(description="One clinic account (a CHR domain).")
class Organization(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    owner_user_id: strawberry.Private[int | None]
    require_two_factor: strawberry.Private[bool]
    session_idle_timeout_minutes: strawberry.Private[int | None]
    name: str = strawberry.field(description="Display name.")
    domain: str = strawberry.field(description="Unique slug of the CHR domain.")
    contract: Contract = strawberry.field(description="STANDARD contracts are under license management.")
    province: str = strawberry.field(description="Two-letter province or territory code.")
    time_zone: str = strawberry.field(description="IANA time zone for calendar rules.")
    enterprise_api_enabled: bool = strawberry.field(description="Whether API consumers are accepted.")
    stripe_connected: bool = strawberry.field(description="Whether Stripe is connected.")
    portal_enabled: bool = strawberry.field(description="Whether the patient portal exists.")
    license_enforcement_date: datetime.date = strawberry.field(
        description="From this date unlicensed users get a license automatically."
    )

    @strawberry.field(description="The user who owns the organization (null without VIEW_USERS, unless it is you).")
    async def owner(self, info: strawberry.Info) -> User | None:
        if self.owner_user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.owner_user_id)
        return User.from_model(row) if row else None

    @strawberry.field(description="The organization's security policy (readable by everyone in it).")
    def security_policy(self) -> SecurityPolicy:
        return SecurityPolicy(
            require_two_factor=self.require_two_factor, session_idle_timeout_minutes=self.session_idle_timeout_minutes
        )

    @classmethod
    def from_model(cls, org: OrganizationModel) -> Organization:
        return cls(
            id=org.id,
            public_id=org.public_id,
            owner_user_id=org.owner_user_id,
            require_two_factor=org.require_two_factor,
            session_idle_timeout_minutes=org.session_idle_timeout_minutes,
            name=org.name,
            domain=org.domain,
            contract=org.contract,
            province=org.province,
            time_zone=org.time_zone,
            enterprise_api_enabled=org.enterprise_api_enabled,
            stripe_connected=org.stripe_connected,
            portal_enabled=org.portal_enabled,
            license_enforcement_date=org.license_enforcement_date,
        )
