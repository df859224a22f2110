"""`handoverReport(userId)`: where a user's work went, read back from the audit events at
any later time, whatever happened to the user since (reactivated, deactivated again).

Each deactivation event lists, by global id, what it moved, cancelled, removed,
forwarded, hid, transferred and disconnected; the events of those items, written before
it in the same transaction, say where each went, when and by whom. Handovers done ahead
of a deactivation (transferLabIntegration, forwardInboxMessages) are their own events,
found by the user they were taken from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import ActorKind, AuditEvent, User
from chrgraph.db.public_ids import global_id
from chrgraph.resolvers.errors import ErrorCode, fail


class HandoverOutcome(str, Enum):
    MOVED = "MOVED"
    CANCELLED = "CANCELLED"
    REMOVED = "REMOVED"
    FORWARDED = "FORWARDED"
    HIDDEN = "HIDDEN"
    TRANSFERRED = "TRANSFERRED"
    DISCONNECTED = "DISCONNECTED"


# A deactivation event's lists: key -> what happened to the items, and the action of the
# item's own event (None: the item has no event of its own, the deactivation's stands).
_LISTS: dict[str, tuple[HandoverOutcome, AuditAction | None]] = {
    "movedAppointments": (HandoverOutcome.MOVED, AuditAction.APPOINTMENT_MOVED),
    "cancelledAppointments": (HandoverOutcome.CANCELLED, AuditAction.APPOINTMENT_CANCELLED),
    "movedQuestionnaires": (HandoverOutcome.MOVED, AuditAction.QUESTIONNAIRE_MOVED),
    "removedQuestionnaires": (HandoverOutcome.REMOVED, AuditAction.QUESTIONNAIRE_REMOVED),
    "forwardedMessages": (HandoverOutcome.FORWARDED, AuditAction.INBOX_MESSAGE_FORWARDED),
    "hiddenMessages": (HandoverOutcome.HIDDEN, None),
    "transferredLabIntegrations": (HandoverOutcome.TRANSFERRED, AuditAction.LAB_INTEGRATION_TRANSFERRED),
    "disconnectedMdBilling": (HandoverOutcome.DISCONNECTED, AuditAction.MDBILLING_DISCONNECTED),
}
# Where an item's own event says it went: the changed field naming the receiver.
_RECEIVER = {
    AuditAction.APPOINTMENT_MOVED: "practitioner",
    AuditAction.QUESTIONNAIRE_MOVED: "practitioner",
    AuditAction.INBOX_MESSAGE_FORWARDED: "owner",
    AuditAction.LAB_INTEGRATION_TRANSFERRED: "backedBy",
}
# A deactivation's own record of the receiver, for items without a receiver of their own.
_RECEIVER_IN_DEACTIVATION = {"movedAppointments": "appointmentsMovedTo", "forwardedMessages": "inboxForwardedTo"}
_AHEAD = (AuditAction.INBOX_MESSAGE_FORWARDED, AuditAction.LAB_INTEGRATION_TRANSFERRED)


@dataclass(slots=True)
class HandedOver:
    """One item of the user's work: what became of it, where it went, when, by whom."""

    outcome: HandoverOutcome
    item_id: str  # global id
    to_user_id: str | None  # global id of the receiver, when it went to someone
    at: datetime
    actor_kind: ActorKind
    actor_id: str | None
    audit_event_id: str  # public id of the event that records it


@dataclass(slots=True)
class DeactivationHandover:
    audit_event_id: str  # public id of the USER_DEACTIVATED event
    deactivated_at: datetime
    actor_kind: ActorKind
    actor_id: str | None
    reactivated_at: datetime | None
    items: list[HandedOver] = field(default_factory=list)


@dataclass(slots=True)
class HandoverReport:
    user_id: str  # global id
    deactivations: list[DeactivationHandover]
    ahead: list[HandedOver]


def _after(changes: dict[str, Any], name: str) -> Any:
    value = changes.get(name)
    if isinstance(value, dict) and set(value) == {"before", "after"}:
        return value["after"]
    return value


def _before(changes: dict[str, Any], name: str) -> Any:
    value = changes.get(name)
    return value.get("before") if isinstance(value, dict) else None


def _item(outcome: HandoverOutcome, item_id: str, event: AuditEvent, to_user_id: str | None) -> HandedOver:
    return HandedOver(
        outcome, item_id, to_user_id, event.occurred_at, event.actor_kind, event.actor_id, event.public_id
    )


async def handover_report(actor: Actor, user_public_id: str) -> HandoverReport:
    """Every deactivation of the user, oldest first, each with what it handed over, and
    the handovers done ahead of a deactivation; NOT_FOUND for a user not of the
    organization."""
    user = await actor.data.find(User, user_public_id)
    if user is None:
        raise fail(ErrorCode.NOT_FOUND, "No such user.", "userId")
    user_id = global_id("User", user.public_id)
    events = actor.data.audit_events
    own = await events.filter(
        target_type="User", target_id=user_id, action__in=[AuditAction.USER_DEACTIVATED, AuditAction.USER_REACTIVATED]
    ).order_by("seq")
    deactivations = [e for e in own if e.action == AuditAction.USER_DEACTIVATED]
    listed = {item for d in deactivations for key in _LISTS for item in d.changes.get(key) or []}
    item_events: dict[str, list[AuditEvent]] = {}
    if listed:
        for event in await events.filter(
            target_id__in=sorted(listed), action__in=[a for _, a in _LISTS.values() if a is not None]
        ).order_by("seq"):
            item_events.setdefault(event.target_id or "", []).append(event)

    used: set[str] = set()
    report = HandoverReport(user_id, [], [])
    for d in deactivations:
        reactivated = next(
            (e for e in own if e.seq > d.seq and e.action == AuditAction.USER_REACTIVATED),
            None,
        )
        handover = DeactivationHandover(
            d.public_id,
            d.occurred_at,
            d.actor_kind,
            d.actor_id,
            reactivated.occurred_at if reactivated is not None else None,
        )
        for key, (outcome, action) in _LISTS.items():
            for item_id in d.changes.get(key) or []:
                # The item's own event: the last of its action before the deactivation's.
                mine = [e for e in item_events.get(item_id, []) if e.action == action and e.seq < d.seq]
                source = mine[-1] if mine else d
                used.add(source.public_id)
                receiver = _RECEIVER.get(AuditAction(source.action))
                to_user = _after(source.changes, receiver) if receiver else None
                if to_user is None and key in _RECEIVER_IN_DEACTIVATION:
                    to_user = _after(d.changes, _RECEIVER_IN_DEACTIVATION[key])
                handover.items.append(_item(outcome, item_id, source, to_user))
        report.deactivations.append(handover)

    # Handed over ahead: forwarded or transferred away from the user by its own operation.
    for event in await events.filter(action__in=list(_AHEAD)).order_by("seq"):
        if event.public_id in used or event.target_id is None:
            continue
        receiver = _RECEIVER[AuditAction(event.action)]
        if _before(event.changes, receiver) != user_id:
            continue
        outcome = (
            HandoverOutcome.FORWARDED
            if event.action == AuditAction.INBOX_MESSAGE_FORWARDED
            else HandoverOutcome.TRANSFERRED
        )
        report.ahead.append(_item(outcome, event.target_id, event, _after(event.changes, receiver)))
    return report
