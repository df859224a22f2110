"""API consumer management: the support account only, through
GraphQL or the CLI. Each operation validates, writes in one transaction with its
audit event, and revokes cached credentials where it must."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.permissions import NEVER_GRANTABLE, consumer_permissions
from chrgraph.auth.principals import Actor
from chrgraph.db.models import ApiConsumer, ApiConsumerKey, Permission
from chrgraph.db.models.consumer import IDENTIFIER_MAX_LENGTH
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.consumers.keys import parse_public_key
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.validation import Errors


def _issuer_taken() -> OperationFailed:
    return fail(ErrorCode.ISSUER_TAKEN, "That issuer is taken.", "issuer")


async def list_api_consumers(actor: Actor) -> list[ApiConsumer]:
    return await actor.data.api_consumers.order_by("id")


class ByPublicId(str):
    """A consumer named by the public id its global id carries (GraphQL's `consumerId`),
    where the operations otherwise take its issuer (the CLI's `--issuer`)."""

    __slots__ = ()


async def get_consumer(actor: Actor, issuer: str, conn=None) -> ApiConsumer:
    """By issuer (or `ByPublicId`) within the actor's organization, one statement on a
    unique index; any other is NOT_FOUND."""
    by_public_id = isinstance(issuer, ByPublicId)
    query = actor.data.api_consumers.filter(**{"public_id" if by_public_id else "issuer": str(issuer)})
    consumer = await (query.using_db(conn) if conn else query).first()
    if consumer is None:
        raise fail(ErrorCode.NOT_FOUND, "No such API consumer.", "consumerId" if by_public_id else "issuer")
    return consumer


async def create_api_consumer(
    actor: Actor, *, name: str, public_key: str, issuer: str | None = None, kid: str | None = None
) -> ApiConsumer:
    errors = Errors()
    name = errors.text(name, "name", required=True)
    # An issuer and a key id are matched against what tokens carry: no control characters.
    issuer = errors.identifier(issuer or name, "issuer", max_length=IDENTIFIER_MAX_LENGTH)
    kid = errors.identifier(kid, "kid", max_length=IDENTIFIER_MAX_LENGTH) or None
    if errors:
        raise OperationFailed(*errors.items)
    key = parse_public_key(public_key)
    kid = kid or key.jwk_kid
    try:
        # A cached "no such issuer" must not outlive the creation.
        async with atomic(revokes_credentials=True) as conn:
            if await ApiConsumer.filter(issuer=issuer).using_db(conn).exists():
                raise _issuer_taken()
            consumer = await actor.data.create(ApiConsumer, name=name, issuer=issuer, using_db=conn)
            await ApiConsumerKey.create(
                consumer=consumer,
                kid=kid,
                public_key_pem=key.pem,
                fingerprint=key.fingerprint,
                bits=key.bits,
                using_db=conn,
            )
            await events.record(
                conn,
                actor,
                AuditAction.API_CONSUMER_CREATED,
                "ApiConsumer",
                consumer.public_id,
                {"name": name, "issuer": issuer, "kid": kid, "keyFingerprint": key.fingerprint},
            )
    except IntegrityError as exc:  # a concurrent create took the issuer first
        raise _issuer_taken() from exc
    return consumer


async def set_api_consumer_active(actor: Actor, issuer: str, active: bool) -> ApiConsumer:
    async with atomic(revokes_credentials=True) as conn:
        consumer = await get_consumer(actor, issuer, conn)
        if consumer.active != active:
            consumer.active = active
            consumer.deactivated_at = None if active else datetime.now(UTC)
            await consumer.save(using_db=conn, update_fields=["active", "deactivated_at"])
            await events.record(
                conn,
                actor,
                AuditAction.API_CONSUMER_REACTIVATED if active else AuditAction.API_CONSUMER_DEACTIVATED,
                "ApiConsumer",
                consumer.public_id,
                {"active": {"before": not active, "after": active}},
            )
    return consumer


async def add_api_consumer_key(actor: Actor, issuer: str, public_key: str, kid: str) -> ApiConsumerKey:
    errors = Errors()
    kid = errors.identifier(kid, "kid", max_length=IDENTIFIER_MAX_LENGTH, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    key = parse_public_key(public_key)
    try:
        async with atomic(revokes_credentials=True) as conn:
            consumer = await get_consumer(actor, issuer, conn)
            if await ApiConsumerKey.filter(consumer_id=consumer.id, kid=kid).using_db(conn).exists():
                raise fail(ErrorCode.KID_TAKEN, "This consumer already has a key with that kid.", "kid")
            row = await ApiConsumerKey.create(
                consumer=consumer,
                kid=kid,
                public_key_pem=key.pem,
                fingerprint=key.fingerprint,
                bits=key.bits,
                using_db=conn,
            )
            await events.record(
                conn,
                actor,
                AuditAction.API_CONSUMER_KEY_ADDED,
                "ApiConsumer",
                consumer.public_id,
                {"kid": kid, "keyFingerprint": key.fingerprint},
            )
    except IntegrityError as exc:
        raise fail(ErrorCode.KID_TAKEN, "This consumer already has a key with that kid.", "kid") from exc
    return row


async def revoke_api_consumer_key(actor: Actor, issuer: str, kid: str) -> ApiConsumerKey:
    errors = Errors()
    kid = errors.identifier(kid, "kid", max_length=IDENTIFIER_MAX_LENGTH, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic(revokes_credentials=True) as conn:
        consumer = await get_consumer(actor, issuer, conn)
        row = await ApiConsumerKey.filter(consumer_id=consumer.id, kid=kid).using_db(conn).first()
        if row is None:
            raise fail(ErrorCode.NOT_FOUND, "No key with that kid.", "kid")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            await row.save(using_db=conn, update_fields=["revoked_at"])
            await events.record(
                conn,
                actor,
                AuditAction.API_CONSUMER_KEY_REVOKED,
                "ApiConsumer",
                consumer.public_id,
                {"kid": kid, "keyFingerprint": row.fingerprint},
            )
    return row


# An upper bound that keeps budgets within a 32-bit column and any counter store.
MAX_COST_BUDGET_PER_MINUTE = 1_000_000_000


async def set_api_consumer_cost_budget(actor: Actor, issuer: str, cost_per_minute: int | None) -> ApiConsumer:
    """A consumer's own cost budget per minute (objects its documents may ask for), or
    None for the server's default. Every server process applies it within a second (the
    credential caches that carry it are renewed through the auth epoch)."""
    if cost_per_minute is not None and not 0 <= cost_per_minute <= MAX_COST_BUDGET_PER_MINUTE:
        raise fail(
            ErrorCode.INVALID_INPUT,
            f"A cost budget is between 0 and {MAX_COST_BUDGET_PER_MINUTE} per minute.",
            "costPerMinute",
        )
    return await _set_consumer_setting(
        actor,
        issuer,
        "cost_budget_per_minute",
        cost_per_minute,
        AuditAction.API_CONSUMER_COST_BUDGET_SET,
        lambda before, after: {"costBudgetPerMinute": {"before": before, "after": after}},
    )


async def _set_consumer_setting(
    actor: Actor,
    issuer: str,
    field: str,
    value: Any,
    action: AuditAction,
    changes: Callable[[Any, Any], dict[str, Any]],
) -> ApiConsumer:
    """One setting of a consumer that its cached credentials carry: written, with its audit
    event, only when it changes, in a transaction that revokes those credentials."""
    async with atomic(revokes_credentials=True) as conn:
        consumer = await get_consumer(actor, issuer, conn)
        before = getattr(consumer, field)
        if before != value:
            setattr(consumer, field, value)
            await consumer.save(using_db=conn, update_fields=[field])
            await events.record(conn, actor, action, "ApiConsumer", consumer.public_id, changes(before, value))
    return consumer


def _permission_names(permissions: Iterable[Permission | str]) -> list[str]:
    """The stored form of a consumer's permissions: known names, sorted, each once; the
    support account's own is never a consumer's."""
    errors = Errors()
    names: set[str] = set()
    for given in permissions:
        name = given.value if isinstance(given, Permission) else str(given)
        if name not in Permission.__members__:
            errors.add(ErrorCode.INVALID_INPUT, f"Unknown permission: {name[:64]!r}.", "permissions")
        elif Permission(name) in NEVER_GRANTABLE:
            errors.add(
                ErrorCode.PERMISSION_NOT_GRANTABLE,
                "MANAGE_API_CONSUMERS belongs to the support account.",
                "permissions",
            )
        else:
            names.add(name)
    if errors:
        raise OperationFailed(*errors.items)
    return sorted(names)


def consumer_held(consumer: ApiConsumer) -> list[Permission]:
    """What a consumer holds, in the enum's order (its default set when never narrowed)."""
    held = consumer_permissions(consumer.permissions)
    return [p for p in Permission if p.value in held]


async def set_api_consumer_permissions(
    actor: Actor, issuer: str, permissions: Iterable[Permission | str] | None
) -> ApiConsumer:
    """Narrow what a consumer may do and grant to the permissions given, or (None) give
    it its default set back: every permission but MANAGE_API_CONSUMERS, which no
    consumer ever holds. The consumer's next request is held to it, in every server
    process within a second (the cached credentials carrying them are dropped)."""
    stored = None if permissions is None else _permission_names(permissions)
    return await _set_consumer_setting(
        actor,
        issuer,
        "permissions",
        stored,
        AuditAction.API_CONSUMER_PERMISSIONS_SET,
        lambda before, after: {
            "permissions": {
                "before": sorted(consumer_permissions(before)),
                "after": sorted(consumer_permissions(after)),
            },
            "default": {"before": before is None, "after": after is None},
        },
    )
