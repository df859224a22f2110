"""transferLabIntegration: hand one lab integration to another active member ahead of a
deactivation. The clinic transfers any but the main one; the main one is transferred by
the support account alone (and the support account transfers nothing else)."""

from __future__ import annotations

from chrgraph.auth.principals import Actor
from chrgraph.db.models import LabIntegration
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.deactivation.handover import active_member, main_lab_refusal, may_transfer_main, transfer_lab
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError, fail


async def transfer_lab_integration(actor: Actor, lab_integration_id: int | None, user_id: int | None) -> LabIntegration:
    """Move the backing of one lab integration to `user_id`, audited, in one transaction."""
    async with atomic() as conn:
        query = actor.data.lab_integrations.filter(id=lab_integration_id)
        lab = await query.using_db(conn).select_for_update().first() if lab_integration_id is not None else None
        if lab is None:
            raise fail(ErrorCode.NOT_FOUND, "No such lab integration.", "labIntegrationId")
        if lab.is_main and not may_transfer_main(actor):
            raise OperationFailed(main_lab_refusal(lab, ("labIntegrationId",)))
        if not lab.is_main and may_transfer_main(actor):
            raise fail(
                ErrorCode.INVALID_INPUT,
                "The support account transfers the main lab integration only; the clinic transfers the others.",
                "labIntegrationId",
            )
        successor = await active_member(conn, actor, user_id, lab.backed_by_id, ("userId",), practitioner=False)
        if isinstance(successor, UserError):
            raise OperationFailed(successor)
        await transfer_lab(conn, actor, lab, successor)
    return lab
