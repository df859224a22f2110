"""Licensing through GraphQL."""

from __future__ import annotations

import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.db.models import LicenseUpgradeRequest as RequestModel
from chrgraph.db.models import UpgradeRequestStatus as DomainRequestStatus
from chrgraph.resolvers.errors import OperationFailed
from chrgraph.resolvers.licensing import operations as ops
from chrgraph.resolvers.licensing import queries
from chrgraph.resolvers.licensing.billing import billing_statement
from chrgraph.resolvers.licensing.catalog import CATALOG
from chrgraph.resolvers.licensing.catalog import Feature as DomainFeature
from chrgraph.resolvers.licensing.mapping import Proposal, run_license_mapping, unmapped_users
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.errors import UserError, bad_user_input
from chrgraph.schema.nodes import register_node
from chrgraph.schema.payloads import perform, public_id, refers_to
from chrgraph.schema.permissions import (
    Authenticated,
    CanEditOtherUsers,
    CanUpgradeOwnLicense,
    CanViewBilling,
    CanViewUser,
    UserSession,
)
from chrgraph.schema.users.types import Classification, License, User, UserType

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainFeature, description="A product feature a license may include.")
Feature = DomainFeature
strawberry.enum(DomainRequestStatus, description="Where a request stands.")
UpgradeRequestStatus = DomainRequestStatus
describe_values(
    Feature,
    {
        Feature.SCHEDULING: "Appointments and calendars (every license).",
        Feature.RECORD_KEEPING: "Patient records (every license).",
        Feature.QUESTIONNAIRES: "Questionnaires sent to patients (every license).",
        Feature.PATIENT_MESSAGING: "Messages with patients (every license).",
        Feature.EBOOKING: "Online booking by patients (every license).",
        Feature.APPOINTMENT_REMINDERS: "Reminders sent before appointments (every license).",
        Feature.ADVANCED_ANALYTICS: "The clinic's analytics (every license).",
        Feature.CONNECT_APP: "The Connect app (every practitioner license).",
        Feature.VIRTUAL_CARE: "Virtual visits (CHR_LITE_VV, CHR_PLUS, LOCUM).",
        Feature.LABS: "Lab orders and results (CHR_PLUS, LOCUM, CLINICAL_TRAINEE).",
        Feature.PRESCRIPTIONS: "Prescriptions (CHR_PLUS, LOCUM, CLINICAL_TRAINEE).",
        Feature.PROVINCIAL_BILLING: "Billing the province (CHR_PLUS, LOCUM; never a clinical trainee).",
    },
)
describe_values(
    UpgradeRequestStatus,
    {
        UpgradeRequestStatus.PENDING: "Waiting for a holder of EDIT_OTHER_USERS to decide.",
        UpgradeRequestStatus.APPROVED: "Approved: the license was changed.",
        UpgradeRequestStatus.DECLINED: "Declined: nothing changed.",
    },
)


@strawberry.type(description="One row of the license table.")
class LicenseInfo:
    license: License = strawberry.field(description="The license.")
    user_type: UserType = strawberry.field(description="The user type it fits.")
    classification: Classification | None = strawberry.field(description="The classification it fits.")
    rank: int = strawberry.field(description="Higher ranks are higher tiers.")
    features: list[Feature] = strawberry.field(description="What it includes.")
    display_name: str = strawberry.field(description='Its name as the clinic\'s screens show it ("CHR Lite + VV").')
    description: str = strawberry.field(description="What it is, in one line.")


@strawberry.type(description="Whether a user's license includes a feature, and if not, how to get it.")
class FeatureAccess:
    user: User | None = strawberry.field(description="The user (null without VIEW_USERS, unless yourself).")
    feature: Feature = strawberry.field(description="The feature.")
    license: License | None = strawberry.field(description="The license access uses now.")
    included: bool = strawberry.field(description="Whether the user may use the feature now.")
    lowest_license: License | None = strawberry.field(description="The lowest-ranked fitting license that has it.")
    can_upgrade_self: bool = strawberry.field(description="Holds UPGRADE_TYPE_CLASSIFICATION: upgradeOwnLicense.")
    must_request: bool = strawberry.field(description="Must ask with requestLicenseUpgrade.")


@strawberry.type(description="A mapping proposal or an automatic license awaiting review.")
class UnmappedUser:
    user: User | None = strawberry.field(description="The user (null without VIEW_USERS).")
    reason: str = strawberry.field(description="Why an admin must decide.")
    proposed_license: License | None = strawberry.field(description="What the rules propose.")
    confidence: float | None = strawberry.field(description="0 to 1.")
    evidence: list[str] = strawberry.field(description="The facts the rules read (name=value).")


def _unmapped(p: Proposal) -> UnmappedUser:
    return UnmappedUser(
        user=User.from_model(p.user),
        reason=p.reason,
        proposed_license=p.license,
        confidence=p.confidence,
        evidence=[f"{k}={v}" for k, v in sorted(p.evidence.items())],
    )


@strawberry.type(description="A user's request for a higher license.")
class LicenseUpgradeRequest(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    user_id: strawberry.Private[int]
    requested_license: License = strawberry.field(description="What was asked for.")
    reason: str | None = strawberry.field(description="Why.")
    status: UpgradeRequestStatus = strawberry.field(description="Pending, approved or declined.")
    created_at: datetime.datetime = strawberry.field(description="When asked.")
    decided_at: datetime.datetime | None = strawberry.field(description="When decided.")
    decision_reason: str | None = strawberry.field(description="The decider's note.")

    @strawberry.field(description="Who asked.")
    async def user(self, info: strawberry.Info) -> User | None:
        row = await info.context.loaders.user_by_id.load(self.user_id)
        return User.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: RequestModel) -> LicenseUpgradeRequest:
        return cls(
            id=row.id,
            public_id=row.public_id,
            user_id=row.user_id,
            requested_license=row.requested_license,
            reason=row.reason,
            status=row.status,
            created_at=row.created_at,
            decided_at=row.decided_at,
            decision_reason=row.decision_reason,
        )


@strawberry.type(description="One license's line of a billing statement.")
class BillingLine:
    license: License | None = strawberry.field(description="The license; null is the UNLICENSED line.")
    label: str = strawberry.field(description="The license name, or UNLICENSED.")
    billed: bool = strawberry.field(description="UNLICENSED users are listed, never billed.")
    count: int = strawberry.field(description="How many users.")
    users: list[User] | None = strawberry.field(description="Who (null without VIEW_USERS).")


@strawberry.type(description="The next month's statement as pending changes make it.")
class BillingStatementForecast:
    month: str = strawberry.field(description="YYYY-MM.")
    lines: list[BillingLine] = strawberry.field(
        description="One per license, then UNLICENSED; none when not under license management."
    )
    billed_total: int = strawberry.field(description="Billed users.")
    under_license_management: bool = strawberry.field(
        description="False for a CUSTOM contract: nothing is billed per license and there are no lines."
    )


@strawberry.type(description="What a month costs, per license.")
class BillingStatement:
    month: str = strawberry.field(description="YYYY-MM.")
    lines: list[BillingLine] = strawberry.field(
        description="One per license, then UNLICENSED; none when not under license management."
    )
    billed_total: int = strawberry.field(description="Billed users of the month.")
    under_license_management: bool = strawberry.field(
        description="False for a CUSTOM contract: nothing is billed per license and there are no lines."
    )
    forecast: BillingStatementForecast = strawberry.field(description="The next month from what is known now.")


def _lines(statement) -> list[BillingLine]:
    return [
        BillingLine(
            license=line.license,
            label=line.license.value if line.license else "UNLICENSED",
            billed=line.billed,
            count=line.count,
            users=[User.from_model(u) for u in line.users],
        )
        for line in statement.lines
    ]


@strawberry.input(
    description=(
        "Set a user's license, dated: billing uses it from the first day of the next month, access "
        "at once for an upgrade and from that day for a downgrade. Marks the user reviewed."
    )
)
class SetUserLicenseInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))
    license: License = strawberry.field(description="Must fit type and classification.")


@strawberry.type(description="The result of setUserLicense.")
class SetUserLicensePayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Cancel a pending (not yet effective) license change.")
class CancelPendingLicenseChangeInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))


@strawberry.type(description="The result of cancelPendingLicenseChange.")
class CancelPendingLicenseChangePayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Run the license mapping rules.")
class RunLicenseMappingInput:
    dry_run: bool = strawberry.field(default=True, description="Only propose; apply nothing.")


@strawberry.type(description="The result of runLicenseMapping.")
class RunLicenseMappingPayload:
    applied: list[UnmappedUser] = strawberry.field(
        default_factory=list, description="Proposals at or above the threshold."
    )
    unmapped: list[UnmappedUser] = strawberry.field(default_factory=list, description="Proposals below it.")
    threshold: float = strawberry.field(default=0.0, description="The confidence threshold.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Upgrade your own license.")
class UpgradeOwnLicenseInput:
    license: License = strawberry.field(description="A higher-ranked license that fits you.")


@strawberry.type(description="The result of upgradeOwnLicense.")
class UpgradeOwnLicensePayload:
    user: User | None = strawberry.field(description="You.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Ask for a higher license; everyone who may decide is mailed.")
class RequestLicenseUpgradeInput:
    license: License = strawberry.field(
        description="What you need: a license that fits you, ranked higher than the one you have."
    )
    reason: str | None = strawberry.field(default=None, description="Why.")


@strawberry.type(description="The result of requestLicenseUpgrade.")
class RequestLicenseUpgradePayload:
    request: LicenseUpgradeRequest | None = strawberry.field(description="The request.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Approve a license upgrade request.")
class ApproveLicenseUpgradeRequestInput:
    request_id: relay.GlobalID = strawberry.field(
        description="The request.", metadata=refers_to("LicenseUpgradeRequest")
    )


@strawberry.type(description="The result of approveLicenseUpgradeRequest.")
class ApproveLicenseUpgradeRequestPayload:
    request: LicenseUpgradeRequest | None = strawberry.field(description="The request.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Decline a license upgrade request.")
class DeclineLicenseUpgradeRequestInput:
    request_id: relay.GlobalID = strawberry.field(
        description="The request.", metadata=refers_to("LicenseUpgradeRequest")
    )
    reason: str | None = strawberry.field(default=None, description="Why.")


@strawberry.type(description="The result of declineLicenseUpgradeRequest.")
class DeclineLicenseUpgradeRequestPayload:
    request: LicenseUpgradeRequest | None = strawberry.field(description="The request.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.type
class LicensingQuery:
    @strawberry.field(
        description="The license table: each license, the user type and classification it fits, rank, features.",
        permission_classes=[Authenticated],
    )
    def license_catalog(self) -> list[LicenseInfo]:
        return [
            LicenseInfo(
                license=i.license,
                user_type=i.user_type,
                classification=i.classification,
                rank=i.rank,
                features=sorted(i.features, key=list(DomainFeature).index),
                display_name=i.display_name,
                description=i.description,
            )
            for i in CATALOG.values()
        ]

    @strawberry.field(description="Whether a user's license includes a feature.", permission_classes=[CanViewUser])
    async def feature_access(
        self,
        info: strawberry.Info,
        user_id: Annotated[relay.GlobalID, strawberry.argument(description="The user asked about.")],
        feature: Annotated[Feature, strawberry.argument(description="The feature asked about.")],
    ) -> FeatureAccess | None:
        try:
            result = await ops.feature_access(info.context.actor, public_id(user_id, "User", "userId"), feature)
        except OperationFailed:
            return None
        return FeatureAccess(
            user=User.from_model(result.user),
            feature=result.feature,
            license=result.license,
            included=result.included,
            lowest_license=result.lowest_license,
            can_upgrade_self=result.can_upgrade_self,
            must_request=result.must_request,
        )

    @strawberry.field(
        description="Users an admin must decide a license for (the banner); always empty for an organization "
        "not under license management (CUSTOM contract).",
        permission_classes=[CanEditOtherUsers],
    )
    async def unmapped_users(self, info: strawberry.Info) -> list[UnmappedUser] | None:
        return [_unmapped(p) for p in await unmapped_users(info.context.actor)]

    @strawberry.field(description="License upgrade requests, newest first.", permission_classes=[CanEditOtherUsers])
    async def license_upgrade_requests(
        self,
        info: strawberry.Info,
        status: Annotated[
            UpgradeRequestStatus | None,
            strawberry.argument(description="Only requests in this status (all when left out)."),
        ] = None,
    ) -> list[LicenseUpgradeRequest] | None:
        rows = await queries.license_upgrade_requests(info.context.data, status)
        return [LicenseUpgradeRequest.from_model(r) for r in rows]

    @strawberry.field(
        description="Billed users per license for a month (YYYY-MM), with a forecast.",
        permission_classes=[CanViewBilling],
    )
    async def billing_statement(
        self,
        info: strawberry.Info,
        month: Annotated[
            str,
            strawberry.argument(
                description="The calendar month, YYYY-MM (for example 2027-01); anything else is BAD_USER_INPUT."
            ),
        ],
    ) -> BillingStatement | None:
        try:
            statement, forecast = await billing_statement(info.context.actor, month)
        except OperationFailed as exc:
            raise bad_user_input(f"`month`: {exc.errors[0].message}") from exc
        return BillingStatement(
            month=statement.month,
            lines=_lines(statement),
            billed_total=statement.billed_total,
            under_license_management=statement.under_license_management,
            forecast=BillingStatementForecast(
                month=forecast.month,
                lines=_lines(forecast),
                billed_total=forecast.billed_total,
                under_license_management=forecast.under_license_management,
            ),
        )


@strawberry.type
class LicensingMutation:
    @strawberry.mutation(description="Set a user's license.", permission_classes=[CanEditOtherUsers])
    async def set_user_license(self, info: strawberry.Info, input: SetUserLicenseInput) -> SetUserLicensePayload | None:
        operation = partial(ops.set_user_license, info.context.actor)
        return await perform(SetUserLicensePayload, operation, input, user=User.from_model)

    @strawberry.mutation(description="Cancel a pending license change.", permission_classes=[CanEditOtherUsers])
    async def cancel_pending_license_change(
        self, info: strawberry.Info, input: CancelPendingLicenseChangeInput
    ) -> CancelPendingLicenseChangePayload | None:
        operation = partial(ops.cancel_pending_license_change, info.context.actor)
        return await perform(CancelPendingLicenseChangePayload, operation, input, user=User.from_model)

    @strawberry.mutation(
        description="Propose (and unless dryRun apply) licenses for unlicensed users.",
        permission_classes=[CanEditOtherUsers],
    )
    async def run_license_mapping(
        self, info: strawberry.Info, input: RunLicenseMappingInput
    ) -> RunLicenseMappingPayload | None:
        return await perform(
            RunLicenseMappingPayload,
            partial(run_license_mapping, info.context.actor),
            input,
            applied=lambda result: [_unmapped(p) for p in result.applied],
            unmapped=lambda result: [_unmapped(p) for p in result.unmapped],
            threshold=lambda result: result.threshold,
        )

    @strawberry.mutation(description="Upgrade your own license.", permission_classes=[CanUpgradeOwnLicense])
    async def upgrade_own_license(
        self, info: strawberry.Info, input: UpgradeOwnLicenseInput
    ) -> UpgradeOwnLicensePayload | None:
        operation = partial(ops.upgrade_own_license, info.context.actor)
        return await perform(UpgradeOwnLicensePayload, operation, input, user=User.from_model)

    @strawberry.mutation(description="Ask for a higher license.", permission_classes=[UserSession])
    async def request_license_upgrade(
        self, info: strawberry.Info, input: RequestLicenseUpgradeInput
    ) -> RequestLicenseUpgradePayload | None:
        operation = partial(ops.request_license_upgrade, info.context.actor)
        return await perform(RequestLicenseUpgradePayload, operation, input, request=LicenseUpgradeRequest.from_model)

    @strawberry.mutation(description="Approve a license upgrade request.", permission_classes=[CanEditOtherUsers])
    async def approve_license_upgrade_request(
        self, info: strawberry.Info, input: ApproveLicenseUpgradeRequestInput
    ) -> ApproveLicenseUpgradeRequestPayload | None:
        operation = partial(ops.decide_license_upgrade, info.context.actor, approve=True)
        return await perform(
            ApproveLicenseUpgradeRequestPayload, operation, input, request=LicenseUpgradeRequest.from_model
        )

    @strawberry.mutation(description="Decline a license upgrade request.", permission_classes=[CanEditOtherUsers])
    async def decline_license_upgrade_request(
        self, info: strawberry.Info, input: DeclineLicenseUpgradeRequestInput
    ) -> DeclineLicenseUpgradeRequestPayload | None:
        operation = partial(ops.decide_license_upgrade, info.context.actor, approve=False)
        return await perform(
            DeclineLicenseUpgradeRequestPayload, operation, input, request=LicenseUpgradeRequest.from_model
        )


async def _request_node(ctx, public_id: str):
    row = await queries.license_upgrade_request(ctx.data, public_id)
    return LicenseUpgradeRequest.from_model(row) if row else None


register_node("LicenseUpgradeRequest", _request_node, CanEditOtherUsers)
