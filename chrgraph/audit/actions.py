"""The audit vocabulary: every action an audit event can record, declared once.

The values are what the `audit_event.action` column stores and what the hash chain
covers: never rename one (old events keep the old word); add a member instead."""

from __future__ import annotations

from enum import StrEnum

from chrgraph.db.models import AppointmentStatus


class AuditAction(StrEnum):
    # Organizations and the support account
    ORGANIZATION_CREATED = "ORGANIZATION_CREATED"
    ORGANIZATION_UPDATED = "ORGANIZATION_UPDATED"
    OWNERSHIP_TRANSFERRED = "OWNERSHIP_TRANSFERRED"
    SECURITY_POLICY_UPDATED = "SECURITY_POLICY_UPDATED"
    SUPPORT_ACCOUNT_CREATED = "SUPPORT_ACCOUNT_CREATED"
    SUPPORT_PASSWORD_SET = "SUPPORT_PASSWORD_SET"
    # Users, sessions and invitations
    INVITATION_ACCEPTED = "INVITATION_ACCEPTED"
    INVITATION_RESENT = "INVITATION_RESENT"
    SERVICE_ACCOUNT_CREATED = "SERVICE_ACCOUNT_CREATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    USER_IMPORTED = "USER_IMPORTED"
    USER_INVITED = "USER_INVITED"
    USER_LOGGED_IN = "USER_LOGGED_IN"
    USER_LOGGED_OUT = "USER_LOGGED_OUT"
    # A session ended by the server (5 wrong passwords re-entered from its address).
    SESSION_REVOKED = "SESSION_REVOKED"
    USER_REACTIVATED = "USER_REACTIVATED"
    # The second factor (an authenticator app's codes, recovery codes)
    SECOND_FACTOR_ENROLLMENT_STARTED = "SECOND_FACTOR_ENROLLMENT_STARTED"
    SECOND_FACTOR_ENABLED = "SECOND_FACTOR_ENABLED"
    SECOND_FACTOR_DISABLED = "SECOND_FACTOR_DISABLED"
    # Removed by someone else: an administrator, or the break-glass command (with a reason).
    SECOND_FACTOR_RESET = "SECOND_FACTOR_RESET"
    # The password was right; the login waits for a code (a challenge was issued).
    SECOND_FACTOR_CHALLENGED = "SECOND_FACTOR_CHALLENGED"
    USER_UPDATED = "USER_UPDATED"
    # Account lifecycle: one's own password, profile and sessions
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED"
    PASSWORD_RESET = "PASSWORD_RESET"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    # Roles and permissions
    PERMISSION_GRANTED = "PERMISSION_GRANTED"
    PERMISSION_REVOKED = "PERMISSION_REVOKED"
    ROLES_ASSIGNED = "ROLES_ASSIGNED"
    ROLE_CREATED = "ROLE_CREATED"
    ROLE_UPDATED = "ROLE_UPDATED"
    ROLE_DELETED = "ROLE_DELETED"
    # API consumers
    API_CONSUMER_COST_BUDGET_SET = "API_CONSUMER_COST_BUDGET_SET"
    API_CONSUMER_CREATED = "API_CONSUMER_CREATED"
    API_CONSUMER_DEACTIVATED = "API_CONSUMER_DEACTIVATED"
    API_CONSUMER_KEY_ADDED = "API_CONSUMER_KEY_ADDED"
    API_CONSUMER_KEY_REVOKED = "API_CONSUMER_KEY_REVOKED"
    API_CONSUMER_PERMISSIONS_SET = "API_CONSUMER_PERMISSIONS_SET"
    API_CONSUMER_REACTIVATED = "API_CONSUMER_REACTIVATED"
    # Webhook subscriptions of API consumers
    WEBHOOK_SUBSCRIPTION_CREATED = "WEBHOOK_SUBSCRIPTION_CREATED"
    WEBHOOK_SUBSCRIPTION_UPDATED = "WEBHOOK_SUBSCRIPTION_UPDATED"
    WEBHOOK_SUBSCRIPTION_DELETED = "WEBHOOK_SUBSCRIPTION_DELETED"
    WEBHOOK_SECRET_ROTATED = "WEBHOOK_SECRET_ROTATED"
    WEBHOOK_REDELIVERY_REQUESTED = "WEBHOOK_REDELIVERY_REQUESTED"
    # Licensing
    LICENSE_CHANGED = "LICENSE_CHANGED"
    LICENSE_CHANGE_CANCELLED = "LICENSE_CHANGE_CANCELLED"
    LICENSE_ENFORCED = "LICENSE_ENFORCED"
    LICENSE_UPGRADE_APPROVED = "LICENSE_UPGRADE_APPROVED"
    LICENSE_UPGRADE_DECLINED = "LICENSE_UPGRADE_DECLINED"
    LICENSE_UPGRADE_REQUESTED = "LICENSE_UPGRADE_REQUESTED"
    # Scheduling and clinical work
    APPOINTMENT_ARRIVED = "APPOINTMENT_ARRIVED"
    APPOINTMENT_BOOKED = "APPOINTMENT_BOOKED"
    APPOINTMENT_CANCELLED = "APPOINTMENT_CANCELLED"
    APPOINTMENT_COMPLETED = "APPOINTMENT_COMPLETED"
    APPOINTMENT_CONFIRMED = "APPOINTMENT_CONFIRMED"
    APPOINTMENT_MOVED = "APPOINTMENT_MOVED"
    APPOINTMENT_NO_SHOW = "APPOINTMENT_NO_SHOW"
    APPOINTMENT_RESCHEDULED = "APPOINTMENT_RESCHEDULED"
    INBOX_MESSAGE_CREATED = "INBOX_MESSAGE_CREATED"
    INBOX_MESSAGE_FORWARDED = "INBOX_MESSAGE_FORWARDED"
    LAB_INTEGRATION_CREATED = "LAB_INTEGRATION_CREATED"
    LAB_INTEGRATION_TRANSFERRED = "LAB_INTEGRATION_TRANSFERRED"
    MDBILLING_CONNECTED = "MDBILLING_CONNECTED"
    MDBILLING_DISCONNECTED = "MDBILLING_DISCONNECTED"
    QUESTIONNAIRE_CREATED = "QUESTIONNAIRE_CREATED"
    QUESTIONNAIRE_MOVED = "QUESTIONNAIRE_MOVED"
    QUESTIONNAIRE_REMOVED = "QUESTIONNAIRE_REMOVED"
    SCHEDULE_EXCEPTION_ADDED = "SCHEDULE_EXCEPTION_ADDED"
    SCHEDULE_EXCEPTION_REMOVED = "SCHEDULE_EXCEPTION_REMOVED"
    WORKING_HOURS_SET = "WORKING_HOURS_SET"
    # Patients
    IDENTIFIER_TYPE_CREATED = "IDENTIFIER_TYPE_CREATED"
    PATIENT_PORTAL_ACCESS_SET = "PATIENT_PORTAL_ACCESS_SET"
    PATIENT_REGISTERED = "PATIENT_REGISTERED"
    PATIENT_UPDATED = "PATIENT_UPDATED"
    # The patient portal
    PORTAL_BACKGROUND_REMOVED = "PORTAL_BACKGROUND_REMOVED"
    PORTAL_BACKGROUND_UPLOADED = "PORTAL_BACKGROUND_UPLOADED"
    PORTAL_BILLING_DISABLED = "PORTAL_BILLING_DISABLED"
    PORTAL_DISABLED = "PORTAL_DISABLED"
    PORTAL_ENABLED = "PORTAL_ENABLED"
    PORTAL_SETTINGS_UPDATED = "PORTAL_SETTINGS_UPDATED"

    @classmethod
    def appointment_became(cls, status: AppointmentStatus) -> AuditAction:
        """An appointment's status change: `APPOINTMENT_<new status>`."""
        return cls(f"APPOINTMENT_{status.value}")


# What each action records, shown with the `AuditAction` enum of the schema.
DESCRIPTIONS: dict[AuditAction, str] = {
    AuditAction.ORGANIZATION_CREATED: "An organization was created.",
    AuditAction.ORGANIZATION_UPDATED: "The organization's settings changed.",
    AuditAction.OWNERSHIP_TRANSFERRED: "The organization's ownership passed to another user.",
    AuditAction.SUPPORT_ACCOUNT_CREATED: "The support account was created.",
    AuditAction.SUPPORT_PASSWORD_SET: "The support account's password was set.",
    AuditAction.INVITATION_ACCEPTED: "An invited user accepted the invitation.",
    AuditAction.INVITATION_RESENT: "An invitation was sent again.",
    AuditAction.SERVICE_ACCOUNT_CREATED: "A service account was created.",
    AuditAction.USER_DEACTIVATED: "A user was deactivated; its work was handed over.",
    AuditAction.USER_IMPORTED: "A user was imported by the license mapping.",
    AuditAction.USER_INVITED: "A user was invited.",
    AuditAction.USER_LOGGED_IN: "A user logged in (`secondFactor`: TOTP or RECOVERY_CODE when a code completed it).",
    AuditAction.USER_LOGGED_OUT: "A user logged out.",
    AuditAction.SESSION_REVOKED: "The server ended a session (too many wrong passwords or codes re-entered).",
    AuditAction.SECOND_FACTOR_ENROLLMENT_STARTED: "A user started enrolling an authenticator app (not on yet).",
    AuditAction.SECOND_FACTOR_ENABLED: "A user's second factor was turned on; new recovery codes were issued.",
    AuditAction.SECOND_FACTOR_DISABLED: "A user removed its own second factor (password and a code re-entered).",
    AuditAction.SECOND_FACTOR_RESET: (
        "Someone else removed a user's second factor and ended its sessions (an administrator, or the "
        "break-glass command with its `reason`)."
    ),
    AuditAction.SECOND_FACTOR_CHALLENGED: "A user's password was right; the login waits for a second-factor code.",
    AuditAction.USER_REACTIVATED: "A deactivated user was reactivated.",
    AuditAction.PASSWORD_CHANGED: "A user changed its own password; its other sessions ended.",
    AuditAction.PASSWORD_RESET_REQUESTED: "A password-reset link was sent to a user who may log in.",
    AuditAction.PASSWORD_RESET: "A user set a new password with a reset link; its sessions ended.",
    AuditAction.PROFILE_UPDATED: "A user changed its own names, title or position.",
    AuditAction.SECURITY_POLICY_UPDATED: "The security policy (session idle timeout, second factor required) changed.",
    AuditAction.USER_UPDATED: "A user's profile changed.",
    AuditAction.PERMISSION_GRANTED: "A permission was granted.",
    AuditAction.PERMISSION_REVOKED: "A permission was revoked.",
    AuditAction.ROLES_ASSIGNED: "A user's roles changed.",
    AuditAction.ROLE_CREATED: "A role was created.",
    AuditAction.ROLE_UPDATED: "A role changed.",
    AuditAction.ROLE_DELETED: "A role was deleted.",
    AuditAction.API_CONSUMER_COST_BUDGET_SET: "An API consumer's cost budget was set.",
    AuditAction.API_CONSUMER_CREATED: "An API consumer was created.",
    AuditAction.API_CONSUMER_DEACTIVATED: "An API consumer was deactivated.",
    AuditAction.API_CONSUMER_KEY_ADDED: "A key was added to an API consumer.",
    AuditAction.API_CONSUMER_KEY_REVOKED: "An API consumer's key was revoked.",
    AuditAction.API_CONSUMER_PERMISSIONS_SET: "An API consumer's permissions were set.",
    AuditAction.API_CONSUMER_REACTIVATED: "An API consumer was reactivated.",
    AuditAction.WEBHOOK_SUBSCRIPTION_CREATED: "An API consumer subscribed to event notifications.",
    AuditAction.WEBHOOK_SUBSCRIPTION_UPDATED: "A webhook subscription's URL, events, description or state changed.",
    AuditAction.WEBHOOK_SUBSCRIPTION_DELETED: "A webhook subscription was deleted.",
    AuditAction.WEBHOOK_SECRET_ROTATED: "A webhook subscription's signing secret was rotated.",
    AuditAction.WEBHOOK_REDELIVERY_REQUESTED: "A webhook delivery was queued again.",
    AuditAction.LICENSE_CHANGED: "A user's license changed.",
    AuditAction.LICENSE_CHANGE_CANCELLED: "A scheduled license change was cancelled.",
    AuditAction.LICENSE_ENFORCED: "A license was enforced on its enforcement date.",
    AuditAction.LICENSE_UPGRADE_APPROVED: "A license upgrade request was approved.",
    AuditAction.LICENSE_UPGRADE_DECLINED: "A license upgrade request was declined.",
    AuditAction.LICENSE_UPGRADE_REQUESTED: "A user requested a license upgrade.",
    AuditAction.APPOINTMENT_ARRIVED: "A patient arrived for an appointment.",
    AuditAction.APPOINTMENT_BOOKED: "An appointment was booked.",
    AuditAction.APPOINTMENT_CANCELLED: "An appointment was cancelled.",
    AuditAction.APPOINTMENT_COMPLETED: "An appointment was completed.",
    AuditAction.APPOINTMENT_CONFIRMED: "An appointment was confirmed.",
    AuditAction.APPOINTMENT_MOVED: "An appointment moved to another practitioner.",
    AuditAction.APPOINTMENT_NO_SHOW: "A patient did not come to an appointment.",
    AuditAction.APPOINTMENT_RESCHEDULED: "An appointment was rescheduled.",
    AuditAction.INBOX_MESSAGE_CREATED: "An inbox message was created.",
    AuditAction.INBOX_MESSAGE_FORWARDED: "An inbox message was given to another user.",
    AuditAction.LAB_INTEGRATION_CREATED: "A lab integration was created.",
    AuditAction.LAB_INTEGRATION_TRANSFERRED: "A lab integration passed to another backer.",
    AuditAction.MDBILLING_CONNECTED: "An MDBilling connection was made.",
    AuditAction.MDBILLING_DISCONNECTED: "An MDBilling connection was disconnected.",
    AuditAction.QUESTIONNAIRE_CREATED: "A questionnaire was created.",
    AuditAction.QUESTIONNAIRE_MOVED: "A questionnaire moved to another practitioner.",
    AuditAction.QUESTIONNAIRE_REMOVED: "A questionnaire was removed.",
    AuditAction.SCHEDULE_EXCEPTION_ADDED: "A date of a schedule was set apart from its weekly hours.",
    AuditAction.SCHEDULE_EXCEPTION_REMOVED: "A date of a schedule went back to its weekly hours.",
    AuditAction.WORKING_HOURS_SET: "A schedule's weekly working hours were set.",
    AuditAction.IDENTIFIER_TYPE_CREATED: "A patient identifier type was created.",
    AuditAction.PATIENT_PORTAL_ACCESS_SET: "A patient's portal access was set.",
    AuditAction.PATIENT_REGISTERED: "A patient was registered.",
    AuditAction.PATIENT_UPDATED: "A patient's record changed.",
    AuditAction.PORTAL_BACKGROUND_REMOVED: "The portal's background image was removed.",
    AuditAction.PORTAL_BACKGROUND_UPLOADED: "A portal background image was uploaded.",
    AuditAction.PORTAL_BILLING_DISABLED: "Portal billing was turned off.",
    AuditAction.PORTAL_DISABLED: "The patient portal was disabled.",
    AuditAction.PORTAL_ENABLED: "The patient portal was enabled.",
    AuditAction.PORTAL_SETTINGS_UPDATED: "The portal's settings changed.",
}
