"""One organization's data: the only way operations reach a tenant-owned model.

Every query starts from `OrganizationData(organization_id)` (an operation's
`actor.data`, a request's `context.data`), which writes the organization filter (and,
on create, the organization column) itself, so no operation writes it by hand and
another organization's id reads exactly like one that does not exist. It builds the
same single statement the hand-written filter did: it adds no query and no round trip.

A tenant-owned model is one with an `organization` field (tests/test_tenant_scope_conventions.py
checks `TENANT_MODELS` against the models). The few places that act across
organizations (login by email, the issuer lookup of API consumers, the audit chain,
batch jobs over every organization) are listed, with their reason, in that test."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from chrgraph.db.models import (
    ApiConsumer,
    ApiLog,
    Appointment,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    IdempotencyKey,
    IdentifierType,
    InboxMessage,
    LabIntegration,
    LicenseChange,
    LicenseUpgradeRequest,
    MdBillingConnection,
    Organization,
    OutboxMessage,
    Patient,
    PatientAccess,
    PortalHiddenStatus,
    PortalImage,
    PortalSettings,
    Questionnaire,
    Role,
    ScheduleException,
    User,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    WorkingHours,
)
from chrgraph.db.raw import Connection as BaseDBAsyncClient

M = TypeVar("M", bound=Model)

TENANT_MODELS: frozenset[type[Model]] = frozenset(
    {
        ApiConsumer,
        ApiLog,
        Appointment,
        AuditChainHead,
        AuditCheckpoint,
        AuditEvent,
        IdempotencyKey,
        IdentifierType,
        InboxMessage,
        LabIntegration,
        LicenseChange,
        LicenseUpgradeRequest,
        MdBillingConnection,
        OutboxMessage,
        Patient,
        PatientAccess,
        PortalHiddenStatus,
        PortalImage,
        PortalSettings,
        Questionnaire,
        Role,
        ScheduleException,
        User,
        WebhookDelivery,
        WebhookEvent,
        WebhookSubscription,
        WorkingHours,
    }
)


class OrganizationData:
    """Querysets of one organization's rows (`data.patients.filter(…)`), by-id reads
    (`data.get(Patient, pk)`) and creation (`data.create(Role, name=…)`)."""

    __slots__ = ("organization_id",)

    def __init__(self, organization_id: int) -> None:
        self.organization_id = organization_id

    def __repr__(self) -> str:
        return f"OrganizationData({self.organization_id})"

    def query(self, model: type[M]) -> QuerySet[M]:
        """The organization's rows of `model`."""
        if model not in TENANT_MODELS:
            raise TypeError(f"{model.__name__} has no organization: query it through its owner")
        return model.filter(organization_id=self.organization_id)

    async def get(self, model: type[M], pk: int | None, using_db: BaseDBAsyncClient | None = None) -> M | None:
        """The row with this id, or None when it does not exist or is another organization's."""
        if pk is None:
            return None
        query = self.query(model)
        return await (query.using_db(using_db) if using_db is not None else query).get_or_none(id=pk)

    async def find(self, model: type[M], public_id: str, using_db: BaseDBAsyncClient | None = None) -> M | None:
        """The row with this public id (what a global id carries), or None when it does not
        exist or is another organization's: one statement on the unique index."""
        query = self.organization if model is Organization else self.query(model)
        return await (query.using_db(using_db) if using_db is not None else query).get_or_none(public_id=public_id)  # type: ignore[return-value]

    def new(self, model: type[M], **fields: Any) -> M:
        """An unsaved row of this organization (for `save` or `bulk_create`)."""
        self.query(model)  # refuses a model without an organization
        return model(organization_id=self.organization_id, **fields)

    async def create(self, model: type[M], using_db: BaseDBAsyncClient | None = None, **fields: Any) -> M:
        """A saved row of this organization."""
        self.query(model)
        return await model.create(organization_id=self.organization_id, using_db=using_db, **fields)

    # The organization itself (its row has no organization column: it is one).
    @property
    def organization(self) -> QuerySet[Organization]:
        return Organization.filter(id=self.organization_id)

    # One queryset per tenant-owned model, named after what it holds.
    @property
    def api_consumers(self) -> QuerySet[ApiConsumer]:
        return self.query(ApiConsumer)

    @property
    def api_logs(self) -> QuerySet[ApiLog]:
        return self.query(ApiLog)

    @property
    def appointments(self) -> QuerySet[Appointment]:
        return self.query(Appointment)

    @property
    def audit_events(self) -> QuerySet[AuditEvent]:
        return self.query(AuditEvent)

    @property
    def idempotency_keys(self) -> QuerySet[IdempotencyKey]:
        return self.query(IdempotencyKey)

    @property
    def identifier_types(self) -> QuerySet[IdentifierType]:
        return self.query(IdentifierType)

    @property
    def inbox_messages(self) -> QuerySet[InboxMessage]:
        return self.query(InboxMessage)

    @property
    def lab_integrations(self) -> QuerySet[LabIntegration]:
        return self.query(LabIntegration)

    @property
    def license_changes(self) -> QuerySet[LicenseChange]:
        return self.query(LicenseChange)

    @property
    def license_upgrade_requests(self) -> QuerySet[LicenseUpgradeRequest]:
        return self.query(LicenseUpgradeRequest)

    @property
    def md_billing_connections(self) -> QuerySet[MdBillingConnection]:
        return self.query(MdBillingConnection)

    @property
    def outbox_messages(self) -> QuerySet[OutboxMessage]:
        return self.query(OutboxMessage)

    @property
    def patients(self) -> QuerySet[Patient]:
        return self.query(Patient)

    @property
    def patient_accesses(self) -> QuerySet[PatientAccess]:
        return self.query(PatientAccess)

    @property
    def portal_hidden_statuses(self) -> QuerySet[PortalHiddenStatus]:
        return self.query(PortalHiddenStatus)

    @property
    def portal_images(self) -> QuerySet[PortalImage]:
        return self.query(PortalImage)

    @property
    def portal_settings(self) -> QuerySet[PortalSettings]:
        return self.query(PortalSettings)

    @property
    def questionnaires(self) -> QuerySet[Questionnaire]:
        return self.query(Questionnaire)

    @property
    def roles(self) -> QuerySet[Role]:
        return self.query(Role)

    @property
    def schedule_exceptions(self) -> QuerySet[ScheduleException]:
        return self.query(ScheduleException)

    @property
    def users(self) -> QuerySet[User]:
        return self.query(User)

    @property
    def webhook_subscriptions(self) -> QuerySet[WebhookSubscription]:
        return self.query(WebhookSubscription)

    @property
    def webhook_deliveries(self) -> QuerySet[WebhookDelivery]:
        return self.query(WebhookDelivery)

    @property
    def working_hours(self) -> QuerySet[WorkingHours]:
        return self.query(WorkingHours)
