"""`handoverReport(userId)`: where a user's work went, from the audit events
(EDIT_OTHER_USERS)."""

from __future__ import annotations

import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.db.public_ids import global_id
from chrgraph.resolvers.deactivation import handover_report as ops
from chrgraph.resolvers.errors import OperationFailed
from chrgraph.schema.audit.types import ActorKind
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.payloads import public_id
from chrgraph.schema.permissions import CanEditOtherUsers

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below is what type checkers read as a type.
strawberry.enum(ops.HandoverOutcome, description="What became of an item of a user's work.")
HandoverOutcome = ops.HandoverOutcome
describe_values(
    HandoverOutcome,
    {
        HandoverOutcome.MOVED: "An appointment or questionnaire given to another practitioner.",
        HandoverOutcome.CANCELLED: "An appointment cancelled.",
        HandoverOutcome.REMOVED: "A questionnaire removed.",
        HandoverOutcome.FORWARDED: "An inbox message forwarded to another user.",
        HandoverOutcome.HIDDEN: "An inbox message left with the user and hidden from its inbox.",
        HandoverOutcome.TRANSFERRED: "A lab integration given to a successor.",
        HandoverOutcome.DISCONNECTED: "An MDBilling connection disconnected.",
    },
)


def _event_id(public: str) -> strawberry.ID:
    return strawberry.ID(global_id("AuditEvent", public))


@strawberry.type(description="One item of a user's work handed over: what became of it, where, when, by whom.")
class HandedOverItem:
    outcome: HandoverOutcome = strawberry.field(description="Moved, cancelled, removed, forwarded, hidden…")
    item_id: strawberry.ID = strawberry.field(
        description="Global id of the appointment, questionnaire, message, lab integration or connection."
    )
    to_user_id: strawberry.ID | None = strawberry.field(description="Global id of the user who received it, if any.")
    at: datetime.datetime = strawberry.field(description="When (UTC).")
    actor_kind: ActorKind = strawberry.field(description="Who did it: consumer, user, support or system.")
    actor_id: strawberry.ID | None = strawberry.field(description="Global id of the consumer or user who did it.")
    audit_event_id: strawberry.ID = strawberry.field(description="The audit event that records it.")

    @classmethod
    def from_domain(cls, item: ops.HandedOver) -> HandedOverItem:
        return cls(
            outcome=item.outcome,
            item_id=strawberry.ID(item.item_id),
            to_user_id=strawberry.ID(item.to_user_id) if item.to_user_id else None,
            at=item.at,
            actor_kind=item.actor_kind,
            actor_id=strawberry.ID(item.actor_id) if item.actor_id else None,
            audit_event_id=_event_id(item.audit_event_id),
        )


@strawberry.type(description="One deactivation of the user and what it handed over.")
class DeactivationHandover:
    audit_event_id: strawberry.ID = strawberry.field(description="The deactivation's audit event.")
    deactivated_at: datetime.datetime = strawberry.field(description="When (UTC).")
    actor_kind: ActorKind = strawberry.field(description="Who deactivated the user: its kind.")
    actor_id: strawberry.ID | None = strawberry.field(description="Global id of who deactivated the user.")
    reactivated_at: datetime.datetime | None = strawberry.field(
        description="When the user was reactivated afterwards, if it was."
    )
    items: list[HandedOverItem] = strawberry.field(description="Each item, with where it went.")


@strawberry.type(description="Where a user's work went, from the audit events (it survives reactivation).")
class HandoverReport:
    user_id: strawberry.ID = strawberry.field(description="Global id of the user.")
    deactivations: list[DeactivationHandover] = strawberry.field(description="Each deactivation, oldest first.")
    handed_over_ahead: list[HandedOverItem] = strawberry.field(
        description="Messages forwarded and lab integrations transferred away from the user outside a "
        "deactivation (transferLabIntegration, forwardInboxMessages), oldest first."
    )

    @classmethod
    def from_domain(cls, report: ops.HandoverReport) -> HandoverReport:
        return cls(
            user_id=strawberry.ID(report.user_id),
            deactivations=[
                DeactivationHandover(
                    audit_event_id=_event_id(d.audit_event_id),
                    deactivated_at=d.deactivated_at,
                    actor_kind=d.actor_kind,
                    actor_id=strawberry.ID(d.actor_id) if d.actor_id else None,
                    reactivated_at=d.reactivated_at,
                    items=[HandedOverItem.from_domain(item) for item in d.items],
                )
                for d in report.deactivations
            ],
            handed_over_ahead=[HandedOverItem.from_domain(item) for item in report.ahead],
        )


@strawberry.type
class HandoverReportQuery:
    @strawberry.field(
        description="Where the user's work went at each of its deactivations (and what was handed over "
        "ahead of one): each moved, cancelled, removed, forwarded, hidden, transferred and disconnected "
        "item, where it went, when and by whom. Null for a user not of the organization.",
        permission_classes=[CanEditOtherUsers],
    )
    async def handover_report(
        self,
        info: strawberry.Info,
        user_id: Annotated[relay.GlobalID, strawberry.argument(description="The user whose work is traced.")],
    ) -> HandoverReport | None:
        try:
            report = await ops.handover_report(info.context.actor, public_id(user_id, "User", "userId"))
        except OperationFailed:
            return None  # another organization's id is like one that does not exist
        return HandoverReport.from_domain(report)
