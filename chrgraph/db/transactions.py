"""Every write that belongs together is one transaction (transactions live in
operations, never in field resolvers).

A transaction that changes anything a credential depends on (a session, a user's
access, roles and permissions, ownership, an API consumer, its keys, its organization's
API switch) says so: `atomic(revokes_credentials=True)`. It then bumps the shared auth
epoch as its last statement, so every other process drops its credential caches within
a poll, and after the commit (never after a rollback) drops this process's own, so its
next request is refused. No operation pairs the two by hand."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from chrgraph.db import idempotency
from chrgraph.db.models import AuthEpoch

# What runs after a revoking commit: the credential caches of this process (the auth
# layer registers its clearing here; the database layer knows no cache).
_after_revocation: list[Callable[[], None]] = []


def after_revocation(clear: Callable[[], None]) -> None:
    """Run `clear` after every transaction that revoked credentials has committed."""
    _after_revocation.append(clear)


async def _bump_auth_epoch(conn: Any) -> None:
    updated = await AuthEpoch.filter(id=1).using_db(conn).update(value=F("value") + 1)
    if not updated:
        await AuthEpoch.create(id=1, value=1, using_db=conn)


class Commits:
    """How many transactions committed while a request ran (`watching_commits`)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


# Shared by the tasks a request starts (they copy the variable, not the object).
_commits: contextvars.ContextVar[Commits | None] = contextvars.ContextVar("chrgraph_commits", default=None)


@contextmanager
def watching_commits() -> Iterator[Commits]:
    """Count the transactions that commit in this context and the tasks it starts: a
    request that failed after one of them committed changed something, and is answered
    as such (never as a failure the client could retry)."""
    commits = Commits()
    token = _commits.set(commits)
    try:
        yield commits
    finally:
        _commits.reset(token)


def commits_so_far() -> int:
    """Transactions committed so far under the innermost `watching_commits` (0 without)."""
    commits = _commits.get()
    return 0 if commits is None else commits.count


@asynccontextmanager
async def atomic(*, revokes_credentials: bool = False, bookkeeping: bool = False) -> AsyncIterator[Any]:
    """One transaction. A request sent with an Idempotency-Key records its key in it
    (chrgraph/db/idempotency.py): committed with the change, or not at all. With
    `bookkeeping`, the transaction is the server's own record beside the operation (the
    login throttle's attempt rows, a session ended for wrong passwords): it commits even
    when the operation is refused, so it is not the mutation's change and records no key;
    the client may still send the corrected request under the same key."""
    if bookkeeping:
        with idempotency.set_aside():
            async with atomic(revokes_credentials=revokes_credentials) as conn:
                yield conn
        return
    claim = idempotency.current()
    noted = len(claim.written) if claim is not None else 0
    try:
        async with in_transaction("default") as conn:
            yield conn
            if revokes_credentials:
                await _bump_auth_epoch(conn)
            if claim is not None:
                await claim.record(conn)
    except BaseException:
        if claim is not None:
            del claim.written[noted:]  # what this transaction noted did not happen
        raise
    if claim is not None:
        claim.committed = True
    commits = _commits.get()
    if commits is not None:
        commits.count += 1
    if revokes_credentials:
        for clear in _after_revocation:
            clear()
