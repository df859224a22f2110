"""Event notifications written in the transaction of their change (an outbox).

An audited change that a vendor may want to hear of becomes a webhook event next to its
audit record (`events.record` calls `emit_for_audit`): the event and one delivery per
subscription that asks for its type are inserted on the same connection, so a rollback
takes them with the change and a commit makes them due. The payload carries global ids
and the names of the changed fields only, never a value of the record (no name, date,
contact detail, health card number or free text): the receiver asks the API for the
rest. A schedule's working hours and exceptions (`SCHEDULE_CHANGED`) name the user whose
schedule it is."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chrgraph.audit.actions import AuditAction
from chrgraph.auth.permissions import consumer_permissions
from chrgraph.db.models import ApiConsumer, Permission, WebhookDelivery, WebhookEvent, WebhookSubscription
from chrgraph.db.public_ids import global_id, is_public_id, new_public_id
from chrgraph.db.tenant import OrganizationData

if TYPE_CHECKING:
    from chrgraph.audit.events import RecordedEvent


class WebhookEventType(StrEnum):
    APPOINTMENT_BOOKED = "APPOINTMENT_BOOKED"
    APPOINTMENT_RESCHEDULED = "APPOINTMENT_RESCHEDULED"
    APPOINTMENT_CANCELLED = "APPOINTMENT_CANCELLED"
    APPOINTMENT_MOVED = "APPOINTMENT_MOVED"
    APPOINTMENT_STATUS_CHANGED = "APPOINTMENT_STATUS_CHANGED"
    PATIENT_REGISTERED = "PATIENT_REGISTERED"
    PATIENT_UPDATED = "PATIENT_UPDATED"
    PATIENT_PORTAL_ACCESS_CHANGED = "PATIENT_PORTAL_ACCESS_CHANGED"
    USER_INVITED = "USER_INVITED"
    USER_ACTIVATED = "USER_ACTIVATED"
    USER_UPDATED = "USER_UPDATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    USER_REACTIVATED = "USER_REACTIVATED"
    USER_LICENSE_CHANGED = "USER_LICENSE_CHANGED"
    SCHEDULE_CHANGED = "SCHEDULE_CHANGED"


DESCRIPTIONS: dict[WebhookEventType, str] = {
    WebhookEventType.APPOINTMENT_BOOKED: "An appointment was booked.",
    WebhookEventType.APPOINTMENT_RESCHEDULED: "An appointment's start or duration changed.",
    WebhookEventType.APPOINTMENT_CANCELLED: "An appointment was cancelled (by a deactivation too).",
    WebhookEventType.APPOINTMENT_MOVED: "An appointment passed to another practitioner (a handover).",
    WebhookEventType.APPOINTMENT_STATUS_CHANGED: "An appointment was confirmed, arrived, completed or missed.",
    WebhookEventType.PATIENT_REGISTERED: "A patient was registered.",
    WebhookEventType.PATIENT_UPDATED: "A patient's record changed.",
    WebhookEventType.PATIENT_PORTAL_ACCESS_CHANGED: "A patient's portal access was turned on or off.",
    WebhookEventType.USER_INVITED: "A user was invited (or imported by the license mapping).",
    WebhookEventType.USER_ACTIVATED: "A user accepted an invitation, or a service account was created.",
    WebhookEventType.USER_UPDATED: "A user's profile, roles or permissions changed.",
    WebhookEventType.USER_DEACTIVATED: "A user was deactivated.",
    WebhookEventType.USER_REACTIVATED: "A user was reactivated.",
    WebhookEventType.USER_LICENSE_CHANGED: "A user's license changed.",
    WebhookEventType.SCHEDULE_CHANGED: "A practitioner's or shared schedule's working hours changed.",
}

# What an API consumer needs to hear of each event: the permission that lets it read the
# record the event names (as the schema's read rules have it). A consumer that support
# narrowed hears only of what it may read; a deactivated one, or one of an organization
# whose Enterprise API is off, hears of nothing (`may_hear`).
READ_PERMISSION: dict[WebhookEventType, Permission] = {
    **dict.fromkeys(
        (
            WebhookEventType.APPOINTMENT_BOOKED,
            WebhookEventType.APPOINTMENT_RESCHEDULED,
            WebhookEventType.APPOINTMENT_CANCELLED,
            WebhookEventType.APPOINTMENT_MOVED,
            WebhookEventType.APPOINTMENT_STATUS_CHANGED,
            WebhookEventType.SCHEDULE_CHANGED,
        ),
        Permission.MANAGE_SCHEDULE,
    ),
    **dict.fromkeys(
        (
            WebhookEventType.PATIENT_REGISTERED,
            WebhookEventType.PATIENT_UPDATED,
            WebhookEventType.PATIENT_PORTAL_ACCESS_CHANGED,
        ),
        Permission.MANAGE_PATIENTS,
    ),
    **dict.fromkeys(
        (
            WebhookEventType.USER_INVITED,
            WebhookEventType.USER_ACTIVATED,
            WebhookEventType.USER_UPDATED,
            WebhookEventType.USER_DEACTIVATED,
            WebhookEventType.USER_REACTIVATED,
            WebhookEventType.USER_LICENSE_CHANGED,
        ),
        Permission.VIEW_USERS,
    ),
}


def may_hear(event_type: str, consumer: ApiConsumer | None, api_enabled: bool) -> bool:
    """Whether a subscription's consumer is told of an event of this type now: active,
    its organization's Enterprise API on, and holding the permission to read what the
    event names (checked when the event is written and again before each attempt)."""
    if consumer is None or not consumer.active or not api_enabled:
        return False
    return READ_PERMISSION[WebhookEventType(event_type)].value in consumer_permissions(consumer.permissions)


# Which audited changes are told to subscribers, and as what.
_BY_ACTION: dict[AuditAction, WebhookEventType] = {
    AuditAction.APPOINTMENT_BOOKED: WebhookEventType.APPOINTMENT_BOOKED,
    AuditAction.APPOINTMENT_RESCHEDULED: WebhookEventType.APPOINTMENT_RESCHEDULED,
    AuditAction.APPOINTMENT_CANCELLED: WebhookEventType.APPOINTMENT_CANCELLED,
    AuditAction.APPOINTMENT_MOVED: WebhookEventType.APPOINTMENT_MOVED,
    AuditAction.APPOINTMENT_CONFIRMED: WebhookEventType.APPOINTMENT_STATUS_CHANGED,
    AuditAction.APPOINTMENT_ARRIVED: WebhookEventType.APPOINTMENT_STATUS_CHANGED,
    AuditAction.APPOINTMENT_COMPLETED: WebhookEventType.APPOINTMENT_STATUS_CHANGED,
    AuditAction.APPOINTMENT_NO_SHOW: WebhookEventType.APPOINTMENT_STATUS_CHANGED,
    AuditAction.PATIENT_REGISTERED: WebhookEventType.PATIENT_REGISTERED,
    AuditAction.PATIENT_UPDATED: WebhookEventType.PATIENT_UPDATED,
    AuditAction.PATIENT_PORTAL_ACCESS_SET: WebhookEventType.PATIENT_PORTAL_ACCESS_CHANGED,
    AuditAction.USER_INVITED: WebhookEventType.USER_INVITED,
    AuditAction.USER_IMPORTED: WebhookEventType.USER_INVITED,
    AuditAction.INVITATION_ACCEPTED: WebhookEventType.USER_ACTIVATED,
    AuditAction.SERVICE_ACCOUNT_CREATED: WebhookEventType.USER_ACTIVATED,
    AuditAction.USER_UPDATED: WebhookEventType.USER_UPDATED,
    AuditAction.ROLES_ASSIGNED: WebhookEventType.USER_UPDATED,
    AuditAction.PERMISSION_GRANTED: WebhookEventType.USER_UPDATED,
    AuditAction.PERMISSION_REVOKED: WebhookEventType.USER_UPDATED,
    AuditAction.USER_DEACTIVATED: WebhookEventType.USER_DEACTIVATED,
    AuditAction.USER_REACTIVATED: WebhookEventType.USER_REACTIVATED,
    AuditAction.LICENSE_CHANGED: WebhookEventType.USER_LICENSE_CHANGED,
    AuditAction.LICENSE_ENFORCED: WebhookEventType.USER_LICENSE_CHANGED,
    AuditAction.WORKING_HOURS_SET: WebhookEventType.SCHEDULE_CHANGED,
    AuditAction.SCHEDULE_EXCEPTION_ADDED: WebhookEventType.SCHEDULE_CHANGED,
    AuditAction.SCHEDULE_EXCEPTION_REMOVED: WebhookEventType.SCHEDULE_CHANGED,
}

# The payload key naming the changed record, by its type.
_TARGET_KEYS = {"Appointment": "appointmentId", "Patient": "patientId", "User": "userId"}
# Record types a payload may name besides its target (anything else is left out).
_NAMED_TYPES = frozenset({"Appointment", "Patient", "User", "Organization"})


def event_type_for(action: str) -> WebhookEventType | None:
    try:
        return _BY_ACTION.get(AuditAction(action))
    except ValueError:
        return None


def _global_id_of(value: Any) -> str | None:
    """`value` when it is the global id of a record type a payload may name; None for
    anything else (a value of the record is never passed on)."""
    if not isinstance(value, str) or len(value) > 100 or not value.isascii():
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    type_name, _, public_id = decoded.partition(":")
    return value if type_name in _NAMED_TYPES and is_public_id(public_id) else None


def _references(changes: dict[str, Any]) -> dict[str, str]:
    """`{field}Id` for each changed field whose (new) value is another record's global id
    (an appointment's practitioner and patient)."""
    found = {}
    for name, value in changes.items():
        if isinstance(value, dict) and "after" in value:
            value = value["after"]
        reference = _global_id_of(value)
        if reference is not None:
            found[f"{name}Id"] = reference
    return found


def payload(
    event_type: WebhookEventType,
    event_id: str,
    occurred_at: datetime,
    organization_public_id: str,
    ids: dict[str, str],
    changed_fields: Iterable[str],
) -> dict[str, Any]:
    """What a receiver gets: `{type, id, occurredAt, organizationId, data}`."""
    return {
        "type": str(event_type),
        "id": event_id,
        "occurredAt": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "organizationId": global_id("Organization", organization_public_id),
        "data": {**ids, "changedFields": sorted(set(changed_fields))},
    }


async def emit(
    conn: Any,
    organization_id: int,
    event_type: WebhookEventType,
    ids: dict[str, str],
    changed_fields: Iterable[str],
    occurred_at: datetime | None = None,
) -> WebhookEvent | None:
    """Write one event and its deliveries on `conn` (the change's own transaction), or
    nothing when no live subscription of the organization asks for `event_type`. `ids`
    maps payload keys to global ids; `changed_fields` are schema field names."""
    for value in ids.values():
        if _global_id_of(value) is None:  # nothing but global ids reaches a payload
            raise TypeError(f"a webhook payload names records by global id only, not {value!r}")
    data = OrganizationData(organization_id)
    asking = [
        s
        for s in await data.query(WebhookSubscription)
        .filter(active=True, deleted_at__isnull=True)
        .using_db(conn)
        .only("id", "events", "consumer_id")
        if str(event_type) in (s.events or [])
    ]
    if not asking:  # the usual case: one plain statement, no join
        return None
    consumers = {
        c.id: c
        for c in await data.api_consumers.filter(id__in={s.consumer_id for s in asking})
        .using_db(conn)
        .only("id", "active", "permissions")
    }
    organization = await data.organization.using_db(conn).only("public_id", "enterprise_api_enabled").get()
    api_enabled = organization.enterprise_api_enabled
    subscriptions = [s.id for s in asking if may_hear(event_type, consumers.get(s.consumer_id), api_enabled)]
    if not subscriptions:
        return None
    at = occurred_at or datetime.now(UTC)
    public_id = new_public_id()
    event = await data.create(
        WebhookEvent,
        public_id=public_id,
        type=str(event_type),
        payload=payload(event_type, f"msg_{public_id}", at, organization.public_id, ids, changed_fields),
        occurred_at=at,
        using_db=conn,
    )
    await WebhookDelivery.bulk_create(
        [
            data.new(
                WebhookDelivery,
                subscription_id=subscription_id,
                event_id=event.id,
                event_type=str(event_type),
                next_attempt_at=at,
                created_at=at,
            )
            for subscription_id in subscriptions
        ],
        using_db=conn,
    )
    return event


async def emit_for_audit(conn: Any, recorded: RecordedEvent) -> None:
    """The webhook event of an audited change, if its action is one vendors are told of."""
    event_type = event_type_for(recorded.action)
    if event_type is None or recorded.target_id is None:
        return
    key = _TARGET_KEYS.get(recorded.target_type)
    if key is None:
        return
    changes = recorded.changes or {}
    ids = {key: recorded.target_id, **{k: v for k, v in _references(changes).items() if k != key}}
    await emit(conn, recorded.organization_id, event_type, ids, changes.keys(), recorded.occurred_at)
