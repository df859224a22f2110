"""updateUser: profile fields, classification, billing number, locum details and
end of training, with the same validation as inviting. Nobody changes its own
classification, license or end of training this way, and only the owner the owner's
profile (`power`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import LicenseChangeKind, Organization, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.licensing.changes import change_license
from chrgraph.resolvers.users.lookup import get_user
from chrgraph.resolvers.users.power import check_user_update
from chrgraph.resolvers.users.profile import (
    Profile,
    apply_profile,
    check_locum_target,
    check_profile,
    snapshot,
)
from chrgraph.resolvers.validation import Errors

UPDATABLE = {
    "classification",
    "license",
    "first_name",
    "last_name",
    "display_name",
    "title",
    "position",
    "billing_number",
    "expected_end_of_training",
    "locum",
}
REVOKING = frozenset({"classification", "expected_end_of_training", "locum"})


async def update_user(actor: Actor, user_id: int, changes: dict[str, Any]):
    """`changes` holds only the fields the caller gave (explicit None clears)."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise fail(ErrorCode.INVALID_INPUT, f"Cannot change {', '.join(sorted(unknown))}.")
    org = await Organization.get(id=actor.organization_id)
    # A cached session carries whether its user may act, which these decide (a locum
    # period moved, like an end of training, can end it at once).
    async with atomic(revokes_credentials=bool(REVOKING & changes.keys())) as conn:
        # The practitioner a locum covers, joined: the audit event names it by global id.
        user = await get_user(actor, user_id, conn, related=("locum_for",))
        if user.type is UserType.SUPPORT:
            raise fail(ErrorCode.NOT_FOUND, "No such user.", "userId")
        current = Profile.of(user)
        changed = {name for name, value in changes.items() if getattr(current, name) != value}
        if "license" in changes and user.pending_license is not None:
            changed.add("license")  # it cancels the pending change
        await check_user_update(actor, user, changed, conn)
        errors = Errors()
        profile = check_profile(errors, org, Profile.of(user).merged(changes))
        # A classification that the current license does not fit is reported on
        # `license` by check_profile: the input must carry a fitting one.
        covered = await check_locum_target(errors, actor.data, profile.locum, user.id)
        if errors:
            raise OperationFailed(*errors.items)
        before = snapshot(user, user.locum_for)
        # The license goes through the dated-change rule, the rest is plain profile.
        apply_profile(user, replace(profile, license=user.license))
        delta = events.diff(before, snapshot(user, covered))
        if delta:
            await user.save(using_db=conn)
            await events.record(conn, actor, AuditAction.USER_UPDATED, "User", user.public_id, delta)
        if (
            profile.license is not None
            and profile.license != user.license
            or (profile.license == user.license and user.pending_license is not None and "license" in changes)
        ):
            await change_license(
                conn,
                actor,
                user,
                org,
                profile.license,
                LicenseChangeKind.MANUAL,
                immediate_access="classification" in changes,
            )
    return user
