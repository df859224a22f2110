"""Deactivation and reactivation through GraphQL (EDIT_OTHER_USERS)."""

from __future__ import annotations

from enum import Enum
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.resolvers.deactivation import deactivate_user as ops
from chrgraph.resolvers.errors import OperationFailed
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.errors import UserError
from chrgraph.schema.payloads import perform, public_id, refers_to
from chrgraph.schema.permissions import CanEditOtherUsers
from chrgraph.schema.relay import Connection, Edge, PageInfo, encode_cursor
from chrgraph.schema.scheduling.types import (
    Appointment,
    InboxMessage,
    LabIntegration,
    MdBillingConnection,
    Questionnaire,
)
from chrgraph.schema.secrets import Secret
from chrgraph.schema.users.types import User


def _all(items: list, convert) -> Connection:
    edges = [Edge(cursor=encode_cursor((), (), item.public_id), node=convert(item)) for item in items]
    return Connection(
        edges=edges,
        total_count=len(items),
        page_info=PageInfo(
            has_next_page=False,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@strawberry.type(description="What deactivating a user affects (the Member Deactivation window).")
class DeactivationPreview:
    user: User | None = strawberry.field(description="The user (null without VIEW_USERS).")
    future_appointments: Connection[Appointment] | None = strawberry.field(
        description="Starting after now (null without MANAGE_SCHEDULE)."
    )
    recurring_questionnaires: Connection[Questionnaire] | None = strawberry.field(
        description="Recurring scheduled (null without MANAGE_SCHEDULE)."
    )
    sent_questionnaires: Connection[Questionnaire] | None = strawberry.field(
        description="Sent, still active (null without MANAGE_SCHEDULE)."
    )
    inbox_messages: Connection[InboxMessage] | None = strawberry.field(
        description="Visible messages, snoozed included (null without MANAGE_SCHEDULE)."
    )
    lab_integrations: Connection[LabIntegration] | None = strawberry.field(
        description="Backed by the user, main first (null without MANAGE_SCHEDULE)."
    )
    md_billing_connection: MdBillingConnection | None = strawberry.field(
        description="Its MDBilling connection (null without MANAGE_SCHEDULE)."
    )


@strawberry.enum(description="What happens to a kind of work.")
class HandoverAction(Enum):
    MOVE = "MOVE"
    CANCEL = "CANCEL"


describe_values(
    HandoverAction,
    {
        HandoverAction.MOVE: "Give the work to the practitioner named in `toPractitionerId` (who must be bookable).",
        HandoverAction.CANCEL: "Cancel (appointments) or remove (questionnaires) the work.",
    },
)


@strawberry.input(description="MOVE to an active practitioner, or CANCEL (the default).")
class HandoverInput:
    action: HandoverAction = strawberry.field(default=HandoverAction.CANCEL, description="MOVE or CANCEL.")
    to_practitioner_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The active practitioner who takes the work (required with MOVE, ignored with CANCEL).",
        metadata=refers_to("User"),
    )


@strawberry.input(description="Who takes over a lab integration.")
class LabIntegrationSuccessorInput:
    lab_integration_id: relay.GlobalID = strawberry.field(
        description="A lab integration the user backs.", metadata=refers_to("LabIntegration")
    )
    user_id: relay.GlobalID = strawberry.field(
        description="The active user who backs it from now on.", metadata=refers_to("User")
    )


@strawberry.input(description="Deactivate a user and hand over its work.")
class DeactivateUserInput:
    user_id: relay.GlobalID = strawberry.field(
        description="The user (never yourself, never the owner).", metadata=refers_to("User")
    )
    appointments: HandoverInput | None = strawberry.field(
        default=None, description="What becomes of the user's future appointments (left out: CANCEL)."
    )
    recurring_questionnaires: HandoverInput | None = strawberry.field(
        default=None,
        description="What becomes of the user's recurring questionnaires (left out: CANCEL, i.e. removed).",
    )
    sent_questionnaires: HandoverInput | None = strawberry.field(
        default=None, description="What becomes of the questionnaires the user sent (left out: CANCEL, i.e. removed)."
    )
    forward_inbox_to_user_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Who receives the inbox; without it messages are hidden.",
        metadata=refers_to("User"),
    )
    lab_integration_successors: list[LabIntegrationSuccessorInput] | None = strawberry.field(
        default=None, description="One per lab integration the user backs."
    )
    password: str | None = strawberry.field(
        directives=[Secret()], default=None, description="Sessions re-enter their password."
    )


@strawberry.type(description="What deactivation did.")
class DeactivationReport:
    moved_appointment_ids: list[relay.GlobalID] = strawberry.field(description="Moved appointments.")
    cancelled_appointment_ids: list[relay.GlobalID] = strawberry.field(description="Cancelled appointments.")
    moved_questionnaire_ids: list[relay.GlobalID] = strawberry.field(description="Moved questionnaires.")
    removed_questionnaire_ids: list[relay.GlobalID] = strawberry.field(description="Removed questionnaires.")
    forwarded_message_ids: list[relay.GlobalID] = strawberry.field(description="Forwarded inbox messages.")
    hidden_message_ids: list[relay.GlobalID] = strawberry.field(description="Hidden inbox messages.")
    transferred_lab_integration_ids: list[relay.GlobalID] = strawberry.field(description="Handed to successors.")
    disconnected_md_billing_ids: list[relay.GlobalID] = strawberry.field(
        description="The MDBilling connections that were disconnected."
    )


@strawberry.type(description="The result of deactivateUser.")
class DeactivateUserPayload:
    user: User | None = strawberry.field(description="The deactivated user.")
    report: DeactivationReport | None = strawberry.field(description="What was handed over.")
    errors: list[UserError] = strawberry.field(description="SLOT_CONFLICT lists each clashing appointment.")


@strawberry.input(description="Reactivate a user.")
class ReactivateUserInput:
    user_id: relay.GlobalID = strawberry.field(description="A deactivated user.", metadata=refers_to("User"))


@strawberry.type(description="The result of reactivateUser.")
class ReactivateUserPayload:
    user: User | None = strawberry.field(description="The user, ACTIVE or INVITED again.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


def _choice(value: dict | None) -> ops.Choice:
    if value is None:
        return ops.Choice()
    return ops.Choice(ops.Handover(value["action"].value), value["to_practitioner_id"])


def _deactivate(
    actor,
    user_id,
    appointments=None,
    recurring_questionnaires=None,
    sent_questionnaires=None,
    lab_integration_successors=None,
    **rest,
):
    return ops.deactivate_user(
        actor,
        user_id,
        appointments=_choice(appointments),
        recurring_questionnaires=_choice(recurring_questionnaires),
        sent_questionnaires=_choice(sent_questionnaires),
        lab_integration_successors={s["lab_integration_id"]: s["user_id"] for s in lab_integration_successors or []},
        **rest,
    )


def _ids(type_name: str, ids: list[str]) -> list[relay.GlobalID]:
    return [relay.GlobalID(type_name, public_id) for public_id in ids]


def _report(outcome: ops.Outcome) -> DeactivationReport:
    return DeactivationReport(
        moved_appointment_ids=_ids("Appointment", outcome.moved["appointments"]),
        cancelled_appointment_ids=_ids("Appointment", outcome.cancelled["appointments"]),
        moved_questionnaire_ids=_ids("Questionnaire", outcome.moved["recurring"] + outcome.moved["sent"]),
        removed_questionnaire_ids=_ids(
            "Questionnaire",
            outcome.removed_questionnaires + outcome.cancelled["recurring"] + outcome.cancelled["sent"],
        ),
        forwarded_message_ids=_ids("InboxMessage", outcome.forwarded),
        hidden_message_ids=_ids("InboxMessage", outcome.hidden),
        transferred_lab_integration_ids=_ids("LabIntegration", outcome.transferred),
        disconnected_md_billing_ids=_ids("MdBillingConnection", outcome.disconnected),
    )


@strawberry.type
class DeactivationQuery:
    @strawberry.field(description="What deactivating the user would affect.", permission_classes=[CanEditOtherUsers])
    async def deactivation_preview(
        self,
        info: strawberry.Info,
        user_id: Annotated[relay.GlobalID, strawberry.argument(description="The user who would be deactivated.")],
    ) -> DeactivationPreview | None:
        try:
            user, work = await ops.deactivation_preview(info.context.actor, public_id(user_id, "User", "userId"))
        except OperationFailed:
            return None  # another organization's id is like one that does not exist
        return DeactivationPreview(
            user=User.from_model(user),
            future_appointments=_all(work.appointments, Appointment.from_model),
            recurring_questionnaires=_all(work.recurring_questionnaires, Questionnaire.from_model),
            sent_questionnaires=_all(work.sent_questionnaires, Questionnaire.from_model),
            inbox_messages=_all(work.inbox_messages, InboxMessage.from_model),
            lab_integrations=_all(work.lab_integrations, LabIntegration.from_model),
            md_billing_connection=MdBillingConnection.from_model(work.mdbilling) if work.mdbilling else None,
        )


@strawberry.type
class DeactivationMutation:
    @strawberry.mutation(
        description="Deactivate a user and hand over its work.", permission_classes=[CanEditOtherUsers]
    )
    async def deactivate_user(self, info: strawberry.Info, input: DeactivateUserInput) -> DeactivateUserPayload | None:
        return await perform(
            DeactivateUserPayload,
            partial(_deactivate, info.context.actor),
            input,
            user=lambda outcome: User.from_model(outcome.user),
            report=_report,
        )

    @strawberry.mutation(description="Reactivate a deactivated user.", permission_classes=[CanEditOtherUsers])
    async def reactivate_user(self, info: strawberry.Info, input: ReactivateUserInput) -> ReactivateUserPayload | None:
        operation = partial(ops.reactivate_user, info.context.actor)
        return await perform(ReactivateUserPayload, operation, input, user=lambda result: User.from_model(result[0]))
