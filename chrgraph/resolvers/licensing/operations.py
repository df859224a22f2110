"""setUserLicense, cancelPendingLicenseChange, upgradeOwnLicense, requestLicenseUpgrade,
approve/decline, and featureAccess."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.permissions import effective_permissions
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    License,
    LicenseChangeKind,
    LicenseUpgradeRequest,
    Organization,
    Permission,
    UpgradeRequestStatus,
    User,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.licensing.catalog import CATALOG, Feature, fits, licensed_type
from chrgraph.resolvers.licensing.changes import access_license, cancel_pending, change_license
from chrgraph.resolvers.licensing.dates import local_date
from chrgraph.resolvers.licensing.management import managed_user
from chrgraph.resolvers.licensing.upgrade_messages import queue_decision_message, queue_request_messages
from chrgraph.resolvers.users.lookup import find_user, get_user
from chrgraph.resolvers.users.power import check_license_change, check_upgrade_decision
from chrgraph.resolvers.validation import Errors


def _check_fit(user: User, license: License, field: str = "license") -> None:
    if not licensed_type(user.type) or not fits(license, user.type, user.classification):
        raise fail(
            ErrorCode.LICENSE_NOT_ALLOWED_FOR_TYPE,
            "That license does not fit the user's type and classification.",
            field,
        )


async def set_user_license(actor: Actor, user_id: int | None, license: License) -> User:
    """An admin's change: dated, and it marks the user reviewed. Never one's own (that is
    upgradeOwnLicense), and the owner's only by the owner."""
    async with atomic() as conn:
        user = await get_user(actor, user_id, conn)
        await check_license_change(actor, user, conn)
        _check_fit(user, license)
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        await change_license(conn, actor, user, org, license, LicenseChangeKind.MANUAL)
    return user


async def cancel_pending_license_change(actor: Actor, user_id: int | None) -> User:
    """Cancelling a pending change is a license change: the same rules as setUserLicense."""
    async with atomic() as conn:
        user = await get_user(actor, user_id, conn)
        await check_license_change(actor, user, conn)
        if not await cancel_pending(conn, user, datetime.now(UTC), audit=actor):
            raise fail(ErrorCode.INVALID_STATE, "The user has no pending license change.", "userId")
    return user


async def upgrade_own_license(actor: Actor, license: License) -> User:
    """Holders of UPGRADE_TYPE_CLASSIFICATION upgrade themselves (never downgrade)."""
    async with atomic() as conn:
        user = await get_user(actor, actor.principal.user_id, conn)
        _check_fit(user, license)
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        current = access_license(user, local_date(datetime.now(UTC), org.time_zone))
        if current is not None and CATALOG[license].rank <= CATALOG[current].rank:
            raise fail(ErrorCode.INVALID_INPUT, "Choose a higher-ranked license than your current one.", "license")
        await change_license(conn, actor, user, org, license, LicenseChangeKind.SELF_UPGRADE)
    return user


async def request_license_upgrade(actor: Actor, license: License, reason: str | None) -> LicenseUpgradeRequest:
    """Ask for a higher-ranked license than the one access uses now; everyone who may
    decide is mailed."""
    errors = Errors()
    reason = errors.text(reason, "reason", max_length=1000)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        user = await get_user(actor, actor.principal.user_id, conn)
        _check_fit(user, license)
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        current = access_license(user, local_date(datetime.now(UTC), org.time_zone))
        if current is not None and CATALOG[license].rank <= CATALOG[current].rank:
            raise fail(ErrorCode.INVALID_INPUT, "Ask for a higher-ranked license than your current one.", "license")
        if (
            await actor.data.license_upgrade_requests.filter(user_id=user.id, status=UpgradeRequestStatus.PENDING)
            .using_db(conn)
            .exists()
        ):
            raise fail(ErrorCode.INVALID_STATE, "You already have a pending request.", "license")
        request = await actor.data.create(
            LicenseUpgradeRequest,
            user_id=user.id,
            requested_license=license,
            reason=reason,
            created_at=datetime.now(UTC),
            using_db=conn,
        )
        await events.record(
            conn,
            actor,
            AuditAction.LICENSE_UPGRADE_REQUESTED,
            "LicenseUpgradeRequest",
            request.public_id,
            {"license": license, "reason": reason},
        )
        await queue_request_messages(conn, org, user, request)
    return request


async def decide_license_upgrade(
    actor: Actor, request_id: int | None, approve: bool, reason: str | None = None
) -> LicenseUpgradeRequest:
    errors = Errors()
    reason = errors.text(reason, "reason", max_length=1000)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        query = actor.data.license_upgrade_requests.filter(id=request_id)
        request = await query.using_db(conn).first() if request_id is not None else None
        if request is None:
            raise fail(ErrorCode.NOT_FOUND, "No such request.", "requestId")
        if request.status is not UpgradeRequestStatus.PENDING:
            raise fail(ErrorCode.INVALID_STATE, "The request was already decided.", "requestId")
        requester = await actor.data.users.filter(id=request.user_id).using_db(conn).get()
        await check_upgrade_decision(actor, requester, approve, conn)
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        now = datetime.now(UTC)
        request.status = UpgradeRequestStatus.APPROVED if approve else UpgradeRequestStatus.DECLINED
        request.decided_by_id, request.decided_at, request.decision_reason = (
            actor.principal.user_id,
            now,
            reason,
        )
        await request.save(using_db=conn)
        if approve:
            _check_fit(requester, request.requested_license, "requestId")
            await change_license(
                conn, actor, requester, org, request.requested_license, LicenseChangeKind.REQUEST_APPROVED
            )
        await events.record(
            conn,
            actor,
            AuditAction.LICENSE_UPGRADE_APPROVED if approve else AuditAction.LICENSE_UPGRADE_DECLINED,
            "LicenseUpgradeRequest",
            request.public_id,
            {"status": request.status, "reason": reason},
        )
        await queue_decision_message(conn, org, requester, request, approve)
    return request


@dataclass(frozen=True)
class FeatureAccess:
    user: User
    feature: Feature
    license: License | None
    included: bool
    lowest_license: License | None
    can_upgrade_self: bool
    must_request: bool
    under_license_management: bool


async def feature_access(actor: Actor, user_public_id: str, feature: Feature) -> FeatureAccess:
    """Whether the user (by the public id of its global id) has a license that includes the
    feature; if not, the lowest-ranked license that fits and does, and whether the user may
    upgrade itself or must ask."""
    user = await find_user(actor, user_public_id)
    org = await Organization.get(id=actor.organization_id)
    current = access_license(user, local_date(datetime.now(UTC), org.time_zone))
    managed = managed_user(org, user.type)
    included = (current is not None and feature in CATALOG[current].features) or not managed
    lowest = None
    if not included:
        candidates = [
            info
            for info in CATALOG.values()
            if fits(info.license, user.type, user.classification) and feature in info.features
        ]
        lowest = min(candidates, key=lambda info: info.rank).license if candidates else None
    permissions = await effective_permissions(user, org.owner_user_id == user.id)
    holds_upgrade = Permission.UPGRADE_TYPE_CLASSIFICATION.value in permissions
    return FeatureAccess(
        user,
        feature,
        current,
        included,
        lowest,
        holds_upgrade and lowest is not None,
        not holds_upgrade and lowest is not None,
        managed,
    )
