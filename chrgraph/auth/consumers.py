"""API consumer JWTs: the checks in a fixed order, the first failing one gives the reason.

We decode header and payload ourselves first (to give the reasons in that
order and to refuse what joserfc tolerates: duplicated members, non-UTF-8 text,
unknown header parameters), then let joserfc verify the signature with
`algorithms=["RS512"]` and a cached, already-imported key."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from chrgraph.auth import epoch
from chrgraph.auth.errors import AuthError, AuthReason
from chrgraph.auth.permissions import consumer_permissions
from chrgraph.auth.principals import Principal, PrincipalKind
from chrgraph.db.models import ApiConsumer, ApiConsumerKey
from chrgraph.db.models.consumer import IDENTIFIER_MAX_LENGTH
from chrgraph.settings import get_settings
from chrgraph.text_rules import identifier_problem

# The signature part may be empty: that is how an unsecured (`alg: none`) JWT looks
# (RFC 7519, section 6.1), and it is answered ALGORITHM_NOT_ALLOWED, not MALFORMED_TOKEN.
JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
ALLOWED_HEADER = {"alg", "kid", "typ"}
_NEGATIVE_CACHE_SIZE = 10_000
_VERIFIED_CACHE_SIZE = 4_096  # a token is under 8 KiB (max_token_bytes): at most ~32 MiB
# `iss` and `kid` longer than this are malformed; up to it, an issuer that cannot be
# stored is simply unknown.
MAX_TOKEN_IDENTIFIER = 256


def looks_like_jwt(token: str) -> bool:
    return JWT_SHAPE.fullmatch(token) is not None


@dataclass(frozen=True)
class CachedConsumer:
    id: int
    organization_id: int
    issuer: str
    usable: bool  # active and its organization's Enterprise API on
    keys: tuple[tuple[str | None, RSAKey], ...]
    # The stored fingerprint of each key, in the order of `keys`.
    fingerprints: tuple[str, ...]
    cost_budget: int | None = None
    public_id: str | None = None  # what the consumer's global id carries
    permissions: frozenset[str] = frozenset()


class _Registry:
    """Issuer -> consumer with parsed keys, dropped on every auth-epoch change."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, CachedConsumer | None] = OrderedDict()
        self._generation = 0
        epoch.register_cache(self.clear)

    def clear(self) -> None:
        self._items.clear()
        self._generation += 1

    def peek(self, issuer: str) -> CachedConsumer | None:
        return self._items.get(issuer)

    async def get(self, issuer: str) -> CachedConsumer | None:
        if issuer in self._items:
            return self._items[issuer]
        generation = self._generation
        found = await _load(issuer)
        # A clear during the load means what we read may be stale: don't keep it.
        if generation == self._generation:
            self._items[issuer] = found
            if len(self._items) > _NEGATIVE_CACHE_SIZE:
                self._items.popitem(last=False)
        return found


async def _load(issuer: str) -> CachedConsumer | None:
    if len(issuer) > IDENTIFIER_MAX_LENGTH:
        return None  # no consumer can have it: the column would refuse the query
    consumer = await ApiConsumer.get_or_none(issuer=issuer).select_related("organization")
    if consumer is None:
        return None
    rows = await ApiConsumerKey.filter(consumer_id=consumer.id, revoked_at__isnull=True)
    keys = tuple((row.kid, RSAKey.import_key(row.public_key_pem)) for row in rows)
    fingerprints = tuple(row.fingerprint for row in rows)
    return CachedConsumer(
        id=consumer.id,
        organization_id=consumer.organization_id,
        issuer=consumer.issuer,
        usable=consumer.active and consumer.organization.enterprise_api_enabled,
        keys=keys,
        fingerprints=fingerprints,
        cost_budget=consumer.cost_budget_per_minute,
        public_id=consumer.public_id,
        permissions=consumer_permissions(consumer.permissions),
    )


registry = _Registry()


@dataclass(frozen=True)
class _Verified:
    """What a token's signature check established, kept so that a vendor sending the same
    token again (clients reuse one for its lifetime, at most 15 minutes) does not pay the
    parse and RSA verify again. Only the time checks depend on when it is sent: they run
    again on every use."""

    consumer: CachedConsumer
    key_id: str | None
    key_fingerprint: str | None
    exp: float
    nbf: float | None
    iat: float | None


class _VerifiedTokens:
    """Token -> `_Verified`, dropped with every credential cache on each auth-epoch change
    (a revoked key or consumer is refused exactly as soon as without this cache)."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[str, _Verified] = OrderedDict()
        self._size = size
        epoch.register_cache(self._items.clear)

    def get(self, token: str) -> _Verified | None:
        return self._items.get(token)

    def put(self, token: str, verified: _Verified) -> None:
        self._items[token] = verified
        if len(self._items) > self._size:
            self._items.popitem(last=False)


verified_tokens = _VerifiedTokens(_VERIFIED_CACHE_SIZE)


def _b64json(segment: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        text = raw.decode("utf-8")  # strict: no UTF-16 payloads
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: `[[[[…`
        raise AuthError(AuthReason.MALFORMED_TOKEN) from exc
    if not isinstance(value, dict):
        raise AuthError(AuthReason.MALFORMED_TOKEN)
    return value


def _not_json(name: str) -> object:
    # Python's json reads NaN and Infinity, which JSON does not have. A NaN `exp`
    # fails every comparison, so without this it would never expire.
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicated member")
    return result


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


async def verify_consumer_token(token: str) -> Principal:
    """Return the consumer principal or raise `AuthError` with the first failing reason."""
    settings = get_settings()
    if len(token) > settings.max_token_bytes or not looks_like_jwt(token):
        raise AuthError(AuthReason.MALFORMED_TOKEN)
    await epoch.refresh_if_due()
    known = verified_tokens.get(token)
    if known is not None and known.consumer is registry.peek(known.consumer.issuer):
        # Same bytes, same consumer and keys as when the signature was checked: every
        # check before the signature passed then and would pass again.
        return _principal_if_timely(known, settings)
    header_b64, payload_b64, _ = token.split(".")
    header = _b64json(header_b64)
    claims = _b64json(payload_b64)
    if set(header) - ALLOWED_HEADER:
        raise AuthError(AuthReason.MALFORMED_TOKEN)
    # Both are looked up (the issuer in the database): clean strings only, before that.
    for part, name in ((header, "kid"), (claims, "iss")):
        if name in part and identifier_problem(part[name], MAX_TOKEN_IDENTIFIER) is not None:
            raise AuthError(AuthReason.MALFORMED_TOKEN)
    if "exp" not in claims or not _numeric(claims["exp"]):
        raise AuthError(AuthReason.MALFORMED_TOKEN)
    for name in ("nbf", "iat"):
        if name in claims and not _numeric(claims[name]):
            raise AuthError(AuthReason.MALFORMED_TOKEN)
    if header.get("alg") != "RS512":
        raise AuthError(AuthReason.ALGORITHM_NOT_ALLOWED)

    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AuthError(AuthReason.UNKNOWN_OR_INACTIVE_ISSUER)
    consumer = await registry.get(issuer)
    if consumer is None or not consumer.usable:
        raise AuthError(AuthReason.UNKNOWN_OR_INACTIVE_ISSUER)

    kid = header.get("kid")
    candidates = [
        (k, fingerprint)
        for k, fingerprint in zip(consumer.keys, consumer.fingerprints, strict=True)
        if kid is None or k[0] == kid
    ]
    verified_kid: str | None = None
    verified_fingerprint: str | None = None
    for (key_kid, key), fingerprint in candidates:
        try:
            jwt.decode(token, key, algorithms=["RS512"])
        except JoseError:
            continue
        verified_kid, verified_fingerprint = key_kid, fingerprint
        break
    else:
        raise AuthError(AuthReason.BAD_SIGNATURE)

    verified = _Verified(
        consumer, verified_kid, verified_fingerprint, claims["exp"], claims.get("nbf"), claims.get("iat")
    )
    principal = _principal_if_timely(verified, settings)
    verified_tokens.put(token, verified)  # only a token that passed every check
    return principal


def _principal_if_timely(verified: _Verified, settings) -> Principal:
    """The checks that depend on the moment of use, in the order of the refusal reasons."""
    now = time.time()
    leeway = settings.jwt_leeway_seconds
    if verified.exp + leeway <= now:
        raise AuthError(AuthReason.TOKEN_EXPIRED)
    if verified.exp > now + settings.jwt_max_lifetime_seconds:
        raise AuthError(AuthReason.LIFETIME_TOO_LONG)
    for moment in (verified.nbf, verified.iat):
        if moment is not None and moment > now + leeway:
            raise AuthError(AuthReason.NOT_YET_VALID)
    consumer = verified.consumer
    return Principal(
        kind=PrincipalKind.CONSUMER,
        organization_id=consumer.organization_id,
        consumer_id=consumer.id,
        consumer_public_id=consumer.public_id,
        issuer=consumer.issuer,
        key_id=verified.key_id,
        key_fingerprint=verified.key_fingerprint,
        permissions=consumer.permissions,
        cost_budget=consumer.cost_budget,
    )
