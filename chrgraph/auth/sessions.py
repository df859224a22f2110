"""User session tokens: opaque, told apart from JWTs by their shape; only the
token's SHA-256 is stored. Verified sessions are cached per process and dropped on
every auth-epoch change (logout, deactivation, role or permission change, end of
training or locum period moved, ...). What the calendar alone ends (a trainee's 14
days, a locum's period) is held in the cache as an instant, computed when the session
is loaded, that every request compares with "now": no query per request.

An organization's idle timeout ends a session unused for that long. A session's last
use is written at most once a minute (`LAST_USE_PRECISION`), so a request costs no
write; each process remembers the last use it saw, and a session that looks idle to it
is read again before it is refused (another process may have served it since)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
# How stale a session's stored last use may be: written at most this often per session.
LAST_USE_PRECISION = timedelta(minutes=1)
USER_AGENT_LENGTH = 512


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


def session_public_id(digest: str) -> str:
    """The id a user's own session is shown and revoked by (`mySessions`): derived from
    the stored hash of its token like `session_ref`, shaped like every public id, never
    the sequential database key; it tells nothing about the token."""
    raw = hashlib.sha256(b"chrgraph session id:" + digest.encode()).digest()[:16]
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def clean_user_agent(value: str | None) -> str | None:
    """What `mySessions` shows of a login's User-Agent header: control and other
    unprintable characters dropped, trimmed to 512 characters (None when nothing is left)."""
    if not value:
        return None
    kept = "".join(c for c in value if not unicodedata.category(c).startswith("C")).strip()
    return kept[:USER_AGENT_LENGTH].strip() or None


@dataclass
class _Cached:
    principal: Principal
    expires_at: datetime
    # When the calendar ends the user's access (None: no date does).
    access_ends_at: datetime | None = None
    # The organization's idle timeout (None: none), and the session's last use as
    # stored (`written`) and as this process saw it (`seen`).
    idle_timeout: timedelta | None = None
    written: datetime | None = None
    seen: datetime | None = field(default=None)

    def valid_at(self, now: datetime) -> bool:
        return now < self.expires_at and (self.access_ends_at is None or now < self.access_ends_at)

    def idle_at(self, now: datetime) -> bool:
        last = self.seen or self.written
        return self.idle_timeout is not None and last is not None and now - last >= self.idle_timeout


class _SessionCache:
    def __init__(self) -> None:
        self._items: OrderedDict[str, _Cached] = OrderedDict()
        self._generation = 0
        epoch.register_cache(self.clear)

    def clear(self) -> None:
        self._items.clear()
        self._generation += 1

    def drop(self, digest: str) -> None:
        self._items.pop(digest, None)

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
    idle = timedelta(minutes=org.session_idle_timeout_minutes) if org.session_idle_timeout_minutes else None
    written = session.last_used_at or session.created_at
    return _Cached(principal, session.expires_at, access_ends_at(user, org), idle, written, written)


cache = _SessionCache()


async def verify_session_token(token: str) -> Principal:
    await epoch.refresh_if_due()
    digest = session_hash(token)
    found = await cache.get(digest)
    now = clock.now()
    if found is not None and found.idle_at(now):
        # Idle as this process saw it: another process may have served it since.
        cache.drop(digest)
        found = await cache.get(digest)
    if found is None or not found.valid_at(now) or found.idle_at(now):
        raise AuthError(AuthReason.INVALID_SESSION)
    await _record_use(found, now)
    return found.principal


async def _record_use(found: _Cached, now: datetime) -> None:
    """Remember this use; store it when the stored one is a minute old or more."""
    if found.seen is None or now > found.seen:
        found.seen = now
    if found.written is not None and now - found.written < LAST_USE_PRECISION:
        return
    found.written = now
    await Session.filter(id=found.principal.session_id).update(last_used_at=now)
