"""Who is calling: the principal the auth middleware puts on the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from chrgraph.db.public_ids import global_id
from chrgraph.db.tenant import OrganizationData


class PrincipalKind(str, Enum):
    CONSUMER = "CONSUMER"
    USER = "USER"
    SUPPORT = "SUPPORT"
    SYSTEM = "SYSTEM"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    organization_id: int
    consumer_id: int | None = None
    issuer: str | None = None
    key_id: str | None = None
    # The fingerprint of the consumer key that verified the token (what log rows and
    # audit events carry).
    key_fingerprint: str | None = None
    user_id: int | None = None
    session_id: int | None = None
    session_ref: str | None = None  # what audit events name the session by (auth/sessions.py)
    is_owner: bool = False
    # A session of a user whose organization requires a second factor it has not
    # enrolled yet: it may only enrol (schema/permissions.py holds the rule).
    second_factor_enrollment_required: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)
    # A consumer's own cost budget per minute (None: the server's default).
    cost_budget: int | None = None
    # The public ids of the consumer or user (what their global ids carry).
    consumer_public_id: str | None = None
    user_public_id: str | None = None

    @property
    def actor_id(self) -> str | None:
        """The global id of the consumer or user (never its database key)."""
        if self.kind is PrincipalKind.CONSUMER and self.consumer_public_id is not None:
            return global_id("ApiConsumer", self.consumer_public_id)
        if self.user_public_id is not None:
            return global_id("User", self.user_public_id)
        return None


@dataclass(frozen=True)
class Actor:
    """A principal acting within one request (what audit events record)."""

    principal: Principal
    request_id: str | None = None
    # The request's client address (what the password throttle counts by); None outside HTTP.
    client_address: str | None = None
    # The operator at the server's command line acts with the support account's rights
    # but is recorded as the system (`operator_actor`): the clinic's audit log tells the
    # server's shell from a support session.
    operator: bool = False

    @property
    def organization_id(self) -> int:
        return self.principal.organization_id

    @property
    def data(self) -> OrganizationData:
        """The organization's data: every query of a tenant-owned model starts here."""
        return OrganizationData(self.principal.organization_id)


def system_actor(organization_id: int, request_id: str | None = None) -> Actor:
    return Actor(Principal(PrincipalKind.SYSTEM, organization_id), request_id)


def operator_actor(organization_id: int) -> Actor:
    """The operator's command line: the support account's rights, audited as SYSTEM."""
    return Actor(Principal(PrincipalKind.SUPPORT, organization_id), None, operator=True)


def support_cli_actor(organization_id: int, user_id: int | None = None, user_public_id: str | None = None) -> Actor:
    """The CLI acts as the organization's support principal."""
    principal = Principal(PrincipalKind.SUPPORT, organization_id, user_id=user_id, user_public_id=user_public_id)
    return Actor(principal, None)
