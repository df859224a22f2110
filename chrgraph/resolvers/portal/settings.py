"""Patient portal: enable/disable, settings with their defaults, and per-patient
access (the background image is in images.py)."""

from __future__ import annotations

from typing import Any, cast

from chrgraph.audit import events
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
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.patients.patients import get_patient
from chrgraph.resolvers.validation import Errors

OTP_TIMEOUTS = (5, 10, 15, 30, 60)
# input name -> model attribute
BOOLEAN_SETTINGS = {
    "portalAccessible": "portal_accessible",
    "accessibleForNewPatients": "accessible_for_new_patients",
    "selfRegistration": "self_registration",
    "conversationResponses": "conversation_responses",
    "portalBilling": "portal_billing",
    "extraSearchableIdentifications": "extra_searchable_identifications",
}
HISTORY_ACTIONS = (
    "PORTAL_SETTINGS_UPDATED",
    "PORTAL_ENABLED",
    "PORTAL_DISABLED",
    "PORTAL_BACKGROUND_UPLOADED",
    "PORTAL_BACKGROUND_REMOVED",
    "PORTAL_BILLING_DISABLED",
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
        **{name: getattr(row, attr) for name, attr in BOOLEAN_SETTINGS.items()},
        "otpTimeoutMinutes": row.otp_timeout_minutes,
        "notificationLogin": row.notification_login,
        "hiddenAppointmentStatuses": [getattr(s, "value", s) for s in hidden],
    }


def _check_stripe(errors: Errors, org: Organization, changes: dict[str, Any]) -> None:
    if changes.get("portalBilling") and not org.stripe_connected:
        errors.add(ErrorCode.STRIPE_INTEGRATION_REQUIRED, "Connect Stripe before portal billing.", "portalBilling")


async def update_portal_settings(actor: Actor, changes: dict[str, Any]) -> tuple[PortalSettings, list]:
    """Partial: only the given settings change; allowed while the portal is disabled."""
    errors = Errors()
    _check_stripe(errors, await Organization.get(id=actor.organization_id), changes)
    if "otpTimeoutMinutes" in changes and changes["otpTimeoutMinutes"] not in OTP_TIMEOUTS:
        errors.add(
            ErrorCode.INVALID_INPUT,
            f"One of {', '.join(map(str, OTP_TIMEOUTS))} minutes.",
            "otpTimeoutMinutes",
        )
    for name, value in changes.items():
        if value is None and name != "hiddenAppointmentStatuses":
            errors.add(ErrorCode.INVALID_INPUT, "This setting cannot be null.", name)
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
        for name, attr in BOOLEAN_SETTINGS.items():
            if name in changes:
                setattr(row, attr, changes[name])
        if "otpTimeoutMinutes" in changes:
            row.otp_timeout_minutes = changes["otpTimeoutMinutes"]
        if "notificationLogin" in changes:
            row.notification_login = NotificationLogin(changes["notificationLogin"])
        if "hiddenAppointmentStatuses" in changes:
            hidden = sorted(
                set(changes["hiddenAppointmentStatuses"] or []),
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
            await events.record(conn, actor, "PORTAL_SETTINGS_UPDATED", "PortalSettings", org.public_id, delta)
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
                "PORTAL_ENABLED" if enabled else "PORTAL_DISABLED",
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
            "PORTAL_BILLING_DISABLED",
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
                "PATIENT_PORTAL_ACCESS_SET",
                "Patient",
                patient.public_id,
                {"portalAccess": {"before": not enabled, "after": enabled}},
            )
    return patient


def portal_history_query(actor: Actor):
    return actor.data.audit_events.filter(action__in=HISTORY_ACTIONS).order_by("-seq")
