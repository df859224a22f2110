"""updateSecurityPolicy: the owner or the support account sets the organization's
second-factor requirement and its sessions' idle timeout."""

from __future__ import annotations

from typing import Any

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Organization
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, fail

# An idle timeout shorter than a few minutes ends sessions in the middle of a
# consultation; longer than a day is no timeout (sessions end after 12 hours anyway).
MIN_IDLE_MINUTES = 5
MAX_IDLE_MINUTES = 1440
_UNCHANGED: Any = object()


def policy_of(org: Organization) -> dict[str, Any]:
    return {
        "requireTwoFactor": org.require_two_factor,
        "sessionIdleTimeoutMinutes": org.session_idle_timeout_minutes,
    }


async def update_security_policy(
    actor: Actor, require_two_factor: bool | None = None, session_idle_timeout_minutes: Any = _UNCHANGED
) -> Organization:
    """Omitted fields stay; a null idle timeout means none. Sessions follow the new
    timeout from their next request, in every process (the change moves the auth epoch)."""
    minutes = session_idle_timeout_minutes
    if minutes is not _UNCHANGED and minutes is not None and not MIN_IDLE_MINUTES <= minutes <= MAX_IDLE_MINUTES:
        raise fail(
            ErrorCode.INVALID_INPUT,
            f"The idle timeout is {MIN_IDLE_MINUTES} to {MAX_IDLE_MINUTES} minutes, or null for none.",
            "sessionIdleTimeoutMinutes",
        )
    async with atomic(revokes_credentials=True) as conn:
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        before = policy_of(org)
        if require_two_factor is not None:
            org.require_two_factor = require_two_factor
        if minutes is not _UNCHANGED:
            org.session_idle_timeout_minutes = minutes
        delta = events.diff(before, policy_of(org))
        if delta:
            await org.save(using_db=conn, update_fields=["require_two_factor", "session_idle_timeout_minutes"])
            await events.record(conn, actor, AuditAction.SECURITY_POLICY_UPDATED, "Organization", org.public_id, delta)
    return org
