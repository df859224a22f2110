"""The password throttle, shared by `login` and the password re-entered in mutations.

Counted per folded email and client address: after 5 failures within 15 minutes, further
attempts for that email from that address are refused (without a password check) until
the oldest failure leaves the window. An email-wide ceiling (100 failures within 15
minutes, from any address) refuses logins too; callers that hold another proof of the
user (a valid password-reset token: `reserve(..., ceiling=False)`) pass it, and a
successful reset calls `clear`, so guessing from many addresses never locks a user out
for good.

An attempt is counted *before* its password is checked: `reserve` writes a failure row
in a transaction that holds the email's lock (an advisory lock on PostgreSQL, the write
lock of a SQLite IMMEDIATE transaction), after counting the rows already there; a burst
of simultaneous guesses thus gets at most 5 password checks, whatever the number of
server processes. The row stays if the password was wrong (or the process died while
checking it); `succeeded` deletes it. A refused attempt writes nothing: the throttle
counts password checks that failed, not requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chrgraph.db import raw
from chrgraph.db.models import LoginFailure
from chrgraph.db.transactions import atomic

WINDOW = timedelta(minutes=15)
PER_ADDRESS_LIMIT = 5
EMAIL_CEILING = 100
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class Attempt:
    """A reserved password check: its failure row, and the failures for the email from
    this address within the window, this one included."""

    row_id: int
    failures: int


def _address(address: str | None) -> str:
    return (address or UNKNOWN_ADDRESS)[:64]


async def reserve(
    email: str, address: str | None, *, ceiling: bool = True, now: datetime | None = None
) -> Attempt | None:
    """Count one password check for `email` from `address`, before it runs; None when
    the throttle refuses it (nothing is written then)."""
    now = now or datetime.now(UTC)
    address = _address(address)
    since = now - WINDOW
    async with atomic(bookkeeping=True) as conn:
        await raw.lock_key(conn, "login-throttle:" + email)
        recent = LoginFailure.filter(email=email, at__gte=since).using_db(conn)
        from_here = await recent.filter(address=address).count()
        if from_here >= PER_ADDRESS_LIMIT:
            return None
        if ceiling and await recent.count() >= EMAIL_CEILING:
            return None
        # Rows that left the window count no more: drop them (this email's only).
        await LoginFailure.filter(email=email, at__lt=since).using_db(conn).delete()
        row_id = await raw.insert(conn, LoginFailure, email=email, address=address, at=now)
    return Attempt(row_id, from_here + 1)


async def succeeded(attempt: Attempt, conn=None) -> None:
    """The password was right: the attempt is no failure (in `conn`, the transaction
    that used it, when given)."""
    query = LoginFailure.filter(id=attempt.row_id)
    await (query.using_db(conn) if conn is not None else query).delete()


async def clear(email: str, conn=None) -> None:
    """Forget every failure for `email` (a successful password reset)."""
    query = LoginFailure.filter(email=email)
    await (query.using_db(conn) if conn is not None else query).delete()
