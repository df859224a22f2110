"""Telling a database that cannot be reached (a restart, a failover, a refused
connection) from any other failure: the first is answered 503 with `Retry-After`, the
second is a bug or a bad value."""

from __future__ import annotations

import errno
import re

import asyncpg
from tortoise.exceptions import DBConnectionError

# PostgreSQL refusing or dropping connections: class 08 (connection exceptions, which
# include asyncpg's "connection was closed in the middle of operation"), shutdown and
# start-up (57P01-57P03), too many connections (53300).
_SERVER_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    DBConnectionError,
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # connecting timed out
)
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENOTCONN,
}
# PostgreSQL ending an idle pooled connection (a shutdown, `pg_terminate_backend`, an idle
# timeout) sends its FATAL error before it closes the socket. asyncpg expects no message
# on an idle connection: it puts the protocol in its error-consuming state (2) and waits
# for a sync that never comes. A statement given that connection before the close is
# seen (one turn of the event loop, in which a pool hands it out) is refused, unsent:
# "cannot switch to state N; another operation (2) is in progress".
_ENDED_WHILE_IDLE = re.compile(r"another operation \(2\) is in progress")


def _unreachable_link(exc: BaseException) -> bool:
    if isinstance(exc, _SERVER_UNAVAILABLE):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed", "the connection was closed": not a misuse of the API
        return "closed" in str(exc)
    if isinstance(exc, asyncpg.InternalClientError):
        return _ENDED_WHILE_IDLE.search(str(exc)) is not None
    if isinstance(exc, OSError):
        # asyncio joins a refusal on every address of a host name into one OSError
        # ("Multiple exceptions: [Errno 111] …") without an errno.
        return exc.errno in _NETWORK_ERRNOS or str(exc).startswith("Multiple exceptions")
    return False


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or anything that caused it, says the database cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unreachable_link(current):
            return True
        current = current.__cause__ or current.__context__
    return False
