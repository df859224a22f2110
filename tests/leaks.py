"""What must never reach a client: a database driver's text, SQL, a stack trace,
a file path of the server, or the text of an injected fault. Used on every response the
fuzzer, the hygiene corpus and the API log show us.

Error messages may echo what the caller sent ("found: …"), and the hostile inputs hold
SQL fragments on purpose; so a marker counts only when the request did not carry it."""

from __future__ import annotations

import re

MARKERS = (
    "sqlite3",
    "aiosqlite",
    "asyncpg",
    "psycopg",
    "IntegrityError",
    "OperationalError",
    "ProgrammingError",
    "UniqueViolation",
    "DoesNotExist",
    "MultipleObjectsReturned",
    "tortoise",
    "Traceback",
    'File "',
    "site-packages",
    "chrgraph/",
    "InjectedFault",
    "injected fault",
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    'UPDATE "',
    "violates",
    "constraint",
    "duplicate key",
    "no such table",
    "no such column",
    "syntax error at or near",
    "UNIQUE constraint failed",
    "NOT NULL constraint failed",
)
_LINE_OF_A_TRACE = re.compile(r"line \d+, in \w+")


def leaks_in(response_text: str, request_text: str = "") -> list[str]:
    """The markers found in a response that the request itself did not carry."""
    sent = request_text.lower()
    found = [m for m in MARKERS if m.lower() in response_text.lower() and m.lower() not in sent]
    if _LINE_OF_A_TRACE.search(response_text) and not _LINE_OF_A_TRACE.search(request_text):
        found.append("a stack trace line")
    return found
