"""API logs: one row per HTTP request of an authenticated consumer, written
before its response leaves (the middleware that holds the response is
chrgraph/http/api_log.py). Rows from concurrent requests are group-committed: each
request waits for the commit that holds its row, so none is lost to a crash once its
response was sent, and a burst costs one transaction instead of one per request."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.expressions import Q

from chrgraph.audit.patient_access import PatientAccessRow
from chrgraph.audit.redact import NOTHING_SECRET, RequestRedaction, storable
from chrgraph.auth.principals import Principal
from chrgraph.db import log_keys
from chrgraph.db.models import ApiConsumer, ApiLog, PatientAccess
from chrgraph.db.public_ids import new_public_id
from chrgraph.db.raw import insert_rows
from chrgraph.db.transactions import atomic

MAX_BATCH = 256


class ApiLogWriter:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[Pending, asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None

    def _ensure_started(self) -> asyncio.Queue:
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            # A fresh context: the writer outlives the request that happened to start it,
            # and must not hang its spans under that request's trace.
            self._task = asyncio.get_running_loop().create_task(self._run(), context=contextvars.Context())
        assert self._queue is not None
        return self._queue

    async def write(self, row: ApiLogRow | ApiLog | None, accesses: Sequence[PatientAccessRow] = ()) -> None:
        """Commit a request's log row (None: a session's request, which has none) and its
        patient access rows in the next group commit; returns once committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ensure_started().put_nowait(((row, accesses), future))
        await future

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await _commit([row for row, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                # One bad row must not cost the other requests of its batch (other
                # consumers, other organizations) their answers: commit each alone.
                for row, future in batch:
                    try:
                        await _commit([row])
                    except Exception as own:
                        _settle(future, own)
                    else:
                        _settle(future, None)
            else:
                for _, future in batch:
                    _settle(future, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    """Tell a waiting request whether its row was committed."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class ApiLogRow:
    """An `ApiLog` row to insert, as a plain object: a Tortoise model instance cost about
    15 µs to build per request (field setters, validators), and the row is never read
    back. `_commit` still converts and validates every value through the model's fields.
    The query text, variables and response body given are sealed at once: only their
    ciphertext is kept (`content`, under the key `content_key` names)."""

    __slots__ = _COLUMNS = (
        "organization_id",
        "consumer_id",
        "key_id",
        "key_fingerprint",
        "request_id",
        "client_request_id",
        "created_at",
        "method",
        "operation_name",
        "status",
        "duration_ms",
        "public_id",
        "content",
        "content_key",
    )
    _CONTENT = ("query", "variables", "response_body")
    consumer_id: int  # what `_commit` reads (the slots above hold every column)
    created_at: datetime

    def __init__(self, **values: Any) -> None:
        values.setdefault("public_id", new_public_id())
        # Rows of requests without a signing key or a caller's request id.
        values.setdefault("key_fingerprint", None)
        values.setdefault("client_request_id", None)
        values["content_key"], values["content"] = seal_content(
            values["public_id"], *(values.pop(name) for name in self._CONTENT)
        )
        for name in self._COLUMNS:
            setattr(self, name, values[name])

    def model(self) -> ApiLog:
        """The same row as a model instance (to `save` one row by itself)."""
        return ApiLog(**{name: getattr(self, name) for name in self._COLUMNS})


def seal_content(public_id: str, query: str | None, variables: Any, response_body: str) -> tuple[str, str]:
    """(key id, ciphertext) of a row's content under this process's newest log key."""
    plaintext = orjson.dumps({"query": query, "variables": variables, "responseBody": response_body})
    return log_keys.current.get().seal(public_id, plaintext)


# A request's API-log row (or None) and its patient access rows, committed together.
Pending = tuple["ApiLogRow | ApiLog | None", Sequence[PatientAccessRow]]


async def _commit(pending: list[Pending]) -> None:
    rows = [row for row, _ in pending if row is not None]
    accesses = [access for _, batch in pending for access in batch]
    last_used: dict[int, datetime] = {}
    for row in rows:
        last_used[row.consumer_id] = max(row.created_at, last_used.get(row.consumer_id, row.created_at))
    async with atomic() as conn:
        if rows:
            await insert_rows(conn, ApiLog, rows)
        if accesses:  # one multi-row insert for the whole batch, however many patients
            await insert_rows(conn, PatientAccess, accesses)
        # lastUsedAt rides along in the same commit: no extra write per request.
        for consumer_id, when in last_used.items():
            await (
                ApiConsumer.filter(Q(id=consumer_id) & (Q(last_used_at__isnull=True) | Q(last_used_at__lt=when)))
                .using_db(conn)
                .update(last_used_at=when)
            )


writer = ApiLogWriter()


# Storing an answer as it is, without parsing and rewriting it, when its document selects
# no secret output and `storable` could not change it (a 100-item list;
# docs/performance.md): no `\u` escape (the only way JSON text carries a NUL or a lone
# surrogate), no NUL byte, and valid UTF-8.
def _stored_as_is(response: bytes) -> bool:
    if b"\\u" in response or b"\x00" in response:
        return False
    if response.isascii():
        return True
    try:
        response.decode()
    except UnicodeDecodeError:
        return False
    return True


def log_row(
    principal: Principal,
    *,
    request_id: str,
    method: str,
    graphql_request: tuple[Any, Any, Any] | None,
    redaction: RequestRedaction | None = None,
    client_request_id: str | None = None,
    status: int,
    response: bytes,
    started: float,
) -> ApiLogRow:
    """The row of one consumer request: what it asked and its answer, with the secrets
    `redaction` finds replaced (chrgraph/audit/redact.py), and how long it took."""
    query, operation_name, variables = graphql_request or (None, None, None)
    redaction = redaction or RequestRedaction((NOTHING_SECRET,))
    logged_variables = storable(redaction.redact_variables(variables)) if variables else None
    if not redaction.touches_response() and _stored_as_is(response):
        logged_body = response.decode()
    else:
        try:
            logged_body = orjson.dumps(storable(redaction.redact_response(orjson.loads(response)))).decode()
        except orjson.JSONDecodeError:
            logged_body = storable(response.decode("utf-8", "replace"))
    return ApiLogRow(
        organization_id=principal.organization_id,
        consumer_id=principal.consumer_id,
        key_id=principal.key_id,
        key_fingerprint=principal.key_fingerprint,
        request_id=request_id,
        client_request_id=client_request_id,
        created_at=datetime.now(UTC),
        method=method[:8],  # the column's width; servers pass methods like MKCALENDAR
        query=storable(redaction.redact_query(query)) if isinstance(query, str) else None,
        operation_name=storable(operation_name)[:255] if operation_name else None,
        variables=logged_variables,
        status=status,
        response_body=logged_body,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


async def purge_api_logs(retention_days: int, now: datetime | None = None) -> int:
    """Delete rows older than the retention; returns how many went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    return await ApiLog.filter(created_at__lt=cutoff).delete()
