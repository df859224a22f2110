"""User session tokens: opaque, told apart from JWTs by their shape; only the
token's SHA-256 is stored. Verified sessions are cached per process and dropped on
every auth-epoch change (logout, deactivation, role or permission change, end of
training or locum period moved, ...). What the calendar alone ends (a trainee's 14
days, a locum's period) is held in the cache as an instant, computed when the session
is loaded, that every request compares with "now": no query per request."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from chrgraph import clock
from chrgraph.auth import epoch
from chrgraph.auth.access import access_ends_at, has_access
from chrgraph.auth.errors import AuthError, AuthReason
from chrgraph.auth.permissions import effective_permissions
from chrgraph.auth.principals import Principal, PrincipalKind
from chrgraph.auth.two_factor import enrolled
from chrgraph.db.models import Organization, Session, UserType

SESSION_SHAPE = re.compile(r"^chs_[A-Za-z0-9_-]{43}$")
_CACHE_SIZE = 10_000


def looks_like_session(token: str) -> bool:
    return SESSION_SHAPE.fullmatch(token) is not None


def new_session_token() -> tuple[str, str]:
    token = "chs_" + secrets.token_urlsafe(32)
    return token, session_hash(token)


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_ref(digest: str) -> str:
    """How audit events name a session (its login and logout): derived from the stored
    hash of its token, never its database key (sequential across organizations); it
    tells nothing about the token."""
    return hashlib.sha256(b"chrgraph audit session:" + digest.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Cached:
    principal: Principal
    expires_at: datetime
    # When the calendar ends the user's access (None: no date does).
    access_ends_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return now < self.expires_at and (self.access_ends_at is None or now < self.access_ends_at)


class _SessionCache:
    def __init__(self) -> None:
        self._items: OrderedDict[str, _Cached] = OrderedDict()
        self._generation = 0
        epoch.register_cache(self.clear)

    def clear(self) -> None:
        self._items.clear()
        self._generation += 1

    async def get(self, digest: str) -> _Cached | None:
        if digest in self._items:
            return self._items[digest]
        generation = self._generation
        found = await _load(digest)
        if found is not None and generation == self._generation:
            self._items[digest] = found
            if len(self._items) > _CACHE_SIZE:
                self._items.popitem(last=False)
        return found


async def _load(digest: str) -> _Cached | None:
    session = await Session.get_or_none(token_hash=digest, revoked_at__isnull=True).select_related("user")
    if session is None:
        return None
    user = session.user
    org = await Organization.get(id=user.organization_id)
    now = clock.now()
    if not has_access(user, org, now):
        return None
    is_owner = org.owner_user_id == user.id
    support = user.type is UserType.SUPPORT
    principal = Principal(
        kind=PrincipalKind.SUPPORT if support else PrincipalKind.USER,
        organization_id=user.organization_id,
        user_id=user.id,
        user_public_id=user.public_id,
        session_id=session.id,
        session_ref=session_ref(digest),
        is_owner=is_owner and not support,
        permissions=frozenset() if support else await effective_permissions(user, is_owner),
        # Enrolling (and removing a second factor, or changing the policy) moves the
        # auth epoch: a cached session is loaded again and sees the change.
        second_factor_enrollment_required=org.require_two_factor and not await enrolled(user.id),
    )
    return _Cached(principal, session.expires_at, access_ends_at(user, org))


cache = _SessionCache()


async def verify_session_token(token: str) -> Principal:
    await epoch.refresh_if_due()
    found = await cache.get(session_hash(token))
    if found is None or not found.valid_at(clock.now()):
        raise AuthError(AuthReason.INVALID_SESSION)
    return found.principal
