"""Patient portal: enable/disable, settings with their defaults, and per-patient
access (the background image is in images.py)."""

from __future__ import annotations

from typing import Any, cast

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    AppointmentStatus,
    NotificationLogin,
    Organization,
    Patient,
    PortalHiddenStatus,
    PortalSettings,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.audit.list_events import EVENT_ORDER
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.patients.patients import get_patient
from chrgraph.resolvers.validation import Errors

OTP_TIMEOUTS = (5, 10, 15, 30, 60)
# model attribute -> its public name (error paths and the audit event's delta)
BOOLEAN_SETTINGS = {
    "portal_accessible": "portalAccessible",
    "accessible_for_new_patients": "accessibleForNewPatients",
    "self_registration": "selfRegistration",
    "conversation_responses": "conversationResponses",
    "portal_billing": "portalBilling",
    "extra_searchable_identifications": "extraSearchableIdentifications",
}
SETTINGS = {
    **BOOLEAN_SETTINGS,
    "otp_timeout_minutes": "otpTimeoutMinutes",
    "notification_login": "notificationLogin",
    "hidden_appointment_statuses": "hiddenAppointmentStatuses",
}
HISTORY_ACTIONS = (
    AuditAction.PORTAL_SETTINGS_UPDATED,
    AuditAction.PORTAL_ENABLED,
    AuditAction.PORTAL_DISABLED,
    AuditAction.PORTAL_BACKGROUND_UPLOADED,
    AuditAction.PORTAL_BACKGROUND_REMOVED,
    AuditAction.PORTAL_BILLING_DISABLED,
)


async def portal_settings(data: OrganizationData, conn=None) -> tuple[PortalSettings, list[AppointmentStatus]]:
    """The settings (the defaults when never changed) and the hidden statuses."""
    query = data.portal_settings
    row = await (query.using_db(conn) if conn else query).first()
    if row is None:
        row = data.new(PortalSettings)
    hidden_query = data.portal_hidden_statuses
    # Tortoise types a flat values_list as a list of tuples: the cast names the element type.
    hidden = cast(
        list[AppointmentStatus],
        await (hidden_query.using_db(conn) if conn else hidden_query).values_list("status", flat=True),
    )
    return row, sorted(hidden, key=lambda s: list(AppointmentStatus).index(s))


def _snapshot(row: PortalSettings, hidden: list[AppointmentStatus]) -> dict[str, Any]:
    return {
        **{public: getattr(row, attr) for attr, public in BOOLEAN_SETTINGS.items()},
        "otpTimeoutMinutes": row.otp_timeout_minutes,
        "notificationLogin": row.notification_login,
        "hiddenAppointmentStatuses": [getattr(s, "value", s) for s in hidden],
    }


def _check_stripe(errors: Errors, org: Organization, changes: dict[str, Any]) -> None:
    if changes.get("portal_billing") and not org.stripe_connected:
        errors.add(ErrorCode.STRIPE_INTEGRATION_REQUIRED, "Connect Stripe before portal billing.", "portalBilling")


async def update_portal_settings(actor: Actor, **changes: Any) -> tuple[PortalSettings, list]:
    """Partial: `changes` holds only the settings given, under their `SETTINGS` names (an
    explicit None clears `hidden_appointment_statuses` and is refused elsewhere); allowed
    while the portal is disabled."""
    if unknown := changes.keys() - SETTINGS.keys():
        raise TypeError(f"update_portal_settings() got unknown settings {sorted(unknown)}")
    errors = Errors()
    _check_stripe(errors, await Organization.get(id=actor.organization_id), changes)
    if "otp_timeout_minutes" in changes and changes["otp_timeout_minutes"] not in OTP_TIMEOUTS:
        errors.add(
            ErrorCode.INVALID_INPUT,
            f"One of {', '.join(map(str, OTP_TIMEOUTS))} minutes.",
            "otpTimeoutMinutes",
        )
    for name, value in changes.items():
        if value is None and name != "hidden_appointment_statuses":
            errors.add(ErrorCode.INVALID_INPUT, "This setting cannot be null.", SETTINGS[name])
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        # Locked, so Stripe cannot be disconnected between this check and the write.
        org = await Organization.filter(id=actor.organization_id).using_db(conn).select_for_update().get()
        _check_stripe(errors, org, changes)
        if errors:
            raise OperationFailed(*errors.items)
        row, hidden = await portal_settings(actor.data, conn)
        before = _snapshot(row, hidden)
        for attr in BOOLEAN_SETTINGS:
            if attr in changes:
                setattr(row, attr, changes[attr])
        if "otp_timeout_minutes" in changes:
            row.otp_timeout_minutes = changes["otp_timeout_minutes"]
        if "notification_login" in changes:
            row.notification_login = NotificationLogin(changes["notification_login"])
        if "hidden_appointment_statuses" in changes:
            hidden = sorted(
                set(changes["hidden_appointment_statuses"] or []),
                key=lambda s: list(AppointmentStatus).index(s),
            )
        delta = events.diff(before, _snapshot(row, hidden))
        if delta:
            await row.save(using_db=conn)
            if "hiddenAppointmentStatuses" in delta:
                await actor.data.portal_hidden_statuses.using_db(conn).delete()
                await PortalHiddenStatus.bulk_create(
                    [actor.data.new(PortalHiddenStatus, status=s) for s in hidden], using_db=conn
                )
            await events.record(
                conn, actor, AuditAction.PORTAL_SETTINGS_UPDATED, "PortalSettings", org.public_id, delta
            )
    return row, hidden


async def set_portal_enabled(actor: Actor, enabled: bool) -> Organization:
    async with atomic() as conn:
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        if org.portal_enabled != enabled:
            org.portal_enabled = enabled
            await org.save(using_db=conn, update_fields=["portal_enabled"])
            await events.record(
                conn,
                actor,
                AuditAction.PORTAL_ENABLED if enabled else AuditAction.PORTAL_DISABLED,
                "Organization",
                org.public_id,
                {"portalEnabled": {"before": not enabled, "after": enabled}},
            )
    return org


async def stripe_disconnected(conn, actor: Actor, org: Organization) -> None:
    """Portal billing needs Stripe: disconnecting it turns portal billing off, in the
    caller's transaction, with its own audit event."""
    turned_off = await (
        actor.data.portal_settings.filter(portal_billing=True).using_db(conn).update(portal_billing=False)
    )
    if turned_off:
        await events.record(
            conn,
            actor,
            AuditAction.PORTAL_BILLING_DISABLED,
            "PortalSettings",
            org.public_id,
            {"portalBilling": {"before": True, "after": False}, "reason": "STRIPE_DISCONNECTED"},
        )


async def set_patient_portal_access(actor: Actor, patient_id: int | None, enabled: bool) -> Patient:
    async with atomic() as conn:
        patient = await get_patient(actor, patient_id, conn)
        if patient.portal_access != enabled:
            patient.portal_access = enabled
            await patient.save(using_db=conn, update_fields=["portal_access"])
            await events.record(
                conn,
                actor,
                AuditAction.PATIENT_PORTAL_ACCESS_SET,
                "Patient",
                patient.public_id,
                {"portalAccess": {"before": not enabled, "after": enabled}},
                row=patient,
            )
    return patient


def portal_history_query(actor: Actor):
    return actor.data.audit_events.filter(action__in=HISTORY_ACTIONS).order_by(*EVENT_ORDER)
