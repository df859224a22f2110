"""The patient portal through GraphQL."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from chrgraph.db.models import NotificationLogin as DomainNotificationLogin
from chrgraph.db.models import PortalImage as PortalImageModel
from chrgraph.resolvers.audit.list_events import EVENT_ORDER
from chrgraph.resolvers.errors import ErrorCode, fail
from chrgraph.resolvers.portal import images
from chrgraph.resolvers.portal import settings as ops
from chrgraph.resolvers.portal.queries import portal_view
from chrgraph.schema.audit.types import AuditEvent
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.errors import UserError
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.patients.types import Patient
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanManagePatients, CanManagePortal, OwnerOrSupport
from chrgraph.schema.relay import After, Connection, First, paginate
from chrgraph.schema.scheduling.types import AppointmentStatus

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainNotificationLogin, description="How notification links log in.")
NotificationLogin = DomainNotificationLogin
describe_values(
    NotificationLogin,
    {
        NotificationLogin.OTP_AND_DATE_OF_BIRTH: "A one-time code sent to the patient, and the date of birth.",
        NotificationLogin.ID_AND_DATE_OF_BIRTH: "An identifier of the patient, and the date of birth.",
    },
)
IMAGE_PATH = "/portal/background/"


@strawberry.type(description="The portal's background image, as stored (re-encoded, without metadata).")
class PortalImage:
    url: str = strawberry.field(
        description="Served without credentials at this unguessable path; 404 once replaced or removed."
    )
    content_type: str = strawberry.field(description="image/png or image/jpeg.")
    width: int = strawberry.field(description="Pixels.")
    height: int = strawberry.field(description="Pixels.")
    size: int = strawberry.field(description="Bytes stored (after re-encoding).")

    @classmethod
    def from_model(cls, row: PortalImageModel) -> PortalImage:
        return cls(
            url=IMAGE_PATH + row.token,
            content_type=row.content_type,
            width=row.width,
            height=row.height,
            size=row.size,
        )


@strawberry.type(description="The patient portal's settings.")
class PortalSettings:
    portal_enabled: bool = strawberry.field(description="The portal exists for the clinic.")
    portal_accessible: bool = strawberry.field(description="Patients can reach the portal at all.")
    accessible_for_new_patients: bool = strawberry.field(description="New patients get access by default.")
    self_registration: bool = strawberry.field(description="Patients may register themselves.")
    conversation_responses: bool = strawberry.field(description="Default for new messages.")
    portal_billing: bool = strawberry.field(description="Billing in the portal (needs Stripe).")
    extra_searchable_identifications: bool = strawberry.field(description="Extra identifications searchable.")
    otp_timeout_minutes: int = strawberry.field(description="5, 10, 15, 30 or 60.")
    hidden_appointment_statuses: list[AppointmentStatus] = strawberry.field(description="Hidden in the portal.")
    notification_login: NotificationLogin = strawberry.field(description="How notification links log in.")
    background_image: PortalImage | None = strawberry.field(description="The current background.")


async def _settings(organization_id: int) -> PortalSettings:
    view = await portal_view(organization_id)
    row, image = view.settings, view.background
    return PortalSettings(
        portal_enabled=view.organization.portal_enabled,
        **{attr: getattr(row, attr) for attr in ops.BOOLEAN_SETTINGS},
        otp_timeout_minutes=row.otp_timeout_minutes,
        hidden_appointment_statuses=view.hidden_statuses,
        notification_login=row.notification_login,
        background_image=PortalImage.from_model(image) if image else None,
    )


@strawberry.input(description="Change portal settings; omitted settings stay.")
class UpdatePortalSettingsInput:
    portal_accessible: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Patients can reach the portal at all."
    )
    accessible_for_new_patients: bool | None = strawberry.field(
        default=strawberry.UNSET, description="New patients get access by default."
    )
    self_registration: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Patients may register themselves."
    )
    conversation_responses: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Default for new messages."
    )
    portal_billing: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Needs Stripe (STRIPE_INTEGRATION_REQUIRED)."
    )
    extra_searchable_identifications: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Extra identifications searchable."
    )
    otp_timeout_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="5, 10, 15, 30 or 60.")
    hidden_appointment_statuses: list[AppointmentStatus] | None = strawberry.field(
        default=strawberry.UNSET, description="A subset of the appointment statuses (replaces)."
    )
    notification_login: NotificationLogin | None = strawberry.field(
        default=strawberry.UNSET, description="How notification links log in."
    )


@strawberry.type(description="The result of updatePortalSettings.")
class UpdatePortalSettingsPayload:
    portal_settings: PortalSettings | None = strawberry.field(description="The settings.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.type(description="The result of enablePortal.")
class EnablePortalPayload:
    organization: Organization | None = strawberry.field(description="The organization.")
    errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.type(description="The result of disablePortal.")
class DisablePortalPayload:
    organization: Organization | None = strawberry.field(description="The organization.")
    errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.input(description="Upload the portal background (GraphQL multipart request).")
class UploadPortalBackgroundImageInput:
    file: Upload = strawberry.field(
        description="A PNG or JPEG (recognised by its content) of at most 5 MiB, 8,000 pixels a side and 40 megapixels."
    )


@strawberry.type(description="The result of uploadPortalBackgroundImage.")
class UploadPortalBackgroundImagePayload:
    image: PortalImage | None = strawberry.field(description="The stored image.")
    errors: list[UserError] = strawberry.field(
        description="UNSUPPORTED_IMAGE (not a whole PNG or JPEG) or IMAGE_TOO_LARGE (bytes, sides or pixels)."
    )


@strawberry.type(description="The result of removePortalBackgroundImage.")
class RemovePortalBackgroundImagePayload:
    portal_settings: PortalSettings | None = strawberry.field(description="The settings, without a background.")
    errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.input(description="Give or take a patient's portal access.")
class SetPatientPortalAccessInput:
    patient_id: relay.GlobalID = strawberry.field(description="The patient.", metadata=refers_to("Patient"))
    enabled: bool = strawberry.field(description="Access on or off.")


@strawberry.type(description="The result of setPatientPortalAccess.")
class SetPatientPortalAccessPayload:
    patient: Patient | None = strawberry.field(description="The patient.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.type
class PortalQuery:
    @strawberry.field(description="The portal's settings.", permission_classes=[CanManagePortal])
    async def portal_settings(self, info: strawberry.Info) -> PortalSettings | None:
        return await _settings(info.context.principal.organization_id)

    @strawberry.field(
        description="Changes to the portal, newest first (from the audit log).",
        permission_classes=[CanManagePortal],
    )
    async def portal_settings_history(
        self, info: strawberry.Info, first: First = None, after: After = None
    ) -> Connection[AuditEvent] | None:
        s = info.context.settings
        return await paginate(
            ops.portal_history_query(info.context.actor),
            AuditEvent.from_model,
            order=EVENT_ORDER,
            first=first,
            after=after,
            last=None,
            before=None,
            default=s.default_page_size,
            maximum=s.max_page_size,
        )


async def _read_upload(file) -> bytes:
    if not hasattr(file, "read"):
        raise fail(ErrorCode.UNSUPPORTED_IMAGE, "Send the image as a multipart file.", "file")
    return await file.read(images.MAX_IMAGE_BYTES + 1)


def _update_portal_settings(actor, **settings):
    if settings.get("hidden_appointment_statuses"):
        settings["hidden_appointment_statuses"] = [s.value for s in settings["hidden_appointment_statuses"]]
    return ops.update_portal_settings(actor, **settings)


def _upload_background_image(actor):
    async def run(file):
        return await images.upload_background_image(actor, await _read_upload(file))

    return run


def _current_settings(info: strawberry.Info):
    return lambda _: _settings(info.context.principal.organization_id)


@strawberry.type
class PortalMutation:
    @strawberry.mutation(description="Change portal settings (partial).", permission_classes=[CanManagePortal])
    async def update_portal_settings(
        self, info: strawberry.Info, input: UpdatePortalSettingsInput
    ) -> UpdatePortalSettingsPayload | None:
        operation = partial(_update_portal_settings, info.context.actor)
        return await perform(UpdatePortalSettingsPayload, operation, input, portal_settings=_current_settings(info))

    @strawberry.mutation(description="Switch the portal on (owner or support).", permission_classes=[OwnerOrSupport])
    async def enable_portal(self, info: strawberry.Info) -> EnablePortalPayload | None:
        operation = partial(ops.set_portal_enabled, info.context.actor, True)
        return await perform(EnablePortalPayload, operation, organization=Organization.from_model)

    @strawberry.mutation(description="Switch the portal off (owner or support).", permission_classes=[OwnerOrSupport])
    async def disable_portal(self, info: strawberry.Info) -> DisablePortalPayload | None:
        operation = partial(ops.set_portal_enabled, info.context.actor, False)
        return await perform(DisablePortalPayload, operation, organization=Organization.from_model)

    @strawberry.mutation(description="Upload the portal background image.", permission_classes=[CanManagePortal])
    async def upload_portal_background_image(
        self, info: strawberry.Info, input: UploadPortalBackgroundImageInput
    ) -> UploadPortalBackgroundImagePayload | None:
        operation = _upload_background_image(info.context.actor)
        return await perform(UploadPortalBackgroundImagePayload, operation, input, image=PortalImage.from_model)

    @strawberry.mutation(
        description="Remove the portal background image; its URL then answers 404. Removing none changes nothing.",
        permission_classes=[CanManagePortal],
    )
    async def remove_portal_background_image(self, info: strawberry.Info) -> RemovePortalBackgroundImagePayload | None:
        operation = partial(images.remove_background_image, info.context.actor)
        return await perform(RemovePortalBackgroundImagePayload, operation, portal_settings=_current_settings(info))

    @strawberry.mutation(description="Give or take a patient's portal access.", permission_classes=[CanManagePatients])
    async def set_patient_portal_access(
        self, info: strawberry.Info, input: SetPatientPortalAccessInput
    ) -> SetPatientPortalAccessPayload | None:
        operation = partial(ops.set_patient_portal_access, info.context.actor)
        return await perform(SetPatientPortalAccessPayload, operation, input, patient=Patient.from_model)
