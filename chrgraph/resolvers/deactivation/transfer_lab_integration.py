"""transferLabIntegration: hand one lab integration to another active member ahead of a
deactivation. The clinic transfers any but the main one; the main one is transferred by
the support account alone (and the support account transfers nothing else)."""

from __future__ import annotations

from dataclasses import replace

from chrgraph.auth.principals import Actor
from chrgraph.db.models import LabIntegration
from chrgraph.db.raw import table_name
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.deactivation.handover import active_member, main_lab_refusal, may_transfer_main, transfer_lab
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError, fail
from chrgraph.resolvers.users.text import normalize_email


async def transfer_lab_integration(actor: Actor, lab_integration_id: int | None, user_id: int | None) -> LabIntegration:
    """Move the backing of one lab integration to `user_id`, audited, in one transaction."""
    async with atomic() as conn:
        # Its backer joined in the same statement (the audit event names it); the lock
        # is the lab integration's row only.
        query = actor.data.lab_integrations.filter(id=lab_integration_id).select_related("backed_by")
        locked = query.using_db(conn).select_for_update(of=(table_name(LabIntegration),))
        lab = await locked.first() if lab_integration_id is not None else None
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
        await transfer_lab(conn, actor, lab, lab.backed_by, successor)
    return lab


async def transfer_main_lab_integration(actor: Actor, to_email: str) -> LabIntegration:
    """The support account's command: the organization's main lab integration to the
    user with this email (`chrgraph users transfer-lab-integration`)."""
    main = await actor.data.lab_integrations.filter(is_main=True).first()
    if main is None:
        raise fail(ErrorCode.NOT_FOUND, "The organization has no main lab integration.", "org")
    user = await actor.data.users.filter(login_email=normalize_email(to_email)).first()
    if user is None:
        raise fail(ErrorCode.NOT_FOUND, "No such user.", "to")
    try:
        return await transfer_lab_integration(actor, main.id, user.id)
    except OperationFailed as failed:  # the command names its option
        errors = (replace(e, field=("to",)) if e.field == ("userId",) else e for e in failed.errors)
        raise OperationFailed(*errors) from None
