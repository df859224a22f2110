"""Every write that belongs together is one transaction (transactions live in
operations, never in field resolvers).

A transaction that changes anything a credential depends on (a session, a user's
access, roles and permissions, ownership, an API consumer, its keys, its organization's
API switch) says so: `atomic(revokes_credentials=True)`. It then bumps the shared auth
epoch as its last statement, so every other process drops its credential caches within
a poll, and after the commit (never after a rollback) drops this process's own, so its
next request is refused. No operation pairs the two by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

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


@asynccontextmanager
async def atomic(*, revokes_credentials: bool = False) -> AsyncIterator[Any]:
    async with in_transaction("default") as conn:
        yield conn
        if revokes_credentials:
            await _bump_auth_epoch(conn)
    if revokes_credentials:
        for clear in _after_revocation:
            clear()
