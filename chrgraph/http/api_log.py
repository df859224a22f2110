"""The API-log middleware: a consumer's answer is held until its log row is committed
(the row and the writer are chrgraph/audit/api_log.py)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chrgraph.audit.api_log import log_row, writer
from chrgraph.audit.patient_access import PatientAccessRow, access_rows
from chrgraph.audit.redact import RequestRedaction
from chrgraph.auth.principals import Principal, PrincipalKind
from chrgraph.db.outage import database_unreachable
from chrgraph.db.transactions import watching_commits
from chrgraph.http.answers import UNAVAILABLE_HEADERS, error_body, unavailable_body
from chrgraph.http.scope import (
    CLIENT_REQUEST_ID,
    GRAPHQL_PATH,
    GRAPHQL_REQUEST,
    PATIENTS_READ,
    PRINCIPAL,
    REDACTION,
    REQUEST_ID,
)
from chrgraph.schema.secrets import unplanned
from chrgraph.telemetry import api_log_failures, database_unavailable, log


class ApiLogMiddleware:
    """Wraps `send`: holds the response until its log row is committed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        start_message: Message | None = None
        body: list[bytes] = []
        # Patient key -> the operation that read it, filled by the endpoint's context.
        patients_read: dict[int, str | None] = scope.setdefault(PATIENTS_READ, {})

        async def capture(message: Message) -> None:
            nonlocal start_message
            principal = scope.get(PRINCIPAL)
            if principal is None or principal.kind is not PrincipalKind.CONSUMER:
                if patients_read and principal is not None and _last_chunk(message):
                    await _record_session_reads(principal, scope, patients_read)
                await send(message)
                return
            if message["type"] == "http.response.start":
                start_message = message
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start_message is not None
            response = b"".join(body)
            status = start_message["status"]
            request_id = scope.get(REQUEST_ID, "")
            # The patients the request read go in the same commit as its row.
            accesses = _accesses(principal, scope, patients_read)
            try:
                graphql_request = scope.get(GRAPHQL_REQUEST)
                row = log_row(
                    principal,
                    request_id=request_id,
                    client_request_id=scope.get(CLIENT_REQUEST_ID),
                    method=scope["method"],
                    graphql_request=graphql_request,
                    redaction=scope.get(REDACTION) or _unplanned(graphql_request),
                    status=status,
                    response=response,
                    started=started,
                )
            except Exception:
                # Whatever the request held, it keeps a row: its metadata without content.
                log.exception("api log row kept without content request_id=%s", request_id)
                row = log_row(
                    principal,
                    request_id=request_id,
                    client_request_id=scope.get(CLIENT_REQUEST_ID),
                    method=scope["method"],
                    graphql_request=None,
                    status=status,
                    response=b"",
                    started=started,
                )
            try:
                await writer.write(row, accesses)
            except Exception as exc:
                start_message, response = _without_row(start_message, response, request_id, exc, commits.count)
            await send(start_message)
            await send({"type": "http.response.body", "body": response})

        with watching_commits() as commits:
            await self.app(scope, receive, capture)


def _without_row(
    start_message: Message, response: bytes, request_id: str, exc: Exception, committed: int
) -> tuple[Message, bytes]:
    """What a consumer is answered when its row could not be written: after a commit, the
    true answer (the change happened; a 500 would invite a second one), with an alarm in
    the application log and the metrics; before any commit, 503 with `Retry-After` when
    the database cannot be reached (nothing changed: the client may retry), else a 500."""
    if committed:
        log.error(
            "ALARM api log row lost after a commit; the answer was sent request_id=%s status=%s",
            request_id,
            start_message["status"],
            exc_info=exc,
        )
        api_log_failures.add(1, {"answered": "committed"})
        return start_message, response
    if database_unreachable(exc):
        log.error("ALARM api log row lost: the database cannot be reached request_id=%s", request_id)
        api_log_failures.add(1, {"answered": "503"})
        database_unavailable.add(1, {"at": "api_log"})
        return _answer(503, unavailable_body(request_id), UNAVAILABLE_HEADERS, start_message)
    log.error("ALARM api log write failed request_id=%s", request_id, exc_info=exc)
    api_log_failures.add(1, {"answered": "500"})
    failed = error_body(
        "The request could not be logged and was not answered.", "INTERNAL_SERVER_ERROR", requestId=request_id
    )
    return _answer(500, failed, [], start_message)


def _answer(
    status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]], start_message: Message
) -> tuple[Message, bytes]:
    payload = orjson.dumps(body)
    message: Message = {
        **start_message,
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *headers,
        ],
    }
    return message, payload


def _unplanned(graphql_request: tuple | None) -> RequestRedaction | None:
    """A request whose documents did not parse or validate: no plan, so every literal
    and every variable value is redacted."""
    query = graphql_request[0] if graphql_request else None
    return RequestRedaction((unplanned(query),)) if isinstance(query, str) else None


def _last_chunk(message: Message) -> bool:
    return message["type"] == "http.response.body" and not message.get("more_body")


def _accesses(principal: Principal, scope: Scope, patients_read: dict[int, str | None]) -> list[PatientAccessRow]:
    """The request's patient access rows: one per patient, in the request's log batch."""
    if not patients_read:
        return []
    request_id = scope.get(REQUEST_ID, "")
    by_operation: dict[str | None, list[int]] = {}
    for patient_id, operation in patients_read.items():
        by_operation.setdefault(operation, []).append(patient_id)
    return [
        row
        for operation, ids in by_operation.items()
        for row in access_rows(principal, ids, request_id=request_id, operation_name=operation)
    ]


async def _record_session_reads(principal: Principal, scope: Scope, patients_read: dict[int, str | None]) -> None:
    """A session's request has no API-log row: its patient reads go alone into the next
    group commit, before the answer's last chunk leaves. A failure is an alarm in the
    application log; the answer still goes (the outage path of the API log)."""
    try:
        await writer.write(None, _accesses(principal, scope, patients_read))
    except Exception as exc:
        log.error("ALARM patient access log write failed request_id=%s", scope.get(REQUEST_ID), exc_info=exc)
