"""The handover done ahead of a deactivation: transferLabIntegration and
forwardInboxMessages (EDIT_OTHER_USERS; the main lab integration by support only)."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry import relay

from chrgraph.resolvers.deactivation.forward_inbox_messages import forward_inbox_messages
from chrgraph.resolvers.deactivation.transfer_lab_integration import transfer_lab_integration
from chrgraph.schema.errors import UserError
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanEditOtherUsers, CanTransferLabIntegration
from chrgraph.schema.scheduling.types import LabIntegration
from chrgraph.schema.users.types import User


@strawberry.input(description="Who backs a lab integration from now on.")
class TransferLabIntegrationInput:
    lab_integration_id: relay.GlobalID = strawberry.field(
        description="The lab integration (the main one: support only).", metadata=refers_to("LabIntegration")
    )
    user_id: relay.GlobalID = strawberry.field(
        description="The active user who backs it from now on.", metadata=refers_to("User")
    )


@strawberry.type(description="The result of transferLabIntegration.")
class TransferLabIntegrationPayload:
    lab_integration: LabIntegration | None = strawberry.field(description="The lab integration, transferred.")
    errors: list[UserError] = strawberry.field(
        description="LAB_INTEGRATION_TRANSFER_REQUIRED: the main one is transferred by support only."
    )


@strawberry.input(description="Give a user's visible inbox messages to another user.")
class ForwardInboxMessagesInput:
    from_user_id: relay.GlobalID = strawberry.field(
        description="Whose messages (snoozed included; hidden ones stay).", metadata=refers_to("User")
    )
    to_user_id: relay.GlobalID = strawberry.field(
        description="The active user who receives them.", metadata=refers_to("User")
    )


@strawberry.type(description="The result of forwardInboxMessages.")
class ForwardInboxMessagesPayload:
    forwarded_message_ids: list[relay.GlobalID] | None = strawberry.field(description="The messages forwarded.")
    to_user: User | None = strawberry.field(description="Who received them.")
    errors: list[UserError] = strawberry.field(description="Why nothing was forwarded.")


@strawberry.type
class HandoverMutation:
    @strawberry.mutation(
        description="Hand one lab integration to another active user, ahead of a deactivation.",
        permission_classes=[CanTransferLabIntegration],
    )
    async def transfer_lab_integration(
        self, info: strawberry.Info, input: TransferLabIntegrationInput
    ) -> TransferLabIntegrationPayload | None:
        return await perform(
            TransferLabIntegrationPayload,
            partial(transfer_lab_integration, info.context.actor),
            input,
            lab_integration=LabIntegration.from_model,
        )

    @strawberry.mutation(
        description="Give a user's visible inbox messages to another active user, ahead of a deactivation.",
        permission_classes=[CanEditOtherUsers],
    )
    async def forward_inbox_messages(
        self, info: strawberry.Info, input: ForwardInboxMessagesInput
    ) -> ForwardInboxMessagesPayload | None:
        return await perform(
            ForwardInboxMessagesPayload,
            partial(forward_inbox_messages, info.context.actor),
            input,
            forwarded_message_ids=lambda done: [
                relay.GlobalID("InboxMessage", public_id) for public_id in done.message_ids
            ],
            to_user=lambda done: User.from_model(done.to_user),
        )
