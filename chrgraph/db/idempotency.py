"""The idempotency keys' rows: claiming a key, recording it in the mutation's own
transaction, storing the answer to replay (encrypted like API-log content), releasing a
claim whose request changed nothing, and the purge. What a repeat is answered is the
HTTP side's (chrgraph/http/idempotency.py).

The request's claim travels to `atomic()` in a context variable (`recording`): every
transaction that commits under it updates the claim row in that same transaction, with
the global ids its audit events named (`note_written`), and rolls back if the claim was
taken over by another request meanwhile (`ClaimLost`). So a key is marked committed if
and only if its change committed, and two requests never both commit under one key."""

from __future__ import annotations

import contextvars
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from chrgraph import clock
from chrgraph.db import log_keys
from chrgraph.db.models import IdempotencyKey
from chrgraph.db.tenant import OrganizationData

# How long a key is remembered (from its first claim), and how long a claim whose
# request neither committed nor answered holds before another request may take it.
KEPT = timedelta(hours=24)
CLAIM_LAPSES = timedelta(seconds=60)


class ClaimLost(Exception):
    """The request's claim lapsed and another request took its key over: the transaction
    that found it out rolls back, so only one of them ever commits."""


@dataclass
class Claim:
    """A running request's hold on its key, and what its transactions recorded."""

    row_id: int
    public_id: str  # what the stored answer's ciphertext is bound to
    organization_id: int
    token: str
    # Global ids the request's audit events named, in order (duplicates dropped on record).
    written: list[str] = field(default_factory=list)
    committed: bool = False
    lost: bool = False

    async def record(self, conn: Any) -> None:
        """In the mutation's transaction, before it commits: the key is committed, with
        what it wrote."""
        updated = (
            await _rows(self.organization_id)
            .filter(id=self.row_id, token=self.token)
            .using_db(conn)
            .update(committed_at=clock.now(), written_ids=list(dict.fromkeys(self.written)))
        )
        if not updated:
            self.lost = True
            raise ClaimLost("the idempotency key was taken over by another request")


_current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("chrgraph_idempotency_claim", default=None)


@contextmanager
def recording(claim: Claim) -> Iterator[Claim]:
    """Transactions that commit in this context (and the tasks it starts) record `claim`."""
    token = _current.set(claim)
    try:
        yield claim
    finally:
        _current.reset(token)


def current() -> Claim | None:
    return _current.get()


@contextmanager
def set_aside() -> Iterator[None]:
    """Within: no claim, so a transaction of the server's own bookkeeping (a login
    throttle's attempt row) neither records the key nor notes what it wrote."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def note_written(target_id: str | None) -> None:
    """An audit event named `target_id` (a global id): the key's request wrote it."""
    claim = _current.get()
    if claim is not None and target_id is not None:
        claim.written.append(target_id)


def _rows(organization_id: int) -> QuerySet[IdempotencyKey]:
    return OrganizationData(organization_id).query(IdempotencyKey)


async def claim(organization_id: int, owner: str, key: str, request_hash: str) -> Claim | IdempotencyKey | None:
    """Claim a key nobody holds (a `Claim`), or the row that already holds it (None: it
    vanished meanwhile, ask again). One INSERT when the key is new."""
    now = clock.now()
    token = secrets.token_hex(16)
    try:
        async with in_transaction("default") as conn:
            row = await OrganizationData(organization_id).create(
                IdempotencyKey,
                using_db=conn,
                owner=owner,
                key=key,
                request_hash=request_hash,
                token=token,
                created_at=now,
                claimed_at=now,
            )
        return Claim(row.id, row.public_id, organization_id, token)
    except IntegrityError:
        return await _rows(organization_id).get_or_none(owner=owner, key=key)


async def take_over(row: IdempotencyKey, request_hash: str, *, expired: bool) -> Claim | None:
    """Claim a key whose claim lapsed (or, `expired`, whose 24 hours are over) if no
    other request took it first; None if one did."""
    now = clock.now()
    token = secrets.token_hex(16)
    values: dict[str, Any] = {"token": token, "claimed_at": now, "request_hash": request_hash}
    if expired:
        values.update(created_at=now, committed_at=None, written_ids=None, status=None, content=None, content_key=None)
    async with in_transaction("default") as conn:
        updated = await _rows(row.organization_id).filter(id=row.id, token=row.token).using_db(conn).update(**values)
    return Claim(row.id, row.public_id, row.organization_id, token) if updated else None


def answer_of(row: IdempotencyKey) -> bytes:
    """The stored answer's body, decrypted."""
    assert row.content is not None and row.content_key is not None
    return log_keys.open_content(row.public_id, row.content_key, row.content, log_keys.IDEMPOTENT_ANSWER)


async def store_answer(claim: Claim, status: int, body: bytes) -> None:
    """After the commit: the answer a repeat is given, encrypted like API-log content."""
    content_key, content = log_keys.current.get().seal(claim.public_id, body, log_keys.IDEMPOTENT_ANSWER)
    async with in_transaction("default") as conn:
        await (
            _rows(claim.organization_id)
            .filter(id=claim.row_id, token=claim.token)
            .using_db(conn)
            .update(status=status, content=content, content_key=content_key)
        )


async def release(claim: Claim) -> None:
    """The request changed nothing: the key is free again (a repeat runs afresh)."""
    async with in_transaction("default") as conn:
        await (
            _rows(claim.organization_id)
            .filter(id=claim.row_id, token=claim.token, committed_at__isnull=True)
            .using_db(conn)
            .delete()
        )


async def purge_expired_keys(now: datetime | None = None) -> int:
    """Delete every organization's keys older than 24 hours; returns how many went."""
    cutoff = (now or clock.now()) - KEPT
    return await IdempotencyKey.filter(created_at__lt=cutoff).delete()
